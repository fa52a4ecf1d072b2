/**
 * An outsider without the token, on loopback: whatever it opens and holds, the worker ends it within a
 * bound (hello deadline, cap, refusal linger, shutdown), its refusals are logged at a bounded rate, and
 * counted: rank 0's status endpoint serves every rank's counts by reason (what the operator exports).
 */
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startDistributed,
  type DistributedCollective,
} from '../../worker/src/distributed/create-collective.ts';
import { DataListener } from '../../worker/src/distributed/data-listener.ts';
import { silentLogger, type DistLogger } from '../../worker/src/distributed/log.ts';
import { RefusalLog } from '../../worker/src/distributed/refusal-log.ts';
import { TcpTransport } from '../../worker/src/distributed/tcp-transport.ts';
import { fetchStatus } from '../../worker/src/distributed/status-server.ts';
import type { WireGangRefusals } from '../../worker/src/distributed/wire.ts';
import { freePort, gangConfigs } from './dist-helpers.ts';
import { dataHello, GARBAGE_HELLO, holdOpen, type HeldSocket } from './support/outsider.ts';

const TOKEN = 'outsider-test-token';
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const hello = (token: string, fromRank = 0) => dataHello(token, fromRank);

/** An outsider's socket held open until the test ends (holdOpen). */
async function hold(port: number, send?: Buffer): Promise<HeldSocket> {
  const h = await holdOpen(port, send);
  cleanup.push(() => h.sock.destroy());
  return h;
}

/** Rank 1 of 2 listening with the given guard settings, transport attached unless `attach` is false. */
async function listen(o: {
  helloTimeoutMs: number;
  maxUnauthenticated?: number;
  refusals?: RefusalLog;
  attach?: boolean;
}): Promise<{ listener: DataListener; t: TcpTransport }> {
  const listener = await DataListener.start('127.0.0.1', 0, undefined, o);
  const t = new TcpTransport({
    rank: 1,
    peers: ['127.0.0.1:1', `127.0.0.1:${listener.port}`],
    token: TOKEN,
    sessionId: 's1',
    peerTimeoutMs: 10_000,
    chunkBytes: 1024,
    log: silentLogger,
  });
  if (o.attach !== false) listener.attach(t);
  cleanup.push(
    () => t.close(),
    () => listener.close(),
  );
  return { listener, t };
}

describe('connections from outsiders are ours to end (raw TCP data plane)', () => {
  it.each([
    ['before the transport exists (rendezvous)', false],
    ['after the gang formed', true],
  ])('closes silent and refused sockets the outsider holds open, %s', async (_, attach) => {
    const { listener } = await listen({ helloTimeoutMs: 400, attach });
    const start = Date.now();
    const silent = await Promise.all(Array.from({ length: 8 }, () => hold(listener.port)));
    const wrong = await Promise.all(Array.from({ length: 8 }, () => hold(listener.port, hello('wrong'))));
    const closedAt = await Promise.all([...silent, ...wrong].map((h) => h.closed));
    // Bound: the hello deadline (held sockets are handed over with it running) plus the refusal linger.
    for (const at of closedAt) expect(at - start).toBeLessThan(400 + 500 + 1_500);
    // After formation a wrong hello gets the refusal byte; before, nobody can judge it yet and the hello
    // deadline ends it with nothing sent.
    for (const h of wrong) expect([...Buffer.concat(h.got)]).toEqual(attach ? [0] : []);
    for (const h of silent) expect(h.got).toEqual([]);
    expect(listener.guard.unauthenticated).toBe(0);
  });

  it('closes connections beyond the cap on arrival, and the rest on shutdown', async () => {
    const { listener } = await listen({ helloTimeoutMs: 60_000, maxUnauthenticated: 4 });
    const held = await Promise.all(Array.from({ length: 7 }, () => hold(listener.port)));
    const early = await Promise.race([
      Promise.all(held.map((h) => h.closed.then(() => 1))),
      new Promise<null>((r) => setTimeout(() => r(null), 1_000)),
    ]);
    expect(early).toBeNull(); // not all closed: 4 are still waiting for their hello
    expect(held.filter((h) => h.sock.destroyed)).toHaveLength(3);
    expect(listener.guard.unauthenticated).toBe(4);
    const t0 = Date.now();
    listener.close();
    await Promise.all(held.map((h) => h.closed));
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('destroys an accepted receiver that never closes its side once the transport closes', async () => {
    const { listener, t } = await listen({ helloTimeoutMs: 2_000 });
    const peer = await hold(listener.port, hello(TOKEN, 0));
    await new Promise<void>((r) => peer.sock.once('data', () => r()));
    expect([...Buffer.concat(peer.got)]).toEqual([1]);
    const t0 = Date.now();
    await t.close();
    const at = await peer.closed;
    // END_LINGER_MS after our FIN (the peer never answers with its own), with slack for a loaded machine.
    expect(at - t0).toBeLessThan(1_000 + 1_500);
  });
});

describe('refusals are counted and served by rank 0 for the whole gang', () => {
  it("an outsider's wrong tokens, bad hellos and silent sockets on rank 1, and wrong-token status polls on rank 0", async () => {
    const port = await freePort();
    const cfgs = gangConfigs(2, port, { dataPlane: 'tcp', peerTimeoutMs: 1_500 });
    const dataPort = await freePort();
    cfgs[1] = { ...cfgs[1], dataPort };
    const gang: DistributedCollective[] = await Promise.all(
      cfgs.map((cfg) => startDistributed(cfg, { token: TOKEN }, silentLogger)),
    );
    cleanup.push(() => Promise.all(gang.map((c) => c.close())));
    const status = `127.0.0.1:${gang[0].statusPort}`;
    expect((await fetchStatus(status, TOKEN, 2_000)).refusals).toEqual({ ranks: [] });

    await Promise.all([
      ...Array.from({ length: 3 }, () => hold(dataPort, hello('wrong'))),
      ...Array.from({ length: 2 }, () => hold(dataPort, GARBAGE_HELLO)),
      ...Array.from({ length: 2 }, () => hold(dataPort)), // silent: refused at the 1.5 s hello deadline
    ]);
    for (let i = 0; i < 2; i++)
      await expect(fetchStatus(status, 'wrong', 2_000)).rejects.toMatchObject({ code: 'unauthenticated' });

    const want: WireGangRefusals = {
      ranks: [
        { rank: 0, counts: [{ reason: 'wrong_token', count: 2 }] },
        {
          rank: 1,
          counts: [
            { reason: 'wrong_token', count: 3 },
            { reason: 'bad_hello', count: 2 },
            { reason: 'hello_timeout', count: 2 },
          ],
        },
      ],
    };
    // Rank 1 reports 200 ms after its first refusal and then at most every 5 s: the silent sockets'
    // refusals (1.5 s after they connected) arrive with the second report.
    const t0 = Date.now();
    let got: WireGangRefusals | null | undefined;
    for (const deadline = Date.now() + 12_000; Date.now() < deadline;) {
      got = (await fetchStatus(status, TOKEN, 2_000)).refusals;
      if (isDeepStrictEqual(got, want)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(got).toEqual(want);
    expect(Date.now() - t0).toBeGreaterThan(3_000); // a second report, not one per refusal
    // The gang still works.
    const bufs = gang.map((c) => [new Float32Array([c.rank + 1])]);
    await Promise.all(gang.map((c, r) => c.allReduceMean(bufs[r])));
    expect(bufs.map((b) => b[0][0])).toEqual([1.5, 1.5]);
  });
});

describe('RefusalLog', () => {
  it('logs the first refusal of each window and then one summary with the counts', () => {
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const log: DistLogger = {
      info() {},
      error() {},
      warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    };
    let now = 1_000;
    const r = new RefusalLog(log, { windowMs: 10_000, now: () => now });
    let heard = 0;
    r.onRefusal(() => heard++);
    for (let i = 0; i < 150; i++) r.note('data', 'wrong_token', '10.0.0.9', 'wrong job token');
    for (let i = 0; i < 20; i++) r.note('data', 'hello_timeout', '10.0.0.9', 'no hello within 5000 ms');
    expect(lines).toHaveLength(1);
    expect(lines[0].obj).toMatchObject({
      plane: 'data',
      reason: 'wrong_token',
      detail: 'wrong job token',
      remote: '10.0.0.9',
    });
    expect(lines[0].msg).toMatch(/^data connection refused: wrong job token /);
    now += 10_000; // the next refusal opens a new window: summary of the old one, then its own line
    r.note('rendezvous Join', 'wrong_token', '10.0.0.8');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toEqual({
      obj: {
        refused: { 'data: wrong_token': 149, 'data: hello_timeout': 20 },
        refusedTotal: 170,
      },
      msg: '169 more connection(s) refused in the last 10000 ms',
    });
    expect(lines[2].obj).toMatchObject({
      plane: 'rendezvous Join',
      detail: 'missing or wrong job token',
      refusedTotal: 171,
    });
    r.flush();
    expect(lines).toHaveLength(3);
    expect(r.totals()).toEqual({
      'data: wrong_token': 150,
      'data: hello_timeout': 20,
      'rendezvous Join: wrong_token': 1,
    });
    // By reason across planes, every reason present: what rank 0 serves and the operator exports.
    expect(r.counts()).toEqual({
      wrong_token: 151,
      bad_hello: 0,
      wrong_rank_certificate: 0,
      tls_handshake: 0,
      hello_timeout: 20,
      connection_limit: 0,
    });
    expect(heard).toBe(171);
  });
});
