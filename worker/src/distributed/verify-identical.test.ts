import { describe, expect, it } from 'vitest';
import { LocalCollective } from './collective.ts';
import { createMemoryTransports } from './memory-transport.ts';
import { RingCollective } from './ring-collective.ts';
import { verifyIdenticalAcrossRanks } from './verify-identical.ts';

function ring(n: number): RingCollective[] {
  return createMemoryTransports(n).map((t) => new RingCollective(t, { chunkBytes: 64, bucketBytes: 64 }));
}

describe('verifyIdenticalAcrossRanks', () => {
  it('passes when every rank holds the same queue', async () => {
    const queue = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i));
    await Promise.all(ring(3).map((c) => verifyIdenticalAcrossRanks(c, queue.slice())));
    await verifyIdenticalAcrossRanks(new LocalCollective(), queue);
  });

  it('fails on every rank with queue_diverged naming the ranks that differ', async () => {
    const queues = [0, 1, 2, 3].map(() => Float32Array.from({ length: 300 }, (_, i) => i));
    queues[2][17] = -1;
    const res = await Promise.allSettled(ring(4).map((c, r) => verifyIdenticalAcrossRanks(c, queues[r])));
    for (const r of res) {
      expect(r).toMatchObject({
        status: 'rejected',
        reason: {
          code: 'queue_diverged',
          message: expect.stringContaining('rank(s) 2 disagree with rank 0'),
        },
      });
    }
  });
});
