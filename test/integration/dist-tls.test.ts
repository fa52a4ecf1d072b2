/**
 * TLS misconfiguration between the workers of a job is permanent (JclError 'unauthenticated', exit 77,
 * which the operator does not retry) and the message names the cause; with JCL_TLS_PEER_NAME a
 * certificate of the job CA speaks only for the rank it was issued for. In-process gangs on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  loadSecrets,
  startDistributed,
  type DistributedCollective,
} from '../../worker/src/distributed/create-collective.ts';
import type { TlsMaterial } from '../../worker/src/distributed/auth.ts';
import { parseDistEnv } from '../../worker/src/distributed/dist-config.ts';
import { DataListener } from '../../worker/src/distributed/data-listener.ts';
import { silentLogger } from '../../worker/src/distributed/log.ts';
import { TcpTransport } from '../../worker/src/distributed/tcp-transport.ts';
import { PERMANENT_EXIT_CODES } from '../../worker/src/util/errors.ts';
import { freePort, gangConfigs } from './dist-helpers.ts';
import { createTestCa } from './support/test-certs.ts';

const TOKEN = 'tls-test-token';
const caA = createTestCa('ca-a');
const caB = createTestCa('ca-b');
afterAll(() => {
  caA.dispose();
  caB.dispose();
});
let open: DistributedCollective[] = [];
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

const LOOPBACK = ['IP:127.0.0.1', 'DNS:localhost'];
const PEER_NAME = 'worker-{rank}.jcl.test';

/** Start rank 0 and rank 1 with their own TLS material; rank 1's outcome, rank 0 left to its deadline. */
async function rank1Outcome(tls0: TlsMaterial, tls1: TlsMaterial): Promise<unknown> {
  const [c0, c1] = gangConfigs(2, await freePort(), { startupTimeoutMs: 10_000, peerTimeoutMs: 2_000 });
  const rank0 = startDistributed(c0, { token: TOKEN, tls: tls0 }, silentLogger).then(
    (c) => void open.push(c),
    () => {},
  );
  const started = Date.now();
  const outcome = await startDistributed(c1, { token: TOKEN, tls: tls1 }, silentLogger).then(
    (c) => {
      open.push(c);
      return 'started';
    },
    (err: unknown) => err,
  );
  // Permanent means at once: not retried until the startup deadline (10 s).
  expect(Date.now() - started).toBeLessThan(6_000);
  await rank0;
  return outcome;
}

describe('TLS misconfiguration at rendezvous is permanent and named', () => {
  it.each([
    [
      "a certificate whose names do not match the coordinator's address",
      () => caA.issue(['DNS:elsewhere.example']),
      () => caA.issue(['DNS:elsewhere.example']),
      /TLS with the coordinator rank 0 \(127\.0\.0\.1:\d+\) failed: the peer certificate is not issued for the name/,
    ],
    [
      'a coordinator certificate from a CA the worker does not trust',
      () => caA.issue(LOOPBACK),
      () => caB.issue(LOOPBACK),
      /failed: the peer certificate is not signed by the CA in JCL_TLS_CA/,
    ],
    [
      'a worker certificate from a CA the coordinator does not trust',
      () => caA.issue(LOOPBACK),
      () => ({ ...caB.issue(LOOPBACK), ca: caA.ca }),
      /failed: the peer refused this worker's certificate/,
    ],
  ])('%s: rank 1 fails at once with exit 77', async (_, tls0, tls1, message) => {
    const err = await rank1Outcome(tls0(), tls1());
    expect(err).toMatchObject({
      code: 'unauthenticated',
      exitCode: 77,
      message: expect.stringMatching(message),
    });
    expect(PERMANENT_EXIT_CODES.has(77)).toBe(true); // the operator fails the job instead of restarting it
  });
});

describe.each(['grpc', 'tcp'] as const)(
  'certificates bound to their rank (JCL_TLS_PEER_NAME, %s data plane)',
  (dataPlane) => {
    const named = (rank: number) => ({
      ...caA.issue([`DNS:worker-${rank}.jcl.test`]),
      peerName: PEER_NAME,
    });

    it('forms the gang and reduces when each rank holds its own name', async () => {
      const cfgs = gangConfigs(2, await freePort(), { dataPlane });
      open = await Promise.all(
        cfgs.map((cfg) => startDistributed(cfg, { token: TOKEN, tls: named(cfg.rank) }, silentLogger)),
      );
      const bufs = open.map((c) => [new Float32Array(64).fill(c.rank * 2)]);
      await Promise.all(open.map((c, r) => c.allReduceMean(bufs[r])));
      expect(bufs[1][0]).toEqual(new Float32Array(64).fill(1));
    });

    it("refuses a job certificate that names another rank (rank 1 holding rank 0's name), exit 77", async () => {
      const cfgs = gangConfigs(2, await freePort(), {
        dataPlane,
        startupTimeoutMs: 5_000,
        peerTimeoutMs: 2_000,
      });
      const tls = [named(0), { ...named(0), peerName: PEER_NAME }];
      const results = await Promise.allSettled(
        cfgs.map(async (cfg) => {
          const c = await startDistributed(cfg, { token: TOKEN, tls: tls[cfg.rank] }, silentLogger);
          open.push(c);
          await c.allReduceMean([new Float32Array(64)]);
        }),
      );
      // Rank 1's join is refused by rank 0 (its certificate does not name rank 1); had it got through, rank
      // 0's dial to rank 1 would fail the name check: either way, no rank succeeds and the failure is 77.
      expect(results[1]).toMatchObject({
        status: 'rejected',
        reason: {
          code: 'unauthenticated',
          message: expect.stringContaining('certificate is not issued for rank 1 (worker-1.jcl.test)'),
        },
      });
      expect(results[0].status).toBe('rejected');
    });
  },
);

describe('unusable TLS files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jcl-tls-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fail at start-up with invalid_config (exit 64) naming the variables and files', async () => {
    const good = caA.issue(LOOPBACK);
    const f = (n: string, body: Buffer | string) => {
      writeFileSync(join(dir, n), body);
      return join(dir, n);
    };
    const cfg = parseDistEnv({
      JCL_WORLD_SIZE: '2',
      JCL_RANK: '1',
      JCL_COORDINATOR: '127.0.0.1:29500',
      JCL_TOKEN: TOKEN,
      JCL_TLS_CERT: f('w.crt', 'not a certificate'),
      JCL_TLS_KEY: f('w.key', good.key),
      JCL_TLS_CA: f('ca.crt', good.ca),
    });
    await expect(loadSecrets(cfg)).rejects.toMatchObject({
      code: 'invalid_config',
      exitCode: 64,
      message: expect.stringMatching(
        /^JCL_TLS_CERT, JCL_TLS_KEY, JCL_TLS_CA \(.*w\.crt, .*w\.key, .*ca\.crt\): not a usable/,
      ),
    });
  });
});

describe('TLS misconfiguration on the raw TCP data plane is permanent and named', () => {
  let closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of closers.reverse()) await f();
    closers = [];
  });

  /** Rank 1 receiving from rank 0 (a DataListener with `senderTls`), dialling with `receiverTls`. */
  async function receive(senderTls: TlsMaterial, receiverTls: TlsMaterial): Promise<unknown> {
    const listener = await DataListener.start('127.0.0.1', 0, senderTls);
    const peers = [`127.0.0.1:${listener.port}`, '127.0.0.1:1'];
    const common = {
      token: TOKEN,
      sessionId: 's',
      peers,
      peerTimeoutMs: 5_000,
      chunkBytes: 1024,
      log: silentLogger,
    };
    const sender = new TcpTransport({ ...common, rank: 0, tls: senderTls });
    listener.attach(sender);
    const receiver = new TcpTransport({ ...common, rank: 1, tls: receiverTls });
    closers.push(
      () => receiver.close(),
      () => sender.close(),
      () => listener.close(),
    );
    return receiver.recv(0).catch((err: unknown) => err);
  }

  it.each([
    [
      'a sender certificate without the name the receiver checks',
      () => ({ ...caA.issue(['DNS:worker-7.jcl.test']), peerName: PEER_NAME }),
      () => ({ ...caA.issue(['DNS:worker-1.jcl.test']), peerName: PEER_NAME }),
      /TLS with rank 0 \(127\.0\.0\.1:\d+\) failed: the peer certificate is not issued for the name/,
    ],
    [
      'a receiver certificate from a CA the sender does not trust',
      () => caA.issue(LOOPBACK),
      () => ({ ...caB.issue(LOOPBACK), ca: caA.ca }),
      /TLS with rank 0 \(127\.0\.0\.1:\d+\) failed: the peer refused this worker's certificate/,
    ],
  ])('%s fails the receive with exit 77', async (_, senderTls, receiverTls, message) => {
    expect(await receive(senderTls(), receiverTls())).toMatchObject({
      code: 'unauthenticated',
      exitCode: 77,
      message: expect.stringMatching(message),
    });
  });

  it("refuses a receiver whose certificate names another rank than its hello's", async () => {
    const err = await receive(
      { ...caA.issue(['DNS:worker-0.jcl.test']), peerName: PEER_NAME },
      { ...caA.issue(['DNS:worker-0.jcl.test']), peerName: PEER_NAME },
    );
    // The sender (rank 0) answers the hello with the refusal byte: the receiver fails as unauthenticated.
    expect(err).toMatchObject({
      code: 'unauthenticated',
      message: expect.stringContaining('refused the data connection'),
    });
  });
});
