import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../worker/src/distributed/log.ts';
import { messagePrefix } from '../../worker/src/distributed/message-reader.ts';
import { DataListener } from '../../worker/src/distributed/data-listener.ts';
import { TcpTransport } from '../../worker/src/distributed/tcp-transport.ts';
import { messageType } from '../../worker/src/distributed/wire.ts';

const TOKEN = 'tcp-plane-token';
const Hello = messageType('DataHello');
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** Rank 1 of 2 listening on loopback (it sends to whoever dials it); rank 0 is played by raw sockets. */
async function sender(peerTimeoutMs = 2_000): Promise<{ t: TcpTransport; port: number }> {
  const listener = await DataListener.start('127.0.0.1', 0, undefined);
  const t = new TcpTransport({
    rank: 1,
    peers: ['127.0.0.1:1', `127.0.0.1:${listener.port}`],
    token: TOKEN,
    sessionId: 's1',
    peerTimeoutMs,
    chunkBytes: 1024,
    log: silentLogger,
  });
  listener.attach(t);
  cleanup.push(
    () => t.close(),
    () => listener.close(),
  );
  return { t, port: listener.port };
}

/**
 * Rank 1 of 2 receiving from rank 0, which is played by a raw server: on a connection it answers the
 * hello with `verdict` and then writes `then` (if given).
 */
async function receiverOf(
  serve: (sock: net.Socket, hello: Buffer) => void,
  peerTimeoutMs = 2_000,
): Promise<TcpTransport> {
  const server = net.createServer((sock) => {
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 5 && got.length >= 5 + got.readUInt32BE(1)) serve(sock, got);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = new TcpTransport({
    rank: 1,
    peers: [`127.0.0.1:${(server.address() as net.AddressInfo).port}`, '127.0.0.1:1'],
    token: TOKEN,
    sessionId: 's1',
    peerTimeoutMs,
    chunkBytes: 1024,
    log: silentLogger,
  });
  cleanup.push(
    () => t.close(),
    () => server.close(),
  );
  return t;
}

/** Send raw bytes and collect what comes back until the server closes. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

const hello = (token: string, fromRank = 0, sessionId = 's1', stream = 0, streams = 1) => {
  const body = Hello.encode({ fromRank, sessionId, token, stream, streams }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
};

describe('raw TCP data plane: handshake and input validation', () => {
  it.each([
    ['a wrong token', hello('wrong')],
    ['an empty token', hello('')],
    ['a stale session', hello(TOKEN, 0, 'old')],
    ['its own rank', hello(TOKEN, 1)],
    ['another stream count (JCL_TCP_STREAMS)', hello(TOKEN, 0, 's1', 0, 2)],
    ['a stream index beyond its count', hello(TOKEN, 0, 's1', 1, 1)],
    ['a garbage hello', Buffer.concat([messagePrefix(3), Buffer.from([0xff, 0xff, 0xff])])],
    ['an oversized hello', messagePrefix(10 << 20)],
    ['a compressed flag', Buffer.from([1, 0, 0, 0, 0])],
  ])('refuses a receiver presenting %s with a 0 byte and closes, nothing sent', async (_, bytes) => {
    const { t, port } = await sender();
    expect([...(await exchange(port, bytes))]).toEqual([0]);
    // Nothing was registered: a proper receiver is still accepted afterwards.
    const ok = net.connect(port, '127.0.0.1', () => ok.write(hello(TOKEN)));
    cleanup.push(() => ok.destroy());
    const verdict = await new Promise<number>((r) => ok.once('data', (d: Buffer) => r(d[0])));
    expect(verdict).toBe(1);
    void t;
  });

  it('fails a send when the receiver never dials, after the deadline, naming the peer', async () => {
    const { t, port } = await sender(300);
    // Nobody dials: the send fails after the deadline, naming the peer.
    await expect(t.send(0, { opId: 1, step: 0, chunk: 0, payload: new Uint8Array(8) })).rejects.toMatchObject(
      {
        code: 'peer_lost',
        message: expect.stringContaining('did not connect to receive within 300 ms'),
      },
    );
    void port;
  });

  it('refuses a sender whose verdict is 0 as UNAUTHENTICATED', async () => {
    const t = await receiverOf((sock) => sock.end(Buffer.from([0])));
    await expect(t.recv(0)).rejects.toMatchObject({
      code: 'unauthenticated',
      message: expect.stringContaining('rank 0 (127.0.0.1:'),
    });
  });

  it('presents the job token and its rank in the hello', async () => {
    let seen: unknown = null;
    const t = await receiverOf((sock, got) => {
      seen = Hello.toObject(Hello.decode(got.subarray(5)), { defaults: true });
      sock.end(Buffer.from([1]));
    });
    await expect(t.recv(0)).rejects.toMatchObject({ code: 'peer_lost' }); // closed after the verdict
    expect(seen).toEqual({ fromRank: 1, sessionId: 's1', token: TOKEN, stream: 0, streams: 1 });
  });

  it('fails the receive from an accepted sender that sends an oversized frame, without crashing', async () => {
    const t = await receiverOf((sock) =>
      sock.write(Buffer.concat([Buffer.from([1]), messagePrefix(1 << 20)])),
    );
    await expect(t.recv(0)).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringMatching(
        /rank 0 \(127\.0\.0\.1:\d+\) sent a malformed message: .*exceeds the limit of 1088 B/,
      ),
    });
  });

  it('reports a sender that accepts and goes silent as lost after the deadline', async () => {
    const t = await receiverOf((sock) => sock.write(Buffer.from([1])), 300);
    await expect(t.recv(0)).rejects.toMatchObject({
      code: 'peer_lost',
      message: expect.stringContaining('sent nothing for 300 ms'),
    });
  });
});

describe('raw TCP data plane: several streams per peer (JCL_TCP_STREAMS)', () => {
  /** Two ranks on loopback, each listening and with `streams` connections per direction. */
  async function pair(streams: number): Promise<TcpTransport[]> {
    const listeners = [await DataListener.start('127.0.0.1', 0, undefined)];
    listeners.push(await DataListener.start('127.0.0.1', 0, undefined));
    const peers = listeners.map((l) => `127.0.0.1:${l.port}`);
    const ts = [0, 1].map(
      (rank) =>
        new TcpTransport({
          rank,
          peers,
          token: TOKEN,
          sessionId: 's1',
          peerTimeoutMs: 5_000,
          chunkBytes: 64 << 10,
          streams,
          dialFrom: [1 - rank],
          log: silentLogger,
        }),
    );
    ts.forEach((t, i) => listeners[i].attach(t));
    for (const t of ts) cleanup.push(() => t.close());
    for (const l of listeners) cleanup.push(() => l.close());
    return ts;
  }

  it('delivers frames in the order they were sent, whatever stream carried them', async () => {
    const [a, b] = await pair(3);
    // Sizes vary so that streams finish their frames at different times: small ones overtake large ones.
    const sizes = Array.from({ length: 40 }, (_, i) => [64 << 10, 8, 4 << 10, 0, 60 << 10][i % 5]);
    const sent = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff));
    const sends = sent.map((payload, i) => a.send(1, { opId: 7, step: i, chunk: i % 3, payload }));
    // Both directions at once, as in a ring.
    const back = b.send(0, { opId: 8, step: 0, chunk: 0, payload: Uint8Array.of(1, 2, 3, 4) });
    for (const [i, want] of sent.entries()) {
      const f = await b.recv(0);
      expect({ step: f.step, chunk: f.chunk, bytes: f.payload.byteLength }).toEqual({
        step: i,
        chunk: i % 3,
        bytes: want.byteLength,
      });
      expect(Buffer.from(f.payload).equals(Buffer.from(want))).toBe(true);
    }
    expect([...(await a.recv(1)).payload]).toEqual([1, 2, 3, 4]);
    await Promise.all([...sends, back]);
  });

  it('refuses a stream count outside [1, 16], naming it', () => {
    expect(
      () =>
        new TcpTransport({
          rank: 0,
          peers: ['127.0.0.1:1', '127.0.0.1:2'],
          token: TOKEN,
          sessionId: 's1',
          peerTimeoutMs: 1_000,
          chunkBytes: 1024,
          streams: 0,
          log: silentLogger,
        }),
    ).toThrow('streams must be an integer in [1, 16], got 0');
  });
});
