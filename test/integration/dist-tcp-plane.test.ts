import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../worker/src/dist/log.ts';
import { messagePrefix } from '../../worker/src/dist/message-reader.ts';
import { DataListener } from '../../worker/src/dist/data-listener.ts';
import { TcpTransport } from '../../worker/src/dist/tcp-transport.ts';
import { messageType } from '../../worker/src/dist/wire.ts';

const TOKEN = 'tcp-plane-token';
const Hello = messageType('DataHello');
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** Rank 1 of 2 listening on loopback; rank 0 is played by raw sockets. */
async function receiver(peerTimeoutMs = 2_000): Promise<{ t: TcpTransport; port: number }> {
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
  ])('refuses %s with a 0 byte and closes, nothing applied', async (_, bytes) => {
    const { t, port } = await receiver();
    expect([...(await exchange(port, bytes))]).toEqual([0]);
    // Nothing was registered: a proper sender is still accepted afterwards.
    const ok = net.connect(port, '127.0.0.1', () => ok.write(hello(TOKEN)));
    cleanup.push(() => ok.destroy());
    const verdict = await new Promise<number>((r) => ok.once('data', (d: Buffer) => r(d[0])));
    expect(verdict).toBe(1);
    void t;
  });

  it('fails the receive from an authenticated sender that sends an oversized frame, without crashing', async () => {
    const { t, port } = await receiver();
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(Buffer.concat([hello(TOKEN), messagePrefix(1 << 20)])),
    );
    cleanup.push(() => s.destroy());
    await expect(t.recv(0)).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringMatching(
        /rank 0 \(127\.0\.0\.1:1\) sent a malformed message: .*exceeds the limit of 1088 B/,
      ),
    });
  });

  it('reports a sender that connects and goes silent as lost after the deadline', async () => {
    const { t, port } = await receiver(300);
    const s = net.connect(port, '127.0.0.1', () => s.write(hello(TOKEN)));
    cleanup.push(() => s.destroy());
    await expect(t.recv(0)).rejects.toMatchObject({
      code: 'peer_lost',
      message: expect.stringContaining('sent nothing for 300 ms'),
    });
  });
});
