import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_LAYERS, resolveConfig } from './config-sources.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcl-layers-'));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
};

/** Every layer that can set runtime.backend, each with its own value, highest first. */
const layers = {
  flags: { flags: { backend: 'cpu' } },
  file: { configFile: file('backend.json', { runtime: { backend: 'tensorflow' } }) },
  env: { env: { JCL_BACKEND: 'wasm' } },
  image: { env: { JCL_IMAGE_BACKEND: 'tensorflow-gpu' } },
} as const;

const resolve = (parts: Partial<Record<keyof typeof layers, true>>, preset = 'none') => {
  const picked = Object.entries(layers).filter(([k]) => parts[k as keyof typeof layers]);
  const env = Object.assign({}, ...picked.map(([, l]) => ('env' in l ? l.env : {})));
  const flags = Object.assign({}, ...picked.map(([, l]) => ('flags' in l ? l.flags : {})));
  const configFile = picked.map(([, l]) => ('configFile' in l ? l.configFile : undefined)).find(Boolean);
  return resolveConfig({ preset, configFile, env, flags, worldSize: 1 }).runtime.backend;
};

describe('configuration layers: flags > config file > environment > preset > image defaults > schema', () => {
  // Issue 19: JCL_BACKEND (set by the images) used to win over the config file.
  it.each([
    [{ flags: true, file: true, env: true, image: true }, 'cpu'],
    [{ file: true, env: true, image: true }, 'tensorflow'],
    [{ env: true, image: true }, 'wasm'],
    [{ image: true }, 'tensorflow-gpu'],
    [{}, 'auto'],
  ] as const)('%j → runtime.backend %s', (parts, want) => {
    expect(resolve(parts)).toBe(want);
  });

  it('puts a preset above the image defaults and below the environment', () => {
    const presetDir = (env: Record<string, string>) =>
      resolveConfig({ preset: 'demo', env, flags: {}, worldSize: 1 }).runtime.outDir;
    expect(presetDir({})).toBe('runs/demo');
    expect(presetDir({ JCL_RUN_DIR: '/tmp/x' })).toBe('/tmp/x');
    const withFile = resolveConfig({
      preset: 'demo',
      configFile: file('epochs.json', { optim: { epochs: 5 } }),
      env: {},
      flags: {},
      worldSize: 1,
    });
    expect([withFile.optim.epochs, withFile.model.arch]).toEqual([5, 'resnet-tiny']);
  });

  it('puts --set with the flags, above the config file', () => {
    const cfg = resolveConfig({
      preset: 'none',
      configFile: file('lr.json', { optim: { lr: 0.5 } }),
      env: {},
      flags: {},
      sets: ['optim.lr=0.03'],
      worldSize: 1,
    });
    expect(cfg.optim.lr).toBe(0.03);
  });

  it('names the variable of a bad backend', () => {
    expect(() => resolveConfig({ env: { JCL_IMAGE_BACKEND: 'gpu' }, flags: {}, worldSize: 1 })).toThrow(
      'JCL_IMAGE_BACKEND (runtime.backend): expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got "gpu"',
    );
  });

  it('documents the same order it applies', () => {
    expect(CONFIG_LAYERS.map((l) => l.split(' ')[0])).toEqual([
      'flags',
      'config',
      'environment',
      'preset',
      'image',
      'schema',
    ]);
  });
});

// Issue 19, item 8: messages a new user meets first.
describe('resolveConfig errors', () => {
  const fails = (o: Partial<Parameters<typeof resolveConfig>[0]>) => () =>
    resolveConfig({ env: {}, flags: {}, worldSize: 1, ...o });
  it.each([
    [
      'a value the preset set, named with its source and the flag that overrides it',
      { preset: 'demo', flags: { epochs: '1' } },
      'optim.warmupEpochs: must be <= epochs 1, got 2 (set by the demo preset; --warmup-epochs overrides it)',
    ],
    [
      'an enum value, with the allowed values',
      { flags: { model: 'resnet99' } },
      'model.arch: expected one of resnet18, resnet50, resnet18-cifar, resnet-tiny, got "resnet99"',
    ],
    [
      'a value the user typed, without a source',
      { preset: 'demo', flags: { epochs: '4', 'warmup-epochs': '5' } },
      /optim\.warmupEpochs: must be <= epochs 4, got 5$/m,
    ],
  ])('%s', (_name, o, says) => {
    expect(fails(o as Partial<Parameters<typeof resolveConfig>[0]>)).toThrow(says);
  });
});

describe('dist.gradientDtype (--gradient-dtype)', () => {
  it.each([
    [{}, 'float32'],
    [{ 'gradient-dtype': 'bfloat16' }, 'bfloat16'],
    [{ 'gradient-dtype': 'float32' }, 'float32'],
  ] as const)('flags %j → %s', (flags, want) => {
    const cfg = resolveConfig({ preset: 'none', env: {}, flags, worldSize: 2 });
    expect(cfg.dist.gradientDtype).toBe(want);
  });

  it('refuses another dtype, naming the field and the value', () => {
    expect(() =>
      resolveConfig({ preset: 'none', env: {}, flags: { 'gradient-dtype': 'float16' }, worldSize: 2 }),
    ).toThrow('dist.gradientDtype: expected one of float32, bfloat16, got "float16"');
  });
});
