/**
 * The GPU image runs our TypeScript compiled to JS (worker/Dockerfile.gpu's build stage: tsconfig.build.json,
 * a batch-worker-entry.js shim, bin/jcl-image.js as bin/jcl.js), and Docker cannot run here. So this lays out
 * the same tree outside the repository and runs it with plain node (no TypeScript loader): the selftest on
 * wasm and on the native backend the image uses, and a short training run whose loader worker threads load
 * the compiled entry. A module the compiled tree cannot resolve fails here, not on a user's GPU node.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNative } from './native/native-backend.ts';

const REPO = join(import.meta.dirname, '..', '..');
/** The shim line worker/Dockerfile.gpu writes; asserted below so the two cannot drift apart. */
const ENTRY_SHIM = "await import('./batch-worker.js');";

let app = '';

function run(args: string[], timeout = 240_000) {
  const r = spawnSync(process.execPath, [join(app, 'bin', 'jcl.js'), ...args], {
    cwd: app,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, JCL_BACKEND: '', NODE_OPTIONS: '' },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'jcl-compiled-'));
  const tsc = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', app],
    { cwd: REPO, encoding: 'utf8', timeout: 300_000 },
  );
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  writeFileSync(join(app, 'worker', 'src', 'data', 'batch-worker-entry.js'), `${ENTRY_SHIM}\n`);
  mkdirSync(join(app, 'bin'));
  cpSync(join(REPO, 'bin', 'jcl-image.js'), join(app, 'bin', 'jcl.js'));
  cpSync(join(REPO, 'proto'), join(app, 'proto'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(app, 'package.json'));
  mkdirSync(join(app, 'test', 'fixtures'), { recursive: true });
  cpSync(
    join(REPO, 'test', 'fixtures', 'jcl_loss_cases.json'),
    join(app, 'test', 'fixtures', 'jcl_loss_cases.json'),
  );
  symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
}, 360_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the compiled runtime (what the GPU image runs)', () => {
  it('is laid out as worker/Dockerfile.gpu lays it out', () => {
    const dockerfile = readFileSync(join(REPO, 'worker', 'Dockerfile.gpu'), 'utf8');
    expect(dockerfile).toContain('npx tsc -p tsconfig.build.json');
    expect(dockerfile).toContain(`printf "${ENTRY_SHIM}\\n" > dist/worker/src/data/batch-worker-entry.js`);
    expect(dockerfile).toContain('COPY bin/jcl-image.js ./bin/jcl.js');
  });

  it('passes the selftest on wasm with no TypeScript loader', () => {
    const r = run(['selftest', '--backend', 'wasm']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('all 4 cases match');
  });

  it('trains a short run with loader worker threads on the compiled entry', () => {
    const out = join(app, 'run');
    const r = run([
      'train',
      '--backend',
      'wasm',
      '--epochs',
      '1',
      '--warmup-epochs',
      '0',
      '--set',
      'data.loaderWorkers=2',
      '--out',
      out,
    ]);
    expect(r.code, r.out).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.globalStep).toBeGreaterThan(0);
    expect(r.out).toMatch(/"loaderWorkers":2/);
  });
});

describeNative('the compiled runtime on the native backend', () => {
  it('passes the selftest on tfjs-node (the GPU image runs this at build time)', () => {
    const r = run(['selftest', '--backend', 'tensorflow']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/on TensorFlow 2\.\d+\.\d+/);
  });
});
