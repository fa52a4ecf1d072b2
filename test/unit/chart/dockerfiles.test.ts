/**
 * The images cannot be built here (no Docker), so scripts/check-dockerfiles.ts checks them statically; this
 * test runs it on the real Dockerfiles and shows, on broken variants, that each check can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkDockerfile,
  checkDockerfiles,
  dockerignoreMatcher,
  REPO,
} from '../../../scripts/check-dockerfiles.ts';

const ignored = dockerignoreMatcher(readFileSync(path.join(REPO, '.dockerignore'), 'utf8'));
const real = (file: string) => readFileSync(path.join(REPO, file), 'utf8');
const check = (file: string, text: string) => checkDockerfile(file, { ignored, gpuVersion: '4.22.0', text });

describe('Dockerfiles', () => {
  it('operator, CPU worker and GPU worker: COPY sources exist, entrypoints resolve, bases pinned, non-root', () => {
    expect(checkDockerfiles()).toEqual([]);
  });

  it.each([
    [
      'a missing COPY source',
      'operator/Dockerfile',
      (t: string) => t.replace('COPY proto ./proto', 'COPY protos ./proto'),
      'COPY source protos does not exist',
    ],
    [
      'a COPY source excluded by .dockerignore',
      'worker/Dockerfile',
      (t: string) => t.replace('COPY proto ./proto', 'COPY proto ./proto\nCOPY docs ./docs'),
      'COPY source docs is excluded by .dockerignore',
    ],
    [
      'an entrypoint script not in the image',
      'operator/Dockerfile',
      (t: string) => t.replace('COPY bin ./bin', 'COPY bin ./cli'),
      'entrypoint script /app/bin/jcl.js is not copied into the image',
    ],
    [
      'a runtime import left out',
      'worker/Dockerfile',
      (t: string) => t.replace('COPY operator/src ./operator/src\n', ''),
      'operator/src/main.ts is loaded at run time but not in the image',
    ],
    [
      'an unknown sub-command',
      'operator/Dockerfile',
      (t: string) => t.replace('"operator"]', '"operate"]'),
      'sub-command operate is not a jcl command',
    ],
    [
      'an unpinned base',
      'worker/Dockerfile',
      (t: string) => t.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node:latest\n'),
      'FROM node:latest is not pinned',
    ],
    [
      'root',
      'worker/Dockerfile',
      (t: string) => t.replace('USER 1000:1000', 'USER root'),
      'USER root must be a numeric non-root UID',
    ],
    [
      'dev dependencies',
      'operator/Dockerfile',
      (t: string) => t.replace('npm ci --omit=dev', 'npm ci'),
      'npm ci without --omit=dev',
    ],
    [
      'a tfjs-node-gpu version other than the peer',
      'worker/Dockerfile.gpu',
      (t: string) =>
        t.replace(
          'RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force',
          'RUN npm ci --omit=dev && npm install --no-save @tensorflow/tfjs-node-gpu@4.21.0',
        ),
      'tfjs-node-gpu 4.21.0 differs from the peer dependency 4.22.0',
    ],
    [
      'a GPU image without CUDA 12 (neither the wheels nor an nvidia/cuda 12 base)',
      'worker/Dockerfile.gpu',
      (t: string) => t.replace('setup-tensorflow.ts --gpu', 'setup-tensorflow.ts'),
      'no CUDA 12: base node:24.11.1-bookworm-slim is not nvidia/cuda 12',
    ],
    [
      'a GPU image on Node 20',
      'worker/Dockerfile.gpu',
      (t: string) => t.replace('FROM node:24.11.1-bookworm-slim', 'FROM node:20.20.2-bookworm-slim'),
      'node:20.20.2-bookworm-slim is older than Node 24 LTS',
    ],
    [
      'dev dependencies in the stage whose node_modules ship',
      'worker/Dockerfile.gpu',
      (t: string) => t.replace('RUN npm ci --omit=dev --no-audit', 'RUN npm ci --no-audit'),
      'npm ci without --omit=dev (its node_modules ship in the image)',
    ],
    [
      'a runtime file the compiled tree lacks',
      'worker/Dockerfile.gpu',
      (t: string) => t.replace(/ \\\n {2}&& printf .*\n/, '\n'),
      'worker/src/data/batch-worker-entry.js is loaded at run time but not in the image',
    ],
    [
      'a compiled image whose /app/bin/jcl.js is the tsx launcher',
      'worker/Dockerfile.gpu',
      (t: string) => t.replace('COPY bin/jcl-image.js ./bin/jcl.js', 'COPY bin/jcl.js ./bin/jcl.js'),
      "/app/bin/jcl.js (the operator's default --worker-command) is not bin/jcl-image.js",
    ],
  ])('catches %s', (_what, file, edit, problem) => {
    const text = edit(real(file));
    expect(text).not.toBe(real(file));
    expect(check(file, text).join('\n')).toContain(problem);
  });

  it('reads .dockerignore like Docker: directories, globs, and ! exceptions', () => {
    expect(ignored('test/e2e/chart-install.test.ts')).toBe(true);
    expect(ignored('test/fixtures/jcl_loss_cases.json')).toBe(false);
    expect(ignored('worker/src/cli/main.ts')).toBe(false);
    expect(ignored('worker/src/cli/main.test.ts')).toBe(true);
    expect(ignored('node_modules/yaml/package.json')).toBe(true);
  });
});
