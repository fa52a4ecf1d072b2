/**
 * How many CPUs this process may use: the smaller of the CPUs it can be scheduled on and its cgroup's CPU
 * quota (a pod's `resources.limits.cpu`), so that a worker in a 2-CPU pod on a 64-core node sizes its thread
 * pool for 2. An I/O edge with injectable readers for tests.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuBudgetDeps {
  availableParallelism?: () => number;
  /** Contents of a file, or undefined when it cannot be read. */
  readFile?: (path: string) => string | undefined;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cgroup CPU quota in CPUs (v2 `cpu.max`, else v1 `cfs_quota_us / cfs_period_us`), or undefined. */
export function cgroupCpuQuota(
  readFile: (path: string) => string | undefined = readOrUndefined,
): number | undefined {
  const v2 = readFile('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 !== undefined && v2.length === 2 && v2[0] !== 'max') {
    const [quota, period] = v2.map(Number);
    if (quota > 0 && period > 0) return quota / period;
  }
  const quota = Number(readFile('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
  const period = Number(readFile('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
  if (quota > 0 && period > 0) return quota / period;
  return undefined;
}

/** CPUs this process may use (at least 1, possibly fractional under a quota). */
export function cpuBudget(deps: CpuBudgetDeps = {}): number {
  const cpus = (deps.availableParallelism ?? os.availableParallelism)();
  const quota = cgroupCpuQuota(deps.readFile ?? readOrUndefined);
  return Math.max(1, quota === undefined ? cpus : Math.min(cpus, quota));
}

/** Compute threads for a share of `cpus` CPUs: whole CPUs, at least 1, at most 8 (XNNPACK's useful range). */
export function threadsForCpus(cpus: number): number {
  return Math.min(8, Math.max(1, Math.floor(cpus)));
}

/**
 * Thread settings for one of `procs` processes sharing this process's CPUs (`jcl train --workers N`,
 * `procsPerWorker` in a pod): wasm (XNNPACK) threads and TensorFlow intra-op threads for a 1/procs share,
 * unless `env` sets them already.
 */
export function processShareThreads(
  env: Readonly<Record<string, string | undefined>>,
  procs: number,
  budget: () => number = cpuBudget,
): { JCL_WASM_THREADS: string; TF_NUM_INTRAOP_THREADS: string } {
  const share = budget() / procs;
  return {
    JCL_WASM_THREADS: env.JCL_WASM_THREADS || String(threadsForCpus(share)),
    TF_NUM_INTRAOP_THREADS: env.TF_NUM_INTRAOP_THREADS || String(Math.max(1, Math.floor(share))),
  };
}
