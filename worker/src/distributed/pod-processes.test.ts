import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, procsPerWorker, runPodProcesses } from './pod-processes.ts';

const POD = {
  JCL_RANK: '4',
  JCL_WORLD_SIZE: '8',
  JCL_PORT: '29500',
  JCL_STATUS_PORT: '29501',
  JCL_DATA_PORT: '29502',
  JCL_PROCS_PER_WORKER: '2',
  JCL_WASM_THREADS: '1',
};

describe('childEnv', () => {
  it.each([
    {
      name: 'local rank 0 keeps the pod ports and gets device 0',
      local: 0,
      env: POD,
      want: {
        JCL_RANK: '4',
        JCL_LOCAL_RANK: '0',
        CUDA_VISIBLE_DEVICES: '0',
        JCL_PORT: '29500',
        JCL_STATUS_PORT: '29501',
        JCL_DATA_PORT: '29502',
      },
    },
    {
      name: 'local rank 1: the next global rank, ephemeral ports, device 1',
      local: 1,
      env: POD,
      want: {
        JCL_RANK: '5',
        JCL_LOCAL_RANK: '1',
        CUDA_VISIBLE_DEVICES: '1',
        JCL_PORT: '0',
        JCL_STATUS_PORT: '0',
        JCL_DATA_PORT: '0',
      },
    },
    {
      name: "the device plugin's devices are split one per process",
      local: 1,
      env: { ...POD, CUDA_VISIBLE_DEVICES: 'GPU-a,GPU-b' },
      want: { CUDA_VISIBLE_DEVICES: 'GPU-b' },
    },
  ])('$name', ({ local, env, want }) => {
    const got = childEnv(env, local, 2, '/tmp/t');
    expect(got).toMatchObject({
      ...want,
      JCL_PROCS_PER_WORKER: '1',
      JCL_WORLD_SIZE: '8',
      JCL_TERMINATION_LOG: '/tmp/t',
    });
  });

  it.each([
    [undefined, 1],
    ['', 1],
    ['4', 4],
  ])('procsPerWorker(%j) = %d', (raw, want) => {
    expect(procsPerWorker({ JCL_PROCS_PER_WORKER: raw })).toBe(want);
  });
  it('names the variable and the value when it is not a count', () => {
    expect(() => procsPerWorker({ JCL_PROCS_PER_WORKER: 'two' })).toThrow(/JCL_PROCS_PER_WORKER.*"two"/);
  });
});

describe('runPodProcesses', () => {
  /** A process that writes its rank and device to the termination log, then exits FAIL_RANK's code. */
  const script = `
const fs = require('fs'); const e = process.env;
fs.writeFileSync(e.JCL_TERMINATION_LOG, JSON.stringify({ rank: e.JCL_RANK, dev: e.CUDA_VISIBLE_DEVICES }));
if (e.JCL_RANK === e.FAIL_RANK) process.exit(Number(e.FAIL_CODE));
setTimeout(() => process.exit(0), e.FAIL_RANK ? 30000 : 50);
process.on('SIGTERM', () => process.exit(143));
`;
  const run = (extra: Record<string, string>) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jcl-procs-test-'));
    const terminationLog = path.join(dir, 'termination-log');
    writeFileSync(terminationLog, '');
    return runPodProcesses({
      env: { ...POD, TMPDIR: dir, PATH: process.env.PATH, ...extra },
      args: [],
      terminationLog,
      command: [process.execPath, '-e', script],
      killGraceMs: 2_000,
    }).then((code) => ({ code, message: readFileSync(terminationLog, 'utf8') }));
  };

  it('succeeds when every process does, keeping local rank 0 message', async () => {
    expect(await run({})).toEqual({ code: 0, message: JSON.stringify({ rank: '4', dev: '0' }) });
  });

  it("fails with the first failing process's exit code and message, stopping its siblings", async () => {
    const started = Date.now();
    const r = await run({ FAIL_RANK: '5', FAIL_CODE: '3' });
    expect(r).toEqual({ code: 3, message: JSON.stringify({ rank: '5', dev: '1' }) });
    // The sibling was told to stop (it would otherwise run 30 s).
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
