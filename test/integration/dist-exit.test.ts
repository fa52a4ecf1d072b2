/**
 * A worker process ends when its work is done or failed, whatever an outsider holds open: sockets with a
 * wrong hello that never close, silent sockets on the data and gRPC ports. Child processes of the probe,
 * which ends the way `bin/jcl.js` does (exitWhenIdle); the test also requires that nothing was left for
 * exitWhenIdle's backstop to cut, i.e. the runtime itself closed every connection.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { messagePrefix } from '../../worker/src/distributed/message-reader.ts';
import { messageType } from '../../worker/src/distributed/wire.ts';
import { freePort, spawnProbe, type ProbeProcess } from './dist-helpers.ts';

const Hello = messageType('DataHello');

let procs: ProbeProcess[] = [];
let outsiders: net.Socket[] = [];
afterEach(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const s of outsiders) s.destroy();
  procs = [];
  outsiders = [];
});

function spawnRank(rank: number, worldSize: number, port: number, env: Record<string, string>): ProbeProcess {
  const p = spawnProbe(rank, worldSize, port, ['check', '1000'], { JCL_DATA_PLANE: 'tcp', ...env });
  procs.push(p);
  return p;
}

/** Open `n` sockets that never close their side; `send` is written first when given. */
async function holdOpen(port: number, n: number, send?: Buffer): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
            if (send) s.write(send);
            resolve();
          });
          s.on('error', () => resolve());
          outsiders.push(s);
        }),
    ),
  );
}

/** Rank 0 listening, with an outsider holding 20 wrong-hello and 10 silent data sockets, 10 gRPC sockets. */
async function besiegedRank0(worldSize: number, env: Record<string, string>): Promise<ProbeProcess> {
  const port = await freePort();
  const rank0 = spawnRank(0, worldSize, port, env);
  const waiting = JSON.parse(await rank0.line(/rendezvous: waiting for workers/)) as { dataPort: number };
  const body = Hello.encode({ fromRank: 1, sessionId: 'guess', token: 'wrong' }).finish();
  await holdOpen(waiting.dataPort, 20, Buffer.concat([messagePrefix(body.length), body]));
  await holdOpen(waiting.dataPort, 10);
  await holdOpen(port, 10);
  return rank0;
}

/** Exit within `boundMs` of `fromMs`, with `code`, and nothing left for the exitWhenIdle backstop. */
async function expectPromptExit(
  p: ProbeProcess,
  code: number,
  fromMs: number,
  boundMs: number,
): Promise<void> {
  const e = await p.exit;
  const log = p.lines.join('\n');
  expect(e.code, log).toBe(code);
  expect(e.atMs - fromMs, log).toBeLessThan(boundMs);
  expect(log).not.toMatch(/handle\(s\) still open/);
}

describe('a worker process exits while an outsider holds connections (raw TCP data plane)', () => {
  it('finishes its work and exits 0', async () => {
    // Peer timeout 20 s, so the hello deadline (5 s) has not yet closed the outsider's sockets when the
    // gang finishes: shutdown itself must close them.
    const env = { JCL_PEER_TIMEOUT_MS: '20000' };
    const rank0 = await besiegedRank0(2, env);
    const coord = Number(
      (JSON.parse(await rank0.line(/rendezvous: waiting for workers/)) as { port: number }).port,
    );
    const rank1 = spawnRank(1, 2, coord, env);
    await rank0.line(/"ok":true/);
    const doneAt = Date.now();
    // Bound: the closing barrier and teardown (ms) plus 3 s of start-up slack on a loaded machine;
    // before the fix the process stayed alive as long as the outsider held its sockets.
    await expectPromptExit(rank0, 0, doneAt, 3_000);
    await expectPromptExit(rank1, 0, doneAt, 3_000);
  });

  it('fails (rank 1 never joins) and exits 75 at the startup deadline', async () => {
    const rank0 = await besiegedRank0(2, { JCL_PEER_TIMEOUT_MS: '20000', JCL_STARTUP_TIMEOUT_MS: '4000' });
    const listeningAt = Date.now();
    await expectPromptExit(rank0, 75, listeningAt, 4_000 + 3_000);
    expect(rank0.lines.join('\n')).toMatch(/rank\(s\) 1 of 2 did not join within 4000 ms/);
  });
});
