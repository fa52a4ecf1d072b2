import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { JclError } from '../util/errors.ts';
import { detectGpu } from './detect-gpu.ts';
import { initBackend, nativeProcessEnv, parseWinograd, type BackendDeps } from './select-backend.ts';

const notInstalled = (specifier: string) =>
  Promise.reject(
    Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' }),
  );

/** A machine without native packages; `gpu` adds /dev/nvidia0. */
const machine = (gpu: boolean, env: Record<string, string> = {}): BackendDeps => ({
  importModule: notInstalled,
  env,
  fileExists: (p) => gpu && p === '/dev/nvidia0',
});

function recordingLogger() {
  const lines: Array<{ obj: object; msg?: string }> = [];
  const push = (obj: object, msg?: string) => lines.push({ obj, msg });
  return { lines, info: push, warn: push };
}

describe('detectGpu', () => {
  it.each([
    ['device file', {}, true, true],
    ['no device file', {}, false, false],
    ['hidden by CUDA_VISIBLE_DEVICES=""', { CUDA_VISIBLE_DEVICES: '' }, true, false],
    ['hidden by CUDA_VISIBLE_DEVICES=-1', { CUDA_VISIBLE_DEVICES: '-1' }, true, false],
    ['hidden by NVIDIA_VISIBLE_DEVICES=void', { NVIDIA_VISIBLE_DEVICES: 'void' }, true, false],
    ['selected device', { CUDA_VISIBLE_DEVICES: '0' }, true, true],
  ])('%s', (_name, env, deviceFile, visible) => {
    expect(detectGpu({ env, fileExists: (p) => deviceFile && p === '/dev/nvidia0' }).visible).toBe(visible);
  });
});

describe('initBackend', () => {
  it('auto without native packages falls through to the fast wasm path and logs the choice', async () => {
    const log = recordingLogger();
    const info = await initBackend('auto', log, machine(true));
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.detail).toMatchObject({
      simd: true,
      fastKernels: expect.arrayContaining(['Conv2DBackpropFilter']),
    });
    expect(log.lines.map((l) => l.msg)).toContain('TensorFlow.js backend initialised');
  });

  it.each([
    [
      'tensorflow',
      machine(false),
      /@tensorflow\/tfjs-node is not installed; run `npm run setup:tensorflow` .*@tensorflow\/tfjs-node@\d+\.\d+\.\d+/,
    ],
    [
      'tensorflow-gpu',
      machine(true),
      /@tensorflow\/tfjs-node-gpu is not installed; run `npm run setup:tensorflow -- --gpu` .*CUDA 12/,
    ],
    ['tensorflow-gpu', machine(false), /no GPU is visible/],
  ] as const)(
    'explicit %s that is unavailable fails with invalid_config',
    async (requested, deps, message) => {
      const err = await initBackend(requested, undefined, deps).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JclError);
      expect({ code: (err as JclError).code, exitCode: (err as JclError).exitCode }).toEqual({
        code: 'invalid_config',
        exitCode: 64,
      });
      expect((err as JclError).message).toMatch(message);
    },
  );

  it.each([
    // backend, GPU visible, packages tried in order (none installed), backend reached
    // on a CPU tfjs-node (the measured faster path) comes first; tensorflow falls back to tfjs-node-gpu
    ['auto', false, ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'], 'wasm'],
    [
      'auto',
      true,
      ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
      'wasm',
    ],
  ] as const)('%s with GPU %s tries %j first, then reaches %s', async (requested, gpu, tried, reached) => {
    const imports: string[] = [];
    const deps: BackendDeps = {
      ...machine(gpu),
      importModule: (s) => (imports.push(s), notInstalled(s)),
    };
    expect((await initBackend(requested, undefined, deps)).name).toBe(reached);
    expect(imports).toEqual(tried);
  });

  it('tensorflow takes tfjs-node-gpu when tfjs-node is not installed (it runs on the CPU too)', async () => {
    const imports: string[] = [];
    const deps: BackendDeps = { ...machine(false), importModule: (s) => (imports.push(s), notInstalled(s)) };
    const err = (await initBackend('tensorflow', undefined, deps).catch((e: unknown) => e)) as JclError;
    expect(imports).toEqual(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
    expect(err.message).toMatch(
      /^backend 'tensorflow' requested but @tensorflow\/tfjs-node is not installed/,
    );
  });

  it('reports a native package that is installed but broken, not as missing', async () => {
    const broken: BackendDeps = {
      ...machine(false),
      importModule: () => Promise.reject(new Error('libtensorflow.so.2: cannot open shared object file')),
    };
    const err = (await initBackend('tensorflow', undefined, broken).catch((e: unknown) => e)) as JclError;
    expect(err.message).toMatch(/@tensorflow\/tfjs-node failed to load: libtensorflow\.so\.2/);
  });

  it('cpu and wasm can be requested explicitly', async () => {
    expect((await initBackend('cpu', undefined, machine(false))).name).toBe('cpu');
    expect((await initBackend('wasm', undefined, machine(false))).name).toBe('wasm');
  });

  it('JCL_WINOGRAD: on by default, off on request, anything else named in the error', async () => {
    expect([undefined, '', 'on', 'off'].map(parseWinograd)).toEqual([true, true, true, false]);
    expect(() => parseWinograd('yes')).toThrow(/JCL_WINOGRAD: expected on or off, got "yes"/);
    const info = await initBackend('wasm', undefined, { ...machine(false), env: { JCL_WINOGRAD: 'on' } });
    expect(info.detail.winograd).toBe(true);
  });
});

describe('nativeProcessEnv', () => {
  it('sizes TensorFlow threads to the CPU budget and keeps what the environment sets', () => {
    expect(nativeProcessEnv({}, () => 3.5)).toEqual({
      TF_NUM_INTRAOP_THREADS: '3',
      TF_NUM_INTEROP_THREADS: '1',
    });
    expect(nativeProcessEnv({ TF_NUM_INTRAOP_THREADS: '6' }, () => 2)).toEqual({
      TF_NUM_INTEROP_THREADS: '1',
    });
    expect(nativeProcessEnv({ TF_NUM_INTRAOP_THREADS: '6', TF_NUM_INTEROP_THREADS: '2' })).toEqual({});
  });
});
