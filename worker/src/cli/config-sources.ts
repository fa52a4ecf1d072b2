/**
 * Where a run's configuration comes from. Each layer overrides the ones below it (CONFIG_LAYERS, highest
 * first): command-line flags (and --set) > config file (JSON or YAML) > environment (JCL_BACKEND,
 * JCL_RUN_DIR) > preset > image defaults (JCL_IMAGE_BACKEND, set by the worker images' ENV) > schema
 * defaults. An explicit setting therefore always beats what an image or a preset chose (issue 19).
 * Returns one validated, frozen TrainingConfig.
 */
import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';
import { mergeConfigInputs, parseTrainingConfig } from '../config/parse-config.ts';
import { BACKENDS, type TrainingConfig, type TrainingConfigInput } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import { PRESETS } from './presets.ts';

/** Flags of `jcl train` and the config field each sets. */
export const FLAG_FIELDS: Readonly<
  Record<string, { path: string; type: 'string' | 'int' | 'number' | 'bool' }>
> = Object.freeze({
  model: { path: 'model.arch', type: 'string' },
  'embed-dim': { path: 'model.embedDim', type: 'int' },
  method: { path: 'jcl.method', type: 'string' },
  positives: { path: 'jcl.positives', type: 'int' },
  lambda: { path: 'jcl.lambda', type: 'number' },
  'lambda-schedule': { path: 'jcl.lambdaSchedule', type: 'string' },
  tau: { path: 'jcl.temperature', type: 'number' },
  queue: { path: 'jcl.queueSize', type: 'int' },
  'key-momentum': { path: 'jcl.keyMomentum', type: 'number' },
  batch: { path: 'optim.batchSize', type: 'int' },
  epochs: { path: 'optim.epochs', type: 'int' },
  lr: { path: 'optim.lr', type: 'number' },
  'warmup-epochs': { path: 'optim.warmupEpochs', type: 'number' },
  'steps-per-epoch': { path: 'optim.stepsPerEpoch', type: 'int' },
  dataset: { path: 'data.format', type: 'string' },
  'data-path': { path: 'data.path', type: 'string' },
  'image-size': { path: 'data.imageSize', type: 'int' },
  'skip-bad-images': { path: 'data.skipBadImages', type: 'bool' },
  'checkpoint-every-steps': { path: 'checkpoint.everySteps', type: 'int' },
  'keep-last': { path: 'checkpoint.keepLast', type: 'int' },
  'resume-from': { path: 'checkpoint.resumeFrom', type: 'string' },
  'checkpoint-uri': { path: 'checkpoint.uri', type: 'string' },
  's3-endpoint': { path: 'checkpoint.s3.endpoint', type: 'string' },
  's3-region': { path: 'checkpoint.s3.region', type: 'string' },
  's3-path-style': { path: 'checkpoint.s3.pathStyle', type: 'bool' },
  'knn-every': { path: 'eval.knnEveryEpochs', type: 'int' },
  backend: { path: 'runtime.backend', type: 'string' },
  seed: { path: 'runtime.seed', type: 'int' },
  out: { path: 'runtime.outDir', type: 'string' },
  'log-level': { path: 'runtime.logLevel', type: 'string' },
  'gradient-dtype': { path: 'dist.gradientDtype', type: 'string' },
});

/** Parses one flag value into the layer; bad numbers are reported with the flag and the value. */
export function flagLayer(flags: Record<string, string | boolean | undefined>): TrainingConfigInput {
  const layer: Record<string, Record<string, unknown>> = {};
  for (const [flag, raw] of Object.entries(flags)) {
    const spec = FLAG_FIELDS[flag];
    if (!spec || raw === undefined) continue;
    let value: unknown = raw;
    if (spec.type === 'int' || spec.type === 'number') {
      value = Number(raw);
      if (raw === '' || !Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) {
        throw new JclError(
          'invalid_config',
          `--${flag} (${spec.path}): expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`,
        );
      }
    } else if (spec.type === 'bool') {
      value = raw === true || raw === 'true';
    }
    const [section, ...keys] = spec.path.split('.');
    let node = (layer[section] ??= {});
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = value;
  }
  return layer as TrainingConfigInput;
}

/** `--set a.b=c` overrides (values parsed as JSON when they parse, else strings). */
export function setLayer(assignments: readonly string[]): TrainingConfigInput {
  const layer: Record<string, Record<string, unknown>> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const path = a.slice(0, eq).split('.');
    if (eq < 0 || path.length < 2)
      throw new JclError('invalid_config', `--set: expected section.field=value, got ${JSON.stringify(a)}`);
    const raw = a.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    let node = (layer[path[0]] ??= {}) as Record<string, unknown>;
    for (const key of path.slice(1, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = value;
  }
  return layer as TrainingConfigInput;
}

export function readConfigFile(path: string): TrainingConfigInput {
  if (!existsSync(path)) throw new JclError('not_found', `--config: file not found, got ${path}`);
  const text = readFileSync(path, 'utf8');
  try {
    return (path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) ?? {};
  } catch (cause) {
    throw new JclError(
      'invalid_config',
      `--config: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`,
      { cause },
    );
  }
}

export function presetLayer(name: string | undefined): TrainingConfigInput {
  if (name === undefined || name === 'none') return {};
  const p = PRESETS[name];
  if (!p)
    throw new JclError(
      'invalid_config',
      `--preset: expected one of ${Object.keys(PRESETS).join(', ')}, none; got ${JSON.stringify(name)}`,
    );
  return p;
}

/** The configuration layers, highest priority first (README "Configuration", `jcl train --help`). */
export const CONFIG_LAYERS = Object.freeze([
  'flags (--<flag>, --set section.field=value)',
  'config file (--config FILE; JCL_CONFIG_FILE for jcl worker)',
  'environment (JCL_BACKEND -> runtime.backend, JCL_RUN_DIR -> runtime.outDir)',
  'preset (--preset; demo when neither --preset nor --config is given)',
  'image defaults (JCL_IMAGE_BACKEND -> runtime.backend, set by the worker images)',
  'schema defaults (worker/src/config/schema.ts: the paper)',
]);

type Env = Readonly<Record<string, string | undefined>>;

/** A backend named by an environment variable, checked here so that the error names the variable. */
function envBackend(env: Env, name: string): TrainingConfig['runtime']['backend'] | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!(BACKENDS as readonly string[]).includes(v))
    throw new JclError(
      'invalid_config',
      `${name} (runtime.backend): expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(v)}`,
    );
  return v as TrainingConfig['runtime']['backend'];
}

/** The image-defaults layer: what the worker image chose, below everything a user sets. */
export function imageDefaultsLayer(env: Env): TrainingConfigInput {
  const backend = envBackend(env, 'JCL_IMAGE_BACKEND');
  return backend ? { runtime: { backend } } : {};
}

/** The environment layer (JCL_BACKEND, JCL_RUN_DIR). */
export function envLayer(env: Env): TrainingConfigInput {
  const runtime: Partial<TrainingConfig['runtime']> = {};
  const backend = envBackend(env, 'JCL_BACKEND');
  if (backend) runtime.backend = backend;
  if (env.JCL_RUN_DIR) runtime.outDir = env.JCL_RUN_DIR;
  return Object.keys(runtime).length > 0 ? { runtime } : {};
}

export function resolveConfig(o: {
  preset?: string;
  configFile?: string;
  env: Env;
  flags: Record<string, string | boolean | undefined>;
  sets?: readonly string[];
  worldSize: number;
}): TrainingConfig {
  // Lowest first: mergeConfigInputs lets later layers win (CONFIG_LAYERS, reversed).
  const layers: [string, TrainingConfigInput][] = [
    ['the image defaults (JCL_IMAGE_BACKEND)', imageDefaultsLayer(o.env)],
    [`the ${o.preset} preset`, presetLayer(o.preset)],
    ['the environment', envLayer(o.env)],
    [`the config file ${o.configFile}`, o.configFile ? readConfigFile(o.configFile) : {}],
    ['the flags', flagLayer(o.flags)],
    ['--set', setLayer(o.sets ?? [])],
  ];
  try {
    return parseTrainingConfig(mergeConfigInputs(...layers.map(([, l]) => l)), { worldSize: o.worldSize });
  } catch (err) {
    throw err instanceof JclError && err.code === 'invalid_config' ? withSources(err, layers) : err;
  }
}

/**
 * Names where a rejected value came from when the user did not type it (issue 19: `--epochs 1` failed
 * on a warm-up the demo preset had set without saying so), and the flag that overrides it.
 */
function withSources(err: JclError, layers: [string, TrainingConfigInput][]): JclError {
  const explicit = new Set(['the flags', '--set']);
  const details = err.details.map((problem) => {
    const path = problem.slice(0, problem.indexOf(':'));
    const from = [...layers].reverse().find(([, l]) => valueAt(l, path) !== undefined)?.[0];
    if (from === undefined || explicit.has(from)) return problem;
    const flag = Object.entries(FLAG_FIELDS).find(([, f]) => f.path === path)?.[0];
    return `${problem} (set by ${from}; ${flag ? `--${flag}` : `--set ${path}=...`} overrides it)`;
  });
  if (details.every((d, i) => d === err.details[i])) return err;
  return new JclError('invalid_config', `invalid training configuration:\n  ${details.join('\n  ')}`, {
    details,
  });
}

function valueAt(layer: TrainingConfigInput, dotted: string): unknown {
  let node: unknown = layer;
  for (const key of dotted.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
