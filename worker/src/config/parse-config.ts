/**
 * Turns untrusted input (file, flags, env, CRD spec) into a validated, frozen TrainingConfig.
 * Every problem is collected with its field path and the value that arrived.
 */
import { Value } from '@sinclair/typebox/value';
import { JclError } from '../util/errors.ts';
import { isS3Uri, parseS3Uri } from '../util/s3-uri.ts';
import { TrainingConfigSchema, type TrainingConfig, type TrainingConfigInput } from './schema.ts';

/** Validate and complete a config; `worldSize` is the number of data-parallel workers. */
export function parseTrainingConfig(
  input: unknown,
  opts: { worldSize?: number; fieldPrefix?: string } = {},
): TrainingConfig {
  const prefix = opts.fieldPrefix ?? '';
  const worldSize = opts.worldSize ?? 1;
  const problems: string[] = [];
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new JclError(
      'invalid_config',
      `${prefix || 'config'}: expected an object, got ${JSON.stringify(input)}`,
    );
  }
  const withDefaults = Value.Default(TrainingConfigSchema, structuredClone(input));
  for (const err of Value.Errors(TrainingConfigSchema, withDefaults)) {
    const path = prefix + err.path.replace(/^\//, '').replaceAll('/', '.');
    // A union of literals is an enum for people: name the allowed values (TypeBox says "union value").
    const allowed = literalValues(err.schema);
    const message = allowed ? `expected one of ${allowed.join(', ')}` : err.message;
    problems.push(`${path}: ${message}, got ${JSON.stringify(err.value)}`);
  }
  // Unknown keys are errors too: a typo must not silently fall back to a default.
  {
    collectUnknownKeys(TrainingConfigSchema as unknown as SchemaNode, withDefaults, prefix, problems);
  }
  if (problems.length === 0) {
    problems.push(...crossFieldProblems(withDefaults as TrainingConfig, worldSize, prefix));
  }
  if (problems.length > 0) {
    throw new JclError('invalid_config', `invalid training configuration:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const cfg = withDefaults as TrainingConfig;
  if (cfg.jcl.method === 'mocov2') {
    // MoCo v2 is JCL with one positive key and no covariance term (shared/docs/JCL.md).
    cfg.jcl.positives = 1;
    cfg.jcl.lambda = 0;
  }
  return deepFreeze(cfg);
}

/** Rules that span fields; the CRD carries the same rules as CEL (operator/src/api). */
export function crossFieldProblems(cfg: TrainingConfig, worldSize: number, prefix = ''): string[] {
  const p: string[] = [];
  const b = cfg.optim.batchSize;
  if (b % worldSize !== 0) {
    p.push(`${prefix}optim.batchSize: must be divisible by the number of workers ${worldSize}, got ${b}`);
  }
  if (cfg.jcl.queueSize % b !== 0) {
    p.push(
      `${prefix}jcl.queueSize: must be a multiple of the global batch size ${b}, got ${cfg.jcl.queueSize}`,
    );
  }
  if (cfg.data.augment.cropScaleMin > cfg.data.augment.cropScaleMax) {
    p.push(
      `${prefix}data.augment.cropScaleMin: must be <= cropScaleMax ${cfg.data.augment.cropScaleMax}, got ${cfg.data.augment.cropScaleMin}`,
    );
  }
  if (cfg.data.augment.blurSigmaMin > cfg.data.augment.blurSigmaMax) {
    p.push(
      `${prefix}data.augment.blurSigmaMin: must be <= blurSigmaMax ${cfg.data.augment.blurSigmaMax}, got ${cfg.data.augment.blurSigmaMin}`,
    );
  }
  if (cfg.data.format !== 'synthetic' && cfg.data.path === '' && cfg.data.format !== 'fashion-mnist') {
    p.push(`${prefix}data.path: required for format ${cfg.data.format}, got ""`);
  }
  const ck = cfg.checkpoint;
  for (const [field, value] of [
    ['uri', ck.uri],
    ['resumeFrom', ck.resumeFrom],
  ] as const) {
    if (value === '' || (field === 'resumeFrom' && !isS3Uri(value))) continue;
    const parsed = parseS3Uri(value);
    if ('problem' in parsed) p.push(`${prefix}checkpoint.${field}: ${parsed.problem}`);
  }
  if (ck.s3.endpoint !== '' && !/^https?:\/\/[^/\s]+\/?$/.test(ck.s3.endpoint)) {
    p.push(
      `${prefix}checkpoint.s3.endpoint: expected http(s)://host[:port], got ${JSON.stringify(ck.s3.endpoint)}`,
    );
  }
  if (cfg.optim.warmupEpochs > cfg.optim.epochs) {
    p.push(
      `${prefix}optim.warmupEpochs: must be <= epochs ${cfg.optim.epochs}, got ${cfg.optim.warmupEpochs}`,
    );
  }
  return p;
}

/** The values of a union of string literals, or undefined for any other schema. */
function literalValues(schema: unknown): string[] | undefined {
  const members = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const values = members.map((m) => m.const);
  return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
}

function collectUnknownKeys(schema: SchemaNode, value: unknown, path: string, out: string[]): void {
  if (schema.type !== 'object' || !schema.properties || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = schema.properties[key];
    const here = path + key;
    if (!sub) {
      out.push(
        `${here}: unknown field (expected one of ${Object.keys(schema.properties).join(', ')}), got ${JSON.stringify(v)}`,
      );
    } else {
      collectUnknownKeys(sub, v, here + '.', out);
    }
  }
}

/** Merge deep-partial layers left to right (later wins); used for preset < file < env < flags. */
export function mergeConfigInputs(...layers: TrainingConfigInput[]): TrainingConfigInput {
  const out: Record<string, Record<string, unknown>> = {};
  for (const layer of layers) {
    for (const [section, values] of Object.entries(layer ?? {})) {
      if (values === undefined) continue;
      const prev = out[section] ?? {};
      const merged: Record<string, unknown> = { ...prev };
      for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
        if (v === undefined) continue;
        const pv = merged[k];
        merged[k] =
          v !== null && typeof v === 'object' && !Array.isArray(v) && pv !== null && typeof pv === 'object'
            ? { ...(pv as object), ...(v as object) }
            : v;
      }
      out[section] = merged;
    }
  }
  return out as TrainingConfigInput;
}

function deepFreeze<T>(obj: T): T {
  if (obj !== null && typeof obj === 'object') {
    for (const v of Object.values(obj as object)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}
