import { describe, expect, it } from 'vitest';
import { cgroupCpuQuota, cpuBudget, processShareThreads, threadsForCpus } from './cpu-budget.ts';

const files = (m: Record<string, string>) => (path: string) => m[path];

describe('cpuBudget', () => {
  it('reads a cgroup v2 quota and takes the smaller of it and the schedulable CPUs', () => {
    const readFile = files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' });
    expect(cgroupCpuQuota(readFile)).toBe(1.5);
    expect(cpuBudget({ availableParallelism: () => 64, readFile })).toBe(1.5);
    expect(cpuBudget({ availableParallelism: () => 1, readFile })).toBe(1);
  });

  it('treats "max" and missing files as no quota, and falls back to cgroup v1', () => {
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
    expect(cgroupCpuQuota(files({}))).toBeUndefined();
    const v1 = files({
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
    });
    expect(cgroupCpuQuota(v1)).toBe(4);
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1' }))).toBeUndefined();
    expect(cpuBudget({ availableParallelism: () => 2, readFile: files({}) })).toBe(2);
  });

  it('never reports less than one CPU', () => {
    expect(
      cpuBudget({
        availableParallelism: () => 8,
        readFile: files({ '/sys/fs/cgroup/cpu.max': '10000 100000' }),
      }),
    ).toBe(1);
  });
});

describe('threadsForCpus', () => {
  it('rounds a share of CPUs down to whole threads, between 1 and 8', () => {
    expect([0.5, 1, 1.9, 2, 7, 64].map(threadsForCpus)).toEqual([1, 1, 1, 2, 7, 8]);
  });
});

describe('processShareThreads', () => {
  it.each([
    // env, processes, CPUs, want
    [{}, 1, 2, { JCL_WASM_THREADS: '2', TF_NUM_INTRAOP_THREADS: '2' }],
    [{}, 2, 2, { JCL_WASM_THREADS: '1', TF_NUM_INTRAOP_THREADS: '1' }],
    [{}, 8, 96, { JCL_WASM_THREADS: '8', TF_NUM_INTRAOP_THREADS: '12' }], // wasm stops at 8, TensorFlow does not
    [{}, 4, 2, { JCL_WASM_THREADS: '1', TF_NUM_INTRAOP_THREADS: '1' }],
    [
      { JCL_WASM_THREADS: '3', TF_NUM_INTRAOP_THREADS: '5' },
      2,
      2,
      { JCL_WASM_THREADS: '3', TF_NUM_INTRAOP_THREADS: '5' },
    ],
  ] as const)('%j over %i processes on %i CPUs', (env, procs, cpus, want) => {
    expect(processShareThreads(env, procs, () => cpus)).toEqual(want);
  });
});
