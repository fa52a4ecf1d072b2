/**
 * An outsider without the token, on loopback: whatever it opens and holds, the worker ends it within a
 * bound (hello deadline, cap, refusal linger, shutdown), and its refusals are logged at a bounded rate.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DataListener } from '../../worker/src/distributed/data-listener.ts';
import { silentLogger, type DistLogger } from '../../worker/src/distributed/log.ts';
import { messagePrefix } from '../../worker/src/distributed/message-reader.ts';
import { RefusalLog } from '../../worker/src/distributed/refusal-log.ts';
import { TcpTransport } from '../../worker/src/distributed/tcp-transport.ts';
import { messageType } from '../../worker/src/distributed/wire.ts';

const TOKEN = 'outsider-test-token';
const Hello = messageType('DataHello');
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const hello = (token: string, fromRank = 0) => {
  const body = Hello.encode({ fromRank, sessionId: 's1', token }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
};

/**
 * An outsider's socket: it never closes its side (allowHalfOpen), so only the worker can end it. After the
 * worker's FIN it keeps writing a byte: a socket the worker merely half-closed accepts that, one it
 * destroyed answers with a reset, and only then does `closed` resolve (with the time).
 */
interface Held {
  sock: net.Socket;
  got: Buffer[];
  closed: Promise<number>;
}

function hold(port: number, send?: Buffer): Promise<Held> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      if (send) sock.write(send);
      resolve({ sock, got, closed });
    });
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', () => {});
    let poke: NodeJS.Timeout | undefined;
    sock.on('end', () => {
      poke = setInterval(() => sock.write(Buffer.from([0])), 50);
    });
    const closed = new Promise<number>((r) =>
      sock.on('close', () => {
        clearInterval(poke);
        r(Date.now());
      }),
    );
    cleanup.push(() => sock.destroy());
  });
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
    for (let i = 0; i < 150; i++) r.note('data', 'wrong job token', '10.0.0.9');
    for (let i = 0; i < 20; i++) r.note('data', 'no hello within 5000 ms', '10.0.0.9');
    expect(lines).toHaveLength(1);
    expect(lines[0].obj).toMatchObject({ plane: 'data', reason: 'wrong job token', remote: '10.0.0.9' });
    now += 10_000; // the next refusal opens a new window: summary of the old one, then its own line
    r.note('rendezvous Join', 'missing or wrong job token', '10.0.0.8');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toEqual({
      obj: {
        refused: { 'data: wrong job token': 149, 'data: no hello within 5000 ms': 20 },
        refusedTotal: 170,
      },
      msg: '169 more connection(s) refused in the last 10000 ms',
    });
    expect(lines[2].obj).toMatchObject({ plane: 'rendezvous Join', refusedTotal: 171 });
    r.flush();
    expect(lines).toHaveLength(3);
    expect(r.totals()).toEqual({
      'data: wrong job token': 150,
      'data: no hello within 5000 ms': 20,
      'rendezvous Join: missing or wrong job token': 1,
    });
  });
});
