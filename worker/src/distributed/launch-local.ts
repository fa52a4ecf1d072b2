/**
 * Run a data-parallel gang on one machine: N child processes of `node bin/jcl.js worker` on loopback, each
 * with its JCL_RANK, a shared coordinator port and a fresh random token. Output lines are forwarded with a
 * `[rank r]` prefix. Gang semantics as on Kubernetes: the first worker to fail takes the others down, and
 * its exit code is the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { processShareThreads } from '../util/cpu-budget.ts';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { DistLogger } from './log.ts';

export interface LaunchLocalOptions {
  workers: number;
  /** Arguments after `jcl worker`. */
  args?: readonly string[];
  /** Extra environment for every worker (on top of this process's). */
  env?: Readonly<Record<string, string>>;
  log: DistLogger;
  /** argv of a worker, default `[node, bin/jcl.js, worker]`; tests run a smaller program. */
  command?: readonly string[];
  /** Receives every output line of every worker; default: prefix and write to this process's stream. */
  onLine?: (rank: number, line: string, stream: 'stdout' | 'stderr') => void;
  /** How long workers get between SIGTERM and SIGKILL when the gang is torn down. */
  killGraceMs?: number;
}

const JCL_BIN = fileURLToPath(new URL('../../../bin/jcl.js', import.meta.url));

/** A TCP port free on loopback right now. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Exit code of a finished child: its code, or 128 + signal number as a shell reports it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return 128 + (signal ? (signals[signal] ?? 0) : 0);
}

/** Spawn the gang and resolve with 0 when all succeed, else the first non-zero exit code. */
export async function launchLocalWorkers(o: LaunchLocalOptions): Promise<number> {
  if (!Number.isInteger(o.workers) || o.workers < 1) {
    throw new RangeError(`launchLocalWorkers: workers must be an integer >= 1, got ${o.workers}`);
  }
  const [coordPort, statusPort] = [await findFreePort(), await findFreePort()];
  const token = randomBytes(24).toString('hex');
  const argv = [...(o.command ?? [process.execPath, JCL_BIN, 'worker']), ...(o.args ?? [])];
  const onLine =
    o.onLine ??
    ((rank, line, stream) =>
      (stream === 'stdout' ? process.stdout : process.stderr).write(`[rank ${rank}] ${line}\n`));
  o.log.info(
    { workers: o.workers, coordinator: `127.0.0.1:${coordPort}`, statusPort },
    'launching local workers',
  );

  // N processes share this machine: each runs floor(CPUs / N) wasm or TensorFlow threads unless told otherwise.
  const threads = processShareThreads({ ...process.env, ...o.env }, o.workers);
  const children: ChildProcess[] = [];
  let result: number | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const tearDown = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    killTimer ??= setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, o.killGraceMs ?? 5_000);
  };
  const onParentSignal = () => {
    result ??= 130;
    tearDown();
  };
  process.once('SIGINT', onParentSignal);
  process.once('SIGTERM', onParentSignal);

  const exits = Array.from({ length: o.workers }, (_, rank) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: {
        ...process.env,
        ...o.env,
        JCL_RANK: String(rank),
        JCL_WORLD_SIZE: String(o.workers),
        JCL_COORDINATOR: `127.0.0.1:${coordPort}`,
        JCL_PORT: String(rank === 0 ? coordPort : 0),
        JCL_STATUS_PORT: String(statusPort),
        JCL_DATA_PORT: '0',
        JCL_BIND_HOST: '127.0.0.1',
        JCL_ADVERTISE_HOST: '127.0.0.1',
        JCL_TOKEN: token,
        ...threads,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) => onLine(rank, line, stream));
    }
    return new Promise<void>((resolve) => {
      child.on('error', (err) => {
        o.log.error({ rank, err: err.message }, 'worker failed to start');
        result ??= 127;
        tearDown();
        resolve();
      });
      child.on('exit', (code, signal) => {
        const exit = exitCodeOf(code, signal);
        if (exit !== 0 && result === null) {
          result = exit;
          o.log.error(
            { rank, exitCode: exit, signal },
            `worker ${rank} exited with ${exit}; stopping the others`,
          );
          tearDown();
        }
        resolve();
      });
    });
  });
  await Promise.all(exits);
  clearTimeout(killTimer);
  process.off('SIGINT', onParentSignal);
  process.off('SIGTERM', onParentSignal);
  return result ?? 0;
}
