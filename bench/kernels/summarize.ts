/**
 * Markdown tables from a bench/kernels/run-all.sh output directory:
 *
 *   npx tsx bench/kernels/summarize.ts <out-dir>
 *
 * Ratios are taken between figures of the same run. "x PyTorch" is throughput relative to PyTorch
 * (PyTorch ms / wasm ms), so 1.0 means as fast; per-step totals weight each shape by how often it
 * occurs in resnet18-cifar (the stem's input gradient is never needed).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resnet18ConvShapes } from './resnet18-ops.ts';

type Line = Record<string, unknown> & {
  backend?: string;
  shape?: string;
  kernel?: string;
  ms?: number | null;
  cpuMs?: number | null;
};

const dir = process.argv[2];
if (!dir) throw new Error('usage: summarize.ts <out-dir>');
const read = (name: string): Line[] => {
  const file = path.join(dir, `${name}.jsonl`);
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
    : [];
};
const kernels = [...read('kernels-wasm'), ...read('kernels-torch'), ...read('kernels-wasm-2t')];
const KERNELS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const;
const shapes = resnet18ConvShapes(32);
const f1 = (v: number | null | undefined) => (v == null || Number.isNaN(v) ? 'n/a' : v.toFixed(1));
const f2 = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? 'n/a' : v.toFixed(2));

function find(lines: Line[], backend: string, shape: string, kernel: string): Line | undefined {
  return lines.find((l) => l.backend === backend && l.shape === shape && l.kernel === kernel);
}

/** Per-step total of `field` for a backend (count-weighted; the stem input gradient excluded). */
function stepTotal(lines: Line[], backend: string, kernel: string, field: 'ms' | 'cpuMs'): number | null {
  let sum = 0;
  for (const s of shapes) {
    if (kernel === 'Conv2DBackpropInput' && s.name.startsWith('stem')) continue;
    const v = find(lines, backend, s.name, kernel)?.[field];
    if (v == null) return null;
    sum += s.count * v;
  }
  return sum;
}

console.log('### Per kernel, batch 32 (median ms wall; CPU ms in parentheses)\n');
console.log(
  '| shape | kernel | wasm-stock | wasm-fast | fast vs stock | wasm-fast 2 threads | PyTorch 1 thread | PyTorch 2 threads | wasm-fast x PyTorch-1t (wall / CPU) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
const cell = (l?: Line) => (l === undefined || l.ms == null ? 'missing' : `${f1(l.ms)} (${f1(l.cpuMs)})`);
for (const s of [...shapes.map((x) => x.name), 'per step']) {
  for (const k of KERNELS) {
    const columns = ['wasm-stock', 'wasm-fast', 'wasm-fast-2t', 'pytorch-1t', 'pytorch-2t'];
    const lineOf = (b: string): Line | undefined =>
      s === 'per step'
        ? { ms: stepTotal(kernels, b, k, 'ms'), cpuMs: stepTotal(kernels, b, k, 'cpuMs') }
        : find(kernels, b, s, k);
    const [stock, fast, fast2, t1, t2] = columns.map(lineOf);
    const speedup = stock?.ms != null && fast?.ms ? f1(stock.ms / fast.ms) + 'x' : 'n/a';
    const vsTorch =
      t1?.ms != null && fast?.ms
        ? `${f2(t1.ms / fast.ms)} / ${f2((t1.cpuMs ?? NaN) / (fast.cpuMs ?? NaN))}`
        : 'n/a';
    console.log(
      `| ${s} | ${k} | ${cell(stock)} | ${cell(fast)} | ${speedup} | ${cell(fast2)} | ${cell(t1)} | ${cell(t2)} | ${vsTorch} |`,
    );
  }
}

const cpu = read('kernels-cpu-b4');
if (cpu.length > 0) {
  console.log('\n### tfjs-backend-cpu vs wasm-fast, batch 4 (median ms wall; CPU ms in parentheses)\n');
  console.log('| shape | kernel | cpu | wasm-fast | wasm-fast speedup (wall / CPU) |');
  console.log('|---|---|---|---|---|');
  for (const s of [...shapes.map((x) => x.name), 'per step']) {
    for (const k of KERNELS) {
      const get = (b: string) =>
        s === 'per step'
          ? ({ ms: stepTotal(cpu, b, k, 'ms'), cpuMs: stepTotal(cpu, b, k, 'cpuMs') } as Line)
          : find(cpu, b, s, k);
      const [c, w] = [get('cpu'), get('wasm-fast')];
      const sp =
        c?.ms != null && w?.ms ? `${f1(c.ms / w.ms)}x / ${f1((c.cpuMs ?? NaN) / (w.cpuMs ?? NaN))}x` : 'n/a';
      console.log(`| ${s} | ${k} | ${cell(c)} | ${cell(w)} | ${sp} |`);
    }
  }
}

console.log('\n### Whole steps, batch 32\n');
console.log(
  '| step | runtime | step ms (wall, best of 3) | step CPU ms | images/s | x PyTorch-1t (wall / CPU) | x PyTorch-2t (wall) |',
);
console.log('|---|---|---|---|---|---|---|');
const torch = read('steps-torch');
for (const [what, wasmFiles] of [
  ['resnet18-cifar step', ['step-wasm', 'step-wasm-2t']],
  ['resnet18-cifar JCL step (keys 4)', ['jcl-wasm', 'jcl-wasm-2t']],
] as const) {
  const t = (threads: number) =>
    torch.find(
      (l) => l.what === what && l.backend === `pytorch-${threads}t` && (l.layout ?? 'NCHW') === 'NCHW',
    );
  const [t1, t2] = [t(1), t(2)];
  for (const file of wasmFiles) {
    const w = read(file)[0];
    if (!w) continue;
    const ms = w.bestMs as number;
    const cpuMs = w.bestCpuMs as number;
    const r1 = t1 ? `${f2((t1.ms as number) / ms)} / ${f2((t1.cpuMs as number) / cpuMs)}` : 'n/a';
    const r2 = t2 ? f2((t2.ms as number) / ms) : 'n/a';
    console.log(
      `| ${what} | wasm-fast, ${w.threads} thread(s) | ${f1(ms)} | ${f1(cpuMs)} | ${f2(w.imagesPerS as number)} | ${r1} | ${r2} |`,
    );
  }
  for (const tl of [t1, t2]) {
    if (tl)
      console.log(
        `| ${what} | ${tl.backend} (NCHW) | ${f1(tl.ms as number)} | ${f1(tl.cpuMs as number)} | ${f2(tl.images_per_s as number)} | | |`,
      );
  }
}
const bench = read('jcl-bench-step')[0];
if (bench)
  console.log(
    `\n\`jcl bench step\` (wasm): median ${f1(bench.medianStepMs as number)} ms, ${f2(bench.imagesPerSec as number)} images/s, tensors growth ${bench.numTensorsGrowth}.`,
  );
