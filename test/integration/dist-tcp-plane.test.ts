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

const hello = (token: string, fromRank = 0, sessionId = 's1') => {
  const body = Hello.encode({ fromRank, sessionId, token }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
};

describe('raw TCP data plane: handshake and input validation', () => {
  it.each([
    ['a wrong token', hello('wrong')],
    ['an empty token', hello('')],
    ['a stale session', hello(TOKEN, 0, 'old')],
    ['its own rank', hello(TOKEN, 1)],
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
    expect(seen).toEqual({ fromRank: 1, sessionId: 's1', token: TOKEN });
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
