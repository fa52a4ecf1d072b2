import { afterEach, describe, expect, it } from 'vitest';
import {
  startDistributed,
  type DistributedCollective,
} from '../../worker/src/distributed/create-collective.ts';
import { silentLogger } from '../../worker/src/distributed/log.ts';
import { JclError } from '../../worker/src/util/errors.ts';
import { REFUSAL_REASONS } from '../../worker/src/distributed/refusal-log.ts';
import { StatusReporter } from '../../worker/src/distributed/status-reporter.ts';
import { fetchStatus, startStatusServer } from '../../worker/src/distributed/status-server.ts';
import { freePort, gangConfigs } from './dist-helpers.ts';

const TOKEN = 'test-token-0123456789';
let open: DistributedCollective[] = [];

async function startGang(
  n: number,
  chunkBytes = 64 * 1024,
  peerTimeoutMs = 3_000,
  dataPlane: 'grpc' | 'tcp' = 'grpc',
): Promise<DistributedCollective[]> {
  const cfgs = gangConfigs(n, await freePort(), { chunkBytes, peerTimeoutMs, dataPlane });
  open = await Promise.all(cfgs.map((cfg) => startDistributed(cfg, { token: TOKEN }, silentLogger)));
  for (const c of open) expect(c.dataPlane).toBe(dataPlane);
  return open;
}

afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

describe.each(['grpc', 'tcp'] as const)('ring collectives on loopback, %s data plane', (plane) => {
  it.each([2, 3, 4])('allReduceMean, allGather and broadcast are exact (n=%i)', async (n) => {
    const gang = await startGang(n, 4096, 3_000, plane);
    // 100_003 elements: odd, several chunks per segment, and buckets split across buffers.
    const lengths = [100_003, 17, 1];
    const inputs = gang.map((_, r) =>
      lengths.map((len) => Float32Array.from({ length: len }, (_, i) => (r * 13 + i) % 251)),
    );
    const expected = lengths.map((len, b) =>
      Float32Array.from({ length: len }, (_, i) => inputs.reduce((acc, bufs) => acc + bufs[b][i], 0) / n),
    );
    await Promise.all(gang.map((c, r) => c.allReduceMean(inputs[r])));
    for (const got of inputs) expect(got).toEqual(expected);

    const gathered = await Promise.all(gang.map((c, r) => c.allGather(new Float32Array([r, r + 0.5]))));
    const wantGather = Float32Array.from({ length: 2 * n }, (_, j) => Math.floor(j / 2) + (j % 2) * 0.5);
    for (const g of gathered) expect(g).toEqual(wantGather);

    const msg = Uint8Array.from({ length: 10_001 }, (_, i) => i & 255);
    const got = await Promise.all(gang.map((c, r) => c.broadcast(r === n - 1 ? msg : null, n - 1)));
    for (const g of got) expect(g).toEqual(msg);
    await Promise.all(gang.map((c) => c.barrier()));
  });

  it('serves the status of rank 0 to a client with the token and refuses a wrong token', async () => {
    const gang = await startGang(2);
    gang[0].status.update({
      phase: 'training',
      epoch: 3,
      step: 120,
      lossTotal: 4.5,
      contrastAcc: 0.25,
      lastCheckpoint: 'ckpt-120',
    });
    const status = await fetchStatus(`127.0.0.1:${gang[0].statusPort}`, TOKEN, 2_000);
    expect(status).toMatchObject({
      phase: 'training',
      epoch: 3,
      step: 120,
      lossTotal: 4.5,
      contrastAcc: 0.25,
      lastCheckpoint: 'ckpt-120',
      worldSize: 2,
    });
    expect(status.lossCls).toBeUndefined();
    await expect(fetchStatus(`127.0.0.1:${gang[0].statusPort}`, 'wrong', 2_000)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('does not mistake a long pause between collectives (compute) for a lost peer', async () => {
    const gang = await startGang(2, 4096, 500, plane);
    const run = () => Promise.all(gang.map((c) => c.allReduceMean([new Float32Array(10_000).fill(c.rank)])));
    await run();
    await new Promise((r) => setTimeout(r, 1_200));
    await run();
  });

  it("abort() tells waiting peers at once, with the failing worker's error code", async () => {
    const gang = await startGang(3, 4096, 3_000, plane);
    const started = Date.now();
    const waiting = Promise.allSettled([0, 2].map((r) => gang[r].allReduceMean([new Float32Array(1000)])));
    await gang[1].abort(new JclError('invalid_data', 'image 17 is not a JPEG'));
    for (const w of await waiting) {
      expect(w).toMatchObject({
        status: 'rejected',
        reason: { code: 'invalid_data', message: expect.stringContaining('image 17 is not a JPEG') },
      });
    }
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe('the status endpoint', () => {
  it('serves the refusal counts of the largest gang (4096 ranks, every reason) in one response', async () => {
    const reporter = new StatusReporter(4096);
    const ranks = Array.from({ length: 4096 }, (_, rank) => ({
      rank,
      counts: REFUSAL_REASONS.map((reason) => ({ reason, count: Number.MAX_SAFE_INTEGER - rank })),
    }));
    reporter.setRefusalSource(() => ({ ranks }));
    const server = await startStatusServer({ reporter, token: TOKEN, port: 0, bindHost: '127.0.0.1' });
    try {
      const got = await fetchStatus(`127.0.0.1:${server.port}`, TOKEN, 10_000);
      expect(got.refusals).toEqual({ ranks });
    } finally {
      await server.close();
    }
  });
});
