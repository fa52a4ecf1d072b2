/**
 * Options of `jcl eval linear` and `jcl eval features`, from command-line strings to a typed, frozen
 * object. Pure; every problem is collected and reported with the flag and the value. Defaults are the
 * paper's linear evaluation protocol (docs/JCL.md).
 */
import { parseMilestones } from './step-lr.ts';

export interface LinearFlags {
  epochs: number;
  lr: number;
  batch: number;
  momentum: number;
  weightDecay: number;
  milestones: number[];
  gamma: number;
  cacheFeatures: boolean;
  limit: number;
  cropScaleMin: number;
  cropScaleMax: number;
  flipProb: number;
  seed: number;
}

export interface FeatureFlags {
  images: number;
  keys: number;
  bins: number;
  encoder: 'query' | 'key';
  split: 'train' | 'test';
  seed: number;
}

type Raw = Readonly<Record<string, string | boolean | undefined>>;

interface NumSpec {
  def: number;
  integer?: boolean;
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
}

function readNumbers<K extends string>(
  raw: Raw,
  specs: Record<K, NumSpec>,
  problems: string[],
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [flag, s] of Object.entries(specs) as [K, NumSpec][]) {
    const v = raw[flag];
    out[flag] = s.def;
    if (v === undefined) continue;
    const x = Number(v);
    const kind = s.integer ? 'an integer' : 'a number';
    const lo = s.min === undefined ? '' : ` ${s.exclusiveMin ? '>' : '>='} ${s.min}`;
    const hi = s.max === undefined ? '' : `${lo ? ' and' : ''} <= ${s.max}`;
    const ok =
      typeof v === 'string' &&
      v.trim() !== '' &&
      Number.isFinite(x) &&
      (!s.integer || Number.isInteger(x)) &&
      (s.min === undefined || (s.exclusiveMin ? x > s.min : x >= s.min)) &&
      (s.max === undefined || x <= s.max);
    if (ok) out[flag] = x;
    else problems.push(`--${flag}: expected ${kind}${lo}${hi}, got ${JSON.stringify(v)}`);
  }
  return out;
}

function fail(problems: string[]): void {
  if (problems.length > 0) throw new RangeError(problems.join('; '));
}

/** `jcl eval knn` flags; `k` undefined = the training config's eval.knnK. */
export function parseKnnFlags(raw: Raw): Readonly<{ k: number | undefined; limit: number }> {
  const problems: string[] = [];
  const n = readNumbers(
    raw,
    { k: { def: 0, integer: true, min: 1 }, limit: { def: 5000, integer: true, min: 1 } },
    problems,
  );
  fail(problems);
  return Object.freeze({ k: raw.k === undefined ? undefined : n.k, limit: n.limit });
}

/** `jcl eval linear` flags; the defaults are the paper's protocol. */
export function parseLinearFlags(raw: Raw): Readonly<LinearFlags> {
  const problems: string[] = [];
  const n = readNumbers(
    raw,
    {
      epochs: { def: 100, integer: true, min: 1 },
      lr: { def: 30, min: 0, exclusiveMin: true },
      batch: { def: 256, integer: true, min: 1 },
      momentum: { def: 0.9, min: 0, max: 1 },
      'weight-decay': { def: 0, min: 0 },
      gamma: { def: 0.1, min: 0, exclusiveMin: true, max: 1 },
      limit: { def: 0, integer: true, min: 0 },
      'crop-min': { def: 0.08, min: 0, exclusiveMin: true, max: 1 },
      'crop-max': { def: 1, min: 0, exclusiveMin: true, max: 1 },
      flip: { def: 0.5, min: 0, max: 1 },
      seed: { def: 0, integer: true, min: 0 },
    },
    problems,
  );
  let milestones = [60, 80];
  if (typeof raw.milestones === 'string') {
    try {
      milestones = parseMilestones(raw.milestones);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (n['crop-min'] > n['crop-max'])
    problems.push(`--crop-min: expected <= --crop-max ${n['crop-max']}, got ${n['crop-min']}`);
  fail(problems);
  return Object.freeze({
    epochs: n.epochs,
    lr: n.lr,
    batch: n.batch,
    momentum: n.momentum,
    weightDecay: n['weight-decay'],
    milestones,
    gamma: n.gamma,
    cacheFeatures: raw['cache-features'] === true,
    limit: n.limit,
    cropScaleMin: n['crop-min'],
    cropScaleMax: n['crop-max'],
    flipProb: n.flip,
    seed: n.seed,
  });
}

/** `jcl eval features` flags. */
export function parseFeatureFlags(raw: Raw): Readonly<FeatureFlags> {
  const problems: string[] = [];
  const n = readNumbers(
    raw,
    {
      images: { def: 200, integer: true, min: 2 },
      keys: { def: 5, integer: true, min: 2 },
      bins: { def: 40, integer: true, min: 1, max: 1000 },
      seed: { def: 0, integer: true, min: 0 },
    },
    problems,
  );
  const encoder = raw.encoder ?? 'key';
  if (encoder !== 'query' && encoder !== 'key')
    problems.push(`--encoder: expected query or key, got ${JSON.stringify(encoder)}`);
  const split = raw.split ?? 'test';
  if (split !== 'train' && split !== 'test')
    problems.push(`--split: expected train or test, got ${JSON.stringify(split)}`);
  fail(problems);
  return Object.freeze({
    images: n.images,
    keys: n.keys,
    bins: n.bins,
    encoder: encoder as 'query' | 'key',
    split: split as 'train' | 'test',
    seed: n.seed,
  });
}

/**
 * A boolean may arrive as `--cache-features true` (typed by hand, or from an operator older than the
 * typed params of eval-params.ts, which pass a bare `--cache-features`). Folds such pairs into the bare flag (true) or drops it (false),
 * so node's strict parseArgs accepts both spellings.
 */
export function foldBooleanFlags(argv: readonly string[], booleans: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : '';
    if (!booleans.includes(name)) {
      out.push(a);
      continue;
    }
    const inline = a.includes('=') ? a.slice(a.indexOf('=') + 1) : undefined;
    const next = inline ?? (argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i] : 'true');
    if (next === 'true') out.push(`--${name}`);
    else if (next !== 'false') out.push(a); // let parseArgs report the odd value
  }
  return out;
}
