import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGuard } from './connection-guard.ts';
import { RefusalLog } from './refusal-log.ts';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A listener whose accepted sockets are admitted by `guard` and authenticated by their first bytes. */
async function guardedServer(guard: ConnectionGuard) {
  const accepted: net.Socket[] = [];
  let onAdmit: () => void = () => undefined;
  const admitted = new Promise<void>((r) => (onAdmit = r));
  const server = net.createServer((sock) => {
    accepted.push(sock);
    sock.on('error', () => undefined);
    if (guard.admit(sock)) sock.once('data', () => guard.authenticated(sock));
    onAdmit();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    guard.destroyAll();
    server.close();
  });
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  cleanups.push(() => client.destroy());
  await new Promise<void>((r) => client.once('connect', () => r()));
  await admitted;
  return { client, accepted };
}

const busyFor = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // a training step or the k-NN baseline holding the event loop
  }
};

describe('ConnectionGuard hello deadline', () => {
  it.each([
    { name: 'a hello that arrived while the loop was busy past the deadline', sendHello: true, refused: 0 },
    { name: 'no hello at all', sendHello: false, refused: 1 },
  ])('$name: $refused refusal(s)', async ({ sendHello, refused }) => {
    const notes: string[] = [];
    const refusals = new RefusalLog(quiet as never);
    const note = refusals.note.bind(refusals);
    refusals.note = (plane, reason, remote, detail) => {
      notes.push(reason);
      note(plane, reason, remote, detail);
    };
    const guard = new ConnectionGuard({ helloTimeoutMs: 100, refusals });
    const { client, accepted } = await guardedServer(guard);
    if (sendHello) client.write('hello');
    busyFor(300); // the deadline expires while the bytes wait in the socket, unread
    await new Promise((r) => setTimeout(r, 200));
    expect(notes).toEqual(refused === 1 ? ['hello_timeout'] : []);
    expect(refusals.counts().hello_timeout).toBe(refused);
    expect(accepted[0].destroyed).toBe(refused === 1);
    expect(guard.unauthenticated).toBe(0);
  });
});
