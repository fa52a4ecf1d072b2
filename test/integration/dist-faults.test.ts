import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { launchLocalWorkers } from '../../worker/src/distributed/launch-local.ts';
import { silentLogger } from '../../worker/src/distributed/log.ts';
import { freePort, spawnProbe, type ProbeProcess } from './dist-helpers.ts';

const PROBE = fileURLToPath(new URL('../../worker/src/distributed/collective-probe.ts', import.meta.url));
const PEER_TIMEOUT_MS = 3_000;

let workers: ProbeProcess[] = [];
afterEach(() => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  workers = [];
});

/** Spawn a gang of probe processes directly (not via the launcher, which would tear survivors down itself). */
async function spawnGang(
  n: number,
  mode: string,
  elems: number,
  dataPlane = 'grpc',
  streams = 1,
): Promise<ProbeProcess[]> {
  const port = await freePort();
  workers = Array.from({ length: n }, (_, rank) =>
    spawnProbe(rank, n, port, [mode, String(elems)], {
      JCL_TOKEN: 'fault-test-token',
      JCL_PEER_TIMEOUT_MS: String(PEER_TIMEOUT_MS),
      JCL_CHUNK_BYTES: '65536',
      JCL_DATA_PLANE: dataPlane,
      JCL_TCP_STREAMS: String(streams),
    }),
  );
  return workers;
}

describe('peer failure detection (child processes)', () => {
  it.each([
    ['killed (SIGKILL)', 'grpc', 1, 'SIGKILL' as const],
    ['hung (SIGSTOP)', 'grpc', 1, 'SIGSTOP' as const],
    ['killed (SIGKILL)', 'tcp', 1, 'SIGKILL' as const],
    ['hung (SIGSTOP)', 'tcp', 1, 'SIGSTOP' as const],
    ['killed (SIGKILL)', 'tcp', 3, 'SIGKILL' as const],
    ['hung (SIGSTOP)', 'tcp', 3, 'SIGSTOP' as const],
  ])(
    'when rank 1 is %s mid-collective, every survivor exits 75 within the bound naming the peer (%s data plane, %i streams)',
    async (_, plane, streams, signal) => {
      const gang = await spawnGang(3, 'loop', 200_000, plane, streams);
      await Promise.all(gang.map((w) => w.line(/"looping":true/)));
      const killedAt = Date.now();
      gang[1].child.kill(signal);
      const survivors = [gang[0], gang[2]];
      const exits = await Promise.all(survivors.map((w) => w.exit));
      for (const [i, e] of exits.entries()) {
        expect(e.code, survivors[i].lines.join('\n')).toBe(75);
        // Bound: the peer timeout plus start-up slack of a loaded CI machine.
        expect(e.atMs - killedAt).toBeLessThan(PEER_TIMEOUT_MS + 4_000);
        const failure = survivors[i].lines.find((l) => l.includes('collective failed'));
        expect(failure, survivors[i].lines.join('\n')).toMatch(/rank 1 \(127\.0\.0\.1:\d+\)/);
      }
    },
  );
});

describe('launchLocalWorkers', () => {
  it('runs a gang to success and returns 0', async () => {
    const lines: string[] = [];
    const code = await launchLocalWorkers({
      workers: 3,
      command: [process.execPath, '--import', 'tsx', PROBE],
      args: ['check', '30001'],
      log: silentLogger,
      onLine: (rank, line) => lines.push(`${rank} ${line}`),
    });
    expect(code).toBe(0);
    expect(lines).toContain('0 {"ok":true,"elems":30001,"worldSize":3}');
  });

  it('stops the gang when one worker fails and returns its exit code', async () => {
    const started = Date.now();
    // An unknown mode makes every worker fail with invalid_config (64) after rendezvous.
    const code = await launchLocalWorkers({
      workers: 2,
      command: [process.execPath, '--import', 'tsx', PROBE],
      args: ['no-such-mode'],
      log: silentLogger,
      onLine: () => {},
      killGraceMs: 1_000,
    });
    expect(code).toBe(64);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('lost coordinator during rendezvous (child processes)', () => {
  it.each(['SIGKILL', 'SIGSTOP'] as const)(
    'when rank 0 gets %s while rank 1 waits in its join, rank 1 exits 75 within the peer timeout naming rank 0',
    async (signal) => {
      const port = await freePort();
      // A world of 3 whose rank 2 never starts: the gang cannot form, rank 1 stays in its join. The startup
      // deadline is far away, so only noticing the loss can end rank 1 in time.
      const env = { JCL_PEER_TIMEOUT_MS: String(PEER_TIMEOUT_MS), JCL_STARTUP_TIMEOUT_MS: '120000' };
      const rank0 = spawnProbe(0, 3, port, ['check', '10'], env);
      workers.push(rank0);
      await rank0.line(/rendezvous: waiting for workers/);
      const rank1 = spawnProbe(1, 3, port, ['check', '10'], env);
      workers.push(rank1);
      await rank1.line(/rendezvous: joining/);
      await new Promise((r) => setTimeout(r, 2_500)); // the join reaches rank 0 (loopback)
      const lostAt = Date.now();
      rank0.child.kill(signal);
      const e = await rank1.exit;
      const log = rank1.lines.join('\n');
      expect(e.code, log).toBe(75);
      // Bound: the peer timeout plus start-up slack of a loaded CI machine, as for a lost rank above.
      expect(e.atMs - lostAt, log).toBeLessThan(PEER_TIMEOUT_MS + 4_000);
      expect(log).toMatch(/lost rank 0 \(127\.0\.0\.1:\d+\) during rendezvous/);
    },
  );
});
