/**
 * Predicted scaling efficiency of data-parallel JCL training (docs/SCALING.md) from our own figures:
 * the gradient elements of each backward segment come from the model code (worker/src/model), each
 * segment's share of the backward compute from its multiply-adds (conv shapes at their resolutions), the
 * rest from inputs.json (the measured bus efficiency, the bfloat16 conversion cost, the compute reference).
 *
 *   npx tsx scripts/scaling/predict-scaling.ts [inputs.json]      # prints the markdown tables
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../worker/src/backend/select-backend.ts';
import { parseTrainingConfig } from '../../worker/src/config/parse-config.ts';
import type { ModelArch } from '../../worker/src/config/schema.ts';
import { buildEncoder } from '../../worker/src/model/encoder.ts';
import { predictStep, type Exchange, type Segment } from './scaling-model.ts';

interface Inputs {
  model: ModelArch;
  imageSize: number;
  computeReference: { imagesPerSecond: number; batchPerWorker: number };
  backwardShareOfStep: number;
  busEfficiency: { measured: number; aim: number };
  hopLatencyUs: number;
  bf16ConvertNsPerElement: number;
}

/** Backward segments in the order backward produces them: head, layer4 .. layer1 (with the stem). */
const SEGMENTS = ['head', 'layer4', 'layer3', 'layer2', 'layer1'] as const;

function segmentOf(param: string): (typeof SEGMENTS)[number] {
  const top = param.split('.')[0];
  return (SEGMENTS as readonly string[]).includes(top) ? (top as (typeof SEGMENTS)[number]) : 'layer1';
}

/**
 * Multiply-adds of a weight at its output resolution: layerK runs at imageSize / 2^(K+1) except the first
 * block's conv1, which still sees the previous stage's resolution (torchvision v1.5 strides the 3x3).
 */
function macs(name: string, shape: number[], imageSize: number): number {
  const weights = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 4) return name.startsWith('head') && name.endsWith('weight') ? weights : 0;
  const m = /^layer(\d)\.(\d+)\.(\w+)/.exec(name);
  let side = imageSize / 2; // the stem
  if (m) {
    const k = Number(m[1]);
    side = imageSize / 2 ** (k + 1);
    if (k > 1 && m[2] === '0' && m[3] === 'conv1') side *= 2;
  }
  return weights * side * side;
}

export async function segmentsOf(inp: Inputs, backwardMs: number): Promise<Segment[]> {
  await initBackend('cpu');
  const cfg = parseTrainingConfig({ model: { arch: inp.model } }, { worldSize: 1 });
  const enc = buildEncoder(cfg.model, 3, 0);
  const elements = new Map<string, number>();
  const work = new Map<string, number>();
  for (const p of enc.params.trainable()) {
    const s = segmentOf(p.name);
    elements.set(s, (elements.get(s) ?? 0) + p.variable.size);
    work.set(s, (work.get(s) ?? 0) + macs(p.name, p.variable.shape, inp.imageSize));
  }
  const total = [...work.values()].reduce((a, b) => a + b, 0);
  return SEGMENTS.map((name) => ({
    name,
    elements: elements.get(name) ?? 0,
    backwardMs: (backwardMs * (work.get(name) ?? 0)) / total,
  }));
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

async function main(): Promise<void> {
  const path = process.argv[2] ?? fileURLToPath(new URL('./inputs.json', import.meta.url));
  const inp = JSON.parse(readFileSync(path, 'utf8')) as Inputs;
  const stepMs = (1000 * inp.computeReference.batchPerWorker) / inp.computeReference.imagesPerSecond;
  const backwardMs = stepMs * inp.backwardShareOfStep;
  const segments = await segmentsOf(inp, backwardMs);
  const elems = segments.reduce((a, s) => a + s.elements, 0);
  const out: string[] = [];
  out.push(
    `${inp.model}: ${(elems / 1e6).toFixed(2)}M gradient elements (${((elems * 4) / 1e6).toFixed(0)} MB float32); ` +
      `step ${stepMs.toFixed(1)} ms of compute per worker, ${backwardMs.toFixed(1)} ms of it backward\n`,
  );
  out.push('| segment (backward order) | gradient elements | backward ms |', '|---|---|---|');
  for (const s of segments)
    out.push(`| ${s.name} | ${(s.elements / 1e6).toFixed(2)}M | ${s.backwardMs.toFixed(1)} |`);
  const variants: [string, Exchange][] = [
    ['float32, sequential', { bytesPerElement: 4, convertNsPerElement: 0, overlap: false }],
    ['float32, overlap', { bytesPerElement: 4, convertNsPerElement: 0, overlap: true }],
    [
      'bfloat16, sequential',
      { bytesPerElement: 2, convertNsPerElement: inp.bf16ConvertNsPerElement, overlap: false },
    ],
    [
      'bfloat16, overlap',
      { bytesPerElement: 2, convertNsPerElement: inp.bf16ConvertNsPerElement, overlap: true },
    ],
  ];
  for (const [label, eff] of [
    ['measured bus efficiency', inp.busEfficiency.measured],
    ['aimed bus efficiency', inp.busEfficiency.aim],
  ] as const) {
    out.push('', `Scaling efficiency at the ${label} ${eff} (hop latency ${inp.hopLatencyUs} us):`, '');
    const cols: [number, number][] = [];
    for (const n of [8, 16, 64]) for (const g of [25, 100, 400]) cols.push([n, g]);
    out.push(`| exchange | ${cols.map(([n, g]) => `${n} @ ${g} Gb/s`).join(' | ')} |`);
    out.push(`|---|${cols.map(() => '---').join('|')}|`);
    for (const [name, x] of variants) {
      const cells = cols.map(([n, g]) => {
        const net = { workers: n, linkGbps: g, busEfficiency: eff, hopLatencyUs: inp.hopLatencyUs };
        return pct(predictStep(stepMs - backwardMs, segments, net, x).efficiency);
      });
      out.push(`| ${name} | ${cells.join(' | ')} |`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
