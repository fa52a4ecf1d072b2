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

describe('RingCollective in bfloat16 (float32 accumulation)', () => {
  /** Values over several magnitudes, different on every rank. */
  const data = (rank: number, len: number): Float32Array =>
    Float32Array.from({ length: len }, (_, i) => Math.sin(rank * 131 + i * 0.37) * 10 ** ((i % 7) - 3));
  const isBf16 = (x: number): boolean => (new Uint32Array(new Float32Array([x]).buffer)[0] & 0xffff) === 0;

  it.each([2, 3, 4, 5])(
    'every rank gets the same bfloat16-exact bits, within (n 2^-8 + 2^-20) max|x| of the exact mean (n - 1 rounded partial sums and the rounded mean) (n=%i)',
    async (n) => {
      const lengths = [1, 7, 0, 13, 2, 31];
      const inputs = Array.from({ length: n }, (_, r) => lengths.map((len) => data(r, len)));
      const exact = lengths.map((len, b) =>
        Array.from({ length: len }, (_, i) => inputs.reduce((acc, bufs) => acc + bufs[b][i], 0) / n),
      );
      const bound = lengths.map((len, b) =>
        Array.from(
          { length: len },
          (_, i) => (n * 2 ** -8 + 2 ** -20) * Math.max(...inputs.map((x) => Math.abs(x[b][i]))),
        ),
      );
      await Promise.all(ring(n).map((c, r) => c.allReduceMean(inputs[r], { dtype: 'bfloat16' })));
      for (let r = 1; r < n; r++) expect(inputs[r]).toEqual(inputs[0]);
      let inexact = 0;
      lengths.forEach((len, b) => {
        for (let i = 0; i < len; i++) {
          const got = inputs[0][b][i];
          expect(isBf16(got), `buffer ${b} element ${i}: ${got}`).toBe(true);
          expect(Math.abs(got - exact[b][i]), `buffer ${b} element ${i}`).toBeLessThanOrEqual(bound[b][i]);
          if (got !== Math.fround(exact[b][i])) inexact++;
        }
      });
      // The values really went through bfloat16 (float32 would have been exact to float32 rounding).
      expect(inexact).toBeGreaterThan(0);
    },
  );

  it('float32 stays the default and bit-exact on integer data', async () => {
    const inputs = [0, 1, 2].map((r) => rankData(r, [5, 9]));
    const want = [5, 9].map((len, b) =>
      Float32Array.from({ length: len }, (_, i) => inputs.reduce((a, x) => a + x[b][i], 0) / 3),
    );
    await Promise.all(ring(3).map((c, r) => c.allReduceMean(inputs[r], { dtype: 'float32' })));
    expect(inputs[1]).toEqual(want);
  });
});
