/**
 * Several ranks in one worker pod (spec.template.procsPerWorker, one per GPU): `jcl worker` with
 * JCL_PROCS_PER_WORKER = N > 1 becomes a small supervisor that runs N `jcl worker` processes with the
 * contiguous global ranks JCL_RANK .. JCL_RANK + N - 1 (so most ring neighbours share the pod), each bound
 * to its own device (CUDA_VISIBLE_DEVICES) and its own ports (local rank 0 keeps the pod's ports: it is the
 * coordinator in pod 0 and serves rank 0's status; the others take ephemeral ports they advertise at
 * rendezvous). Gang semantics inside the pod: the first process to fail takes its siblings down, its exit
 * code is the pod's, and its termination message becomes the pod's (the operator reads one per pod).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processShareThreads } from '../util/cpu-budget.ts';
import { writeTerminationMessage } from '../cli/termination-log.ts';
import { exitCodeOf } from './launch-local.ts';

type Env = Readonly<Record<string, string | undefined>>;

const JCL_BIN = fileURLToPath(new URL('../../../bin/jcl.js', import.meta.url));

/** Processes per pod from JCL_PROCS_PER_WORKER (1 when unset); throws naming the variable and value. */
export function procsPerWorker(env: Env): number {
  const raw = env.JCL_PROCS_PER_WORKER;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new RangeError(`JCL_PROCS_PER_WORKER: expected an integer in [1, 64], got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The environment of local process `local` of `procs` (pure). The pod's CUDA_VISIBLE_DEVICES, when the
 * device plugin set one, is split one device per process; else devices are numbered 0..procs-1.
 */
export function childEnv(
  env: Env,
  local: number,
  procs: number,
  terminationLog: string,
): Record<string, string> {
  const base = Number(env.JCL_RANK ?? '0');
  const devices = env.CUDA_VISIBLE_DEVICES?.split(',').filter((d) => d !== '');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  Object.assign(out, {
    JCL_RANK: String(base + local),
    JCL_LOCAL_RANK: String(local),
    JCL_PROCS_PER_WORKER: '1',
    CUDA_VISIBLE_DEVICES: devices && devices.length >= procs ? devices[local] : String(local),
    JCL_TERMINATION_LOG: terminationLog,
    ...processShareThreads(env, procs),
  });
  if (local > 0) {
    // One listener per port and pod: only local rank 0 keeps the pod's fixed ports.
    out.JCL_PORT = '0';
    out.JCL_STATUS_PORT = '0';
    out.JCL_DATA_PORT = '0';
  }
  return out;
}

/** Options of {@link runPodProcesses}. */
export interface PodProcessesOptions {
  env: Env;
  /** Arguments after `jcl worker`. */
  args: readonly string[];
  /** The pod's termination log (the supervisor writes the message it keeps). */
  terminationLog: string;
  /** argv of one process, default `[node, bin/jcl.js, worker]`; tests run a smaller program. */
  command?: readonly string[];
  killGraceMs?: number;
}

/** Runs the pod's processes; resolves with 0 when all succeed, else the first failure's exit code. */
export async function runPodProcesses(o: PodProcessesOptions): Promise<number> {
  const procs = procsPerWorker(o.env);
  const dir = mkdtempSync(path.join(o.env.TMPDIR ?? os.tmpdir(), 'jcl-procs-'));
  const logs = Array.from({ length: procs }, (_, i) => path.join(dir, `termination-${i}`));
  const argv = [...(o.command ?? [process.execPath, JCL_BIN, 'worker']), ...o.args];
  let first: { local: number; code: number } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const children = logs.map((log, local) =>
    spawn(argv[0], argv.slice(1), { env: childEnv(o.env, local, procs, log), stdio: 'inherit' }),
  );
  const tearDown = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    killTimer ??= setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, o.killGraceMs ?? 10_000);
  };
  const onSignal = () => tearDown();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await Promise.all(
    children.map(
      (child, local) =>
        new Promise<void>((resolve) => {
          child.on('error', () => {
            first ??= { local, code: 127 };
            tearDown();
            resolve();
          });
          child.on('exit', (code, signal) => {
            const exit = exitCodeOf(code, signal);
            if (exit !== 0 && !first) {
              first = { local, code: exit };
              tearDown();
            }
            resolve();
          });
        }),
    ),
  );
  clearTimeout(killTimer);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  const kept = first?.local ?? 0;
  const fallback = first
    ? JSON.stringify({
        ok: false,
        reason: 'internal',
        exitCode: first.code,
        message: `local process ${kept} exited with ${first.code}`,
      })
    : '';
  const message = readOr(logs[kept], fallback);
  if (message) writeTerminationMessage(message, o.terminationLog);
  return first?.code ?? 0;
}

/** A file's text, or `fallback` when it cannot be read (the process died before writing it). */
function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8') || fallback;
  } catch {
    return fallback;
  }
}
