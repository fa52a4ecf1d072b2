import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAuthMetadata, createCallAuthenticator } from '../../worker/src/distributed/auth.ts';
import { GangRefusals } from '../../worker/src/distributed/gang-refusals.ts';
import { RefusalLog } from '../../worker/src/distributed/refusal-log.ts';
import { RendezvousCoordinator } from '../../worker/src/distributed/rendezvous-coordinator.ts';
import {
  addRendezvousService,
  createRendezvousClient,
} from '../../worker/src/distributed/rendezvous-service.ts';
import {
  startDistributed,
  type DistributedCollective,
} from '../../worker/src/distributed/create-collective.ts';
import { silentLogger } from '../../worker/src/distributed/log.ts';
import { freePort, gangConfigs } from './dist-helpers.ts';
import { createTestCa } from './support/test-certs.ts';

const TOKEN = 'right-token-abcdef';
let open: DistributedCollective[] = [];
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

/** A raw call with bytes we choose, to send what a well-behaved client never would. */
function rawUnary(
  address: string,
  path: string,
  body: Buffer,
  md: grpc.Metadata,
): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + 3_000 },
      (err) => {
        client.close();
        resolve(err);
      },
    );
  });
}

describe('rendezvous authentication and input validation', () => {
  it('refuses a worker with a wrong token (UNAUTHENTICATED, exit 77) and applies nothing', async () => {
    const [c0, c1] = gangConfigs(2, await freePort(), { startupTimeoutMs: 2_000 });
    const rank0 = startDistributed(c0, { token: TOKEN }, silentLogger);
    await expect(startDistributed(c1, { token: 'wrong' }, silentLogger)).rejects.toMatchObject({
      code: 'unauthenticated',
      exitCode: 77,
    });
    // Rank 1 was never registered: rank 0 times out naming it.
    await expect(rank0).rejects.toMatchObject({
      code: 'deadline_exceeded',
      message: expect.stringMatching(/rank\(s\) 1 of 2 did not join within 2000 ms/),
    });
  });

  it('answers missing tokens, garbage and oversized messages with errors and keeps serving', async () => {
    const port = await freePort();
    // The gRPC data plane, so that the Collective service is served during rendezvous.
    const [c0, c1] = gangConfigs(2, port, { dataPlane: 'grpc' });
    const rank0 = startDistributed(c0, { token: TOKEN }, silentLogger);
    const addr = `127.0.0.1:${port}`;
    // Let rank 0 listen.
    await new Promise((r) => setTimeout(r, 300));
    const noToken = await rawUnary(addr, '/jcl.v1.Rendezvous/Join', Buffer.alloc(0), new grpc.Metadata());
    expect(noToken?.code).toBe(grpc.status.UNAUTHENTICATED);
    const badSub = await rawUnary(
      addr,
      '/jcl.v1.Collective/Subscribe',
      Buffer.alloc(0),
      createAuthMetadata('nope'),
    );
    // Refused at once, although the gang has not formed (it used to be held until formation).
    expect(badSub?.code).toBe(grpc.status.UNAUTHENTICATED);
    const garbage = await rawUnary(
      addr,
      '/jcl.v1.Rendezvous/Join',
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
      createAuthMetadata(TOKEN),
    );
    expect(garbage?.code).toBe(grpc.status.INTERNAL);
    const oversized = await rawUnary(
      addr,
      '/jcl.v1.Rendezvous/Join',
      Buffer.alloc(1 << 20),
      createAuthMetadata(TOKEN),
    );
    expect(oversized?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // An invalid but well-formed join is refused with the reason, and nothing is registered.
    const wrongWorld = await rawUnary(
      addr,
      '/jcl.v1.Rendezvous/Join',
      Buffer.from([0x08, 0x01, 0x10, 0x05, 0x20, 0x01]), // rank 1, world_size 5, port 1
      createAuthMetadata(TOKEN),
    );
    expect(wrongWorld).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('world_size: expected 2, got 5'),
    });
    // Still alive: a proper worker completes the gang.
    open = await Promise.all([rank0, startDistributed(c1, { token: TOKEN }, silentLogger)]);
    const bufs = open.map((c) => [new Float32Array([c.rank + 1])]);
    await Promise.all(open.map((c, r) => c.allReduceMean(bufs[r])));
    expect(bufs.map((b) => b[0][0])).toEqual([1.5, 1.5]);
  });
});

/** Rank 0's Rendezvous service alone (no ring) on loopback, and a client to it with the token. */
async function serveRendezvous(worldSize: number) {
  const coordinator = new RendezvousCoordinator(worldSize, 'r0:1', 'sess', 10_000);
  const own = new RefusalLog(silentLogger);
  const gang = new GangRefusals(worldSize, () => own.counts());
  const server = new grpc.Server();
  addRendezvousService(server, coordinator, createCallAuthenticator(TOKEN, own), gang);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = createRendezvousClient(
    `127.0.0.1:${port}`,
    TOKEN,
    grpc.credentials.createInsecure(),
    {},
    Date.now() + 10_000,
  );
  const close = () => {
    client.close();
    coordinator.close();
    server.forceShutdown();
  };
  return { port, coordinator, gang, own, client, close };
}

describe('rendezvous barriers', () => {
  it('withdraws the entry of a Barrier call whose deadline passes (a worker cannot leave entries behind)', async () => {
    const { coordinator, client, close } = await serveRendezvous(3);
    try {
      await expect(client.barrier('close', 1, 300)).rejects.toMatchObject({ code: 'deadline_exceeded' });
      await new Promise((r) => setTimeout(r, 100)); // the server sees the cancellation
      expect(coordinator.openBarriers()).toEqual([]);
    } finally {
      close();
    }
  });
});

describe('refusal reports to rank 0 (Rendezvous.ReportRefusals)', () => {
  it('keeps what a rank of the session reports, only growing, and refuses bad reports naming the field', async () => {
    const { port, gang, own, client, close } = await serveRendezvous(3);
    const report = (rank: number, counts: Array<{ reason: string; count: number }>, sessionId = 'sess') =>
      client.reportRefusals({ sessionId, refusals: { rank, counts } }, 2_000);
    try {
      await report(2, [
        { reason: 'wrong_token', count: 5 },
        { reason: 'hello_timeout', count: 2 },
      ]);
      await report(2, [{ reason: 'wrong_token', count: 3 }]); // overtaken by the first: changes nothing
      await report(1, [{ reason: 'tls_handshake', count: 1 }]);
      await expect(report(1, [{ reason: 'made_up', count: 1 }])).rejects.toMatchObject({
        code: 'invalid_config',
        message: expect.stringContaining('refusals.counts[0].reason: expected one of wrong_token, bad_hello'),
      });
      await expect(report(3, [])).rejects.toMatchObject({
        message: expect.stringContaining('refusals.rank: expected an integer in [1, 3), got 3'),
      });
      await expect(report(0, [])).rejects.toMatchObject({
        message: expect.stringContaining('refusals.rank: expected an integer in [1, 3), got 0'),
      });
      await expect(report(1, [{ reason: 'wrong_token', count: 9 }], 'old-session')).rejects.toMatchObject({
        message: expect.stringMatching(
          /FAILED_PRECONDITION.*session_id: expected the current session sess, got "old-session"/,
        ),
      });
      // A report without the token is refused, and counted as rank 0's own refusal.
      const noToken = await rawUnary(
        `127.0.0.1:${port}`,
        '/jcl.v1.Rendezvous/ReportRefusals',
        Buffer.alloc(0),
        createAuthMetadata('wrong'),
      );
      expect(noToken?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(own.totals()).toEqual({ 'rendezvous ReportRefusals: wrong_token': 1 });
      expect(gang.snapshot()).toEqual({
        ranks: [
          { rank: 0, counts: [{ reason: 'wrong_token', count: 1 }] },
          { rank: 1, counts: [{ reason: 'tls_handshake', count: 1 }] },
          {
            rank: 2,
            counts: [
              { reason: 'wrong_token', count: 5 },
              { reason: 'hello_timeout', count: 2 },
            ],
          },
        ],
      });
    } finally {
      close();
    }
  });
});

describe('TLS between workers', () => {
  const testCa = createTestCa();
  afterAll(() => testCa.dispose());
  const makeCerts = () => testCa.issue(['IP:127.0.0.1', 'DNS:localhost']);

  it.each(['grpc', 'tcp'] as const)(
    'forms the gang and reduces over mutual TLS, and refuses a plaintext client (%s data plane)',
    async (dataPlane) => {
      const tls = makeCerts();
      const port = await freePort();
      const cfgs = gangConfigs(2, port, { dataPlane });
      open = await Promise.all(cfgs.map((cfg) => startDistributed(cfg, { token: TOKEN, tls }, silentLogger)));
      const bufs = open.map((c) => [new Float32Array(1000).fill(c.rank * 2)]);
      await Promise.all(open.map((c, r) => c.allReduceMean(bufs[r])));
      expect(bufs[1][0]).toEqual(new Float32Array(1000).fill(1));
      const plain = await rawUnary(
        `127.0.0.1:${port}`,
        '/jcl.v1.Rendezvous/Barrier',
        Buffer.alloc(0),
        createAuthMetadata(TOKEN),
      );
      expect(plain?.code).toBe(grpc.status.UNAVAILABLE);
    },
  );
});
