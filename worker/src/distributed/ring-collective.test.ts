import { describe, expect, it } from 'vitest';
import { JclError } from '../util/errors.ts';
import { createMemoryTransports } from './memory-transport.ts';
import { RingCollective } from './ring-collective.ts';

/** Integer-valued data so float32 sums are exact whatever the summation order. */
function rankData(rank: number, lengths: number[]): Float32Array[] {
  return lengths.map((len, b) =>
    Float32Array.from({ length: len }, (_, i) => ((rank + 1) * 7 + b * 3 + i) % 97),
  );
}

function ring(n: number, opts = { chunkBytes: 12, bucketBytes: 40 }): RingCollective[] {
  return createMemoryTransports(n, { timeoutMs: 2_000 }).map((t) => new RingCollective(t, opts));
}

describe('RingCollective over the in-memory transport', () => {
  const lengths = [1, 7, 0, 13, 2, 31];

  it.each([1, 2, 3, 4, 5])(
    'allReduceMean gives every rank the exact mean (n=%i, odd lengths, split buckets)',
    async (n) => {
      const inputs = Array.from({ length: n }, (_, r) => rankData(r, lengths));
      const expected = lengths.map((len, b) =>
        Float32Array.from({ length: len }, (_, i) => inputs.reduce((acc, bufs) => acc + bufs[b][i], 0) / n),
      );
      await Promise.all(ring(n).map((c, r) => c.allReduceMean(inputs[r])));
      for (let r = 0; r < n; r++) expect(inputs[r]).toEqual(expected);
    },
  );

  it.each([1, 2, 3, 4, 5])('allGather concatenates in rank order (n=%i)', async (n) => {
    const locals = Array.from({ length: n }, (_, r) =>
      Float32Array.from({ length: 5 }, (_, i) => r * 10 + i),
    );
    const outs = await Promise.all(ring(n).map((c, r) => c.allGather(locals[r])));
    const expected = Float32Array.from({ length: 5 * n }, (_, j) => Math.floor(j / 5) * 10 + (j % 5));
    for (const out of outs) expect(out).toEqual(expected);
  });

  it.each([
    [1, 0],
    [3, 0],
    [4, 2],
    [5, 4],
  ])('broadcast delivers the root bytes to every rank (n=%i, root=%i)', async (n, root) => {
    const payload = Uint8Array.from({ length: 37 }, (_, i) => (i * 31) & 255);
    const outs = await Promise.all(ring(n).map((c, r) => c.broadcast(r === root ? payload : null, root)));
    for (const out of outs) expect(out).toEqual(payload);
  });

  it('broadcasts an empty message', async () => {
    const outs = await Promise.all(ring(3).map((c, r) => c.broadcast(r === 0 ? new Uint8Array(0) : null)));
    expect(outs).toEqual([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
  });

  it('runs many operations in sequence (barrier, reduce, gather) with consistent op ids', async () => {
    const cs = ring(3);
    await Promise.all(
      cs.map(async (c) => {
        for (let i = 0; i < 5; i++) {
          await c.barrier();
          const buf = [new Float32Array([c.rank, 1])];
          await c.allReduceMean(buf);
          expect(buf[0]).toEqual(new Float32Array([1, 1]));
        }
      }),
    );
  });

  it('fails every survivor with peer_lost when a rank dies mid-collective, and stays failed', async () => {
    const transports = createMemoryTransports(3, { timeoutMs: 500 });
    const cs = transports.map((t) => new RingCollective(t, { chunkBytes: 4, bucketBytes: 4 }));
    transports[2].kill();
    const results = await Promise.allSettled([0, 1].map((r) => cs[r].allReduceMean([new Float32Array(50)])));
    for (const res of results) {
      expect(res.status).toBe('rejected');
      expect((res as PromiseRejectedResult).reason).toBeInstanceOf(JclError);
      expect((res as PromiseRejectedResult).reason.code).toBe('peer_lost');
    }
    await expect(cs[0].barrier()).rejects.toMatchObject({ code: 'peer_lost' });
  });

  it('reports ranks that call different collectives instead of corrupting data', async () => {
    const [a, b] = ring(2);
    const res = await Promise.allSettled([
      a.allGather(new Float32Array(3)),
      b.allReduceMean([new Float32Array(3)]),
    ]);
    expect(
      res.some((r) => r.status === 'rejected' && /not calling the same collectives/.test(String(r.reason))),
    ).toBe(true);
  });
});
