/**
 * Summarises bench/paper-claim/run-synthetic.sh's runs as a markdown table: per variant, mean and
 * standard deviation over seeds of k-NN top-1 (end of training), linear top-1/top-5, and wall time.
 * Usage: npx tsx bench/paper-claim/summarize.ts [OUT_DIR]
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? 'runs/paper-claim';
const times = new Map<string, number>();
if (existsSync(join(out, 'times.txt'))) {
  for (const line of readFileSync(join(out, 'times.txt'), 'utf8').trim().split('\n')) {
    const m = /^(\S+) seed (\d+): (\d+) s$/.exec(line);
    if (m) times.set(`${m[1]}-seed${m[2]}`, Number(m[3]));
  }
}

interface Row {
  knnInit: number;
  knn: number;
  linear1: number;
  linear5: number;
  seconds: number;
}
const byVariant = new Map<string, Row[]>();
for (const dir of readdirSync(out).sort()) {
  const m = /^(.+)-seed(\d+)$/.exec(dir);
  const summaryPath = join(out, dir, 'summary.json');
  if (!m || !existsSync(summaryPath)) continue;
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
  const evals = existsSync(join(out, dir, 'evaluations.jsonl'))
    ? readFileSync(join(out, dir, 'evaluations.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
  const linear = evals.filter((e) => e.kind === 'linear').pop();
  if (!linear) continue;
  const rows = byVariant.get(m[1]) ?? [];
  rows.push({
    knnInit: summary.knnRandomInit?.top1 ?? NaN,
    knn: summary.knn.top1,
    linear1: linear.value,
    linear5: linear.top5,
    seconds: times.get(dir) ?? NaN,
  });
  byVariant.set(m[1], rows);
}

const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${(mean * 100).toFixed(1)} ± ${(sd * 100).toFixed(1)}`;
};
console.log(
  '| variant | seeds | k-NN top-1 % at random init | k-NN top-1 % | linear top-1 % | linear top-5 % | wall time per run (train + linear eval) |',
);
console.log('|---|---|---|---|---|---|---|');
for (const [name, rows] of byVariant) {
  const secs = rows.map((r) => r.seconds).filter(Number.isFinite);
  console.log(
    `| ${name} | ${rows.length} | ${stats(rows.map((r) => r.knnInit))} | ${stats(rows.map((r) => r.knn))} | ${stats(rows.map((r) => r.linear1))} | ${stats(rows.map((r) => r.linear5))} | ${secs.length ? Math.round(secs.reduce((a, b) => a + b, 0) / secs.length) + ' s' : '?'} |`,
  );
}
