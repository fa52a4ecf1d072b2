/** Runs the `jcl` command as a user would (a child process) and the tiny training run tests share. */
import { spawnSync } from 'node:child_process';

const JCL = new URL('../../../bin/jcl.js', import.meta.url).pathname;

export function runJcl(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [JCL, ...args], {
    encoding: 'utf8',
    env: { ...process.env, JCL_LOG_FORMAT: 'json', ...env },
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The demo preset shrunk to seconds: 80 images of 8x8, batch 16, K = 64, no warm-up, k-NN k = 5, wasm. */
export function tinyTrainArgs(epochs: number): string[] {
  return [
    '--preset',
    'demo',
    '--epochs',
    String(epochs),
    '--warmup-epochs',
    '0',
    '--batch',
    '16',
    '--queue',
    '64',
    '--image-size',
    '8',
    '--set',
    'data.syntheticPerClass=8',
    '--set',
    'eval.knnK=5',
    '--backend',
    'wasm',
  ];
}
