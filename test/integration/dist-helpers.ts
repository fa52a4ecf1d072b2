/** Shared fixtures for the distributed integration tests: free ports, an in-process gang, probe processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DistConfig } from '../../worker/src/distributed/dist-config.ts';
import { DIST_DEFAULTS } from '../../worker/src/distributed/dist-config.ts';

/** A port free right now on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Configs for an in-process gang on loopback; rank 0 on `coordPort`, the others on ephemeral ports. */
export function gangConfigs(
  worldSize: number,
  coordPort: number,
  over: Partial<DistConfig> = {},
): DistConfig[] {
  return Array.from({ length: worldSize }, (_, rank) => ({
    ...DIST_DEFAULTS,
    rank,
    worldSize,
    coordinator: `127.0.0.1:${coordPort}`,
    port: rank === 0 ? coordPort : 0,
    bindHost: '127.0.0.1',
    advertiseHost: '127.0.0.1',
    statusPort: 0,
    dataPort: 0,
    token: { value: 'unused' },
    startupTimeoutMs: 10_000,
    peerTimeoutMs: 3_000,
    chunkBytes: 64 * 1024,
    bucketBytes: 256 * 1024,
    ...over,
  }));
}

const PROBE = fileURLToPath(new URL('../../worker/src/distributed/collective-probe.ts', import.meta.url));

/** A collective-probe child process and what it printed. */
export interface ProbeProcess {
  child: ChildProcess;
  lines: string[];
  exit: Promise<{ code: number | null; atMs: number }>;
  /** Resolves with the first line (stdout or stderr) matching `re`. */
  line(re: RegExp): Promise<string>;
}

/**
 * Start rank `rank` of `worldSize` as a probe process (worker/src/distributed/collective-probe.ts `args`) on
 * loopback, rank 0 listening on `port`; `env` adds to or overrides the JCL_* variables.
 */
export function spawnProbe(
  rank: number,
  worldSize: number,
  port: number,
  args: string[],
  env: Record<string, string> = {},
): ProbeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, ...args], {
    env: {
      ...process.env,
      JCL_RANK: String(rank),
      JCL_WORLD_SIZE: String(worldSize),
      JCL_COORDINATOR: `127.0.0.1:${port}`,
      JCL_PORT: String(rank === 0 ? port : 0),
      JCL_STATUS_PORT: '0',
      JCL_BIND_HOST: '127.0.0.1',
      JCL_ADVERTISE_HOST: '127.0.0.1',
      JCL_TOKEN: 'probe-test-token',
      JCL_DATA_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  for (const s of [child.stdout!, child.stderr!]) {
    createInterface({ input: s }).on('line', (l) => {
      lines.push(l);
      for (const w of waiters) if (w.re.test(l)) w.resolve(l);
    });
  }
  const exit = new Promise<{ code: number | null; atMs: number }>((r) =>
    child.on('exit', (code) => r({ code, atMs: Date.now() })),
  );
  const line = (re: RegExp) =>
    new Promise<string>((resolve) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) resolve(seen);
      else waiters.push({ re, resolve });
    });
  return { child, lines, exit, line };
}
