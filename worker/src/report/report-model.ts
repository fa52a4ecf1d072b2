/**
 * The content of the run report, decided from the run's records: which charts with which series,
 * and which tables. Pure: RunRecords in, ReportModel out; render-html.ts turns it into a page.
 */
import type { FeatureAnalysis } from '../eval/feature-analysis.ts';
import type { RunRecords, StepRecord } from './run-records.ts';

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

export interface ChartSpec {
  id: string;
  title: string;
  kind: 'line' | 'bar';
  xLabel: string;
  yLabel: string;
  /** line: x/y points; bar: one y per category in `categories`. */
  series: Series[];
  categories?: string[];
  logY?: boolean;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface ReportModel {
  title: string;
  subtitle: string;
  charts: ChartSpec[];
  tables: Table[];
  notes: string[];
}

/** Keeps at most `max` points, evenly spaced, always the first and the last (long runs: 1e5 steps). */
export function downsample<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (max - 1))]);
  return out;
}

function stepSeries(
  steps: StepRecord[],
  label: string,
  pick: (s: StepRecord) => number,
  max: number,
): Series {
  return {
    label,
    points: downsample(steps, max)
      .map((s) => ({ x: s.globalStep, y: pick(s) }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)),
  };
}

const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '');
const num = (x: unknown) =>
  typeof x === 'number' ? Number(x.toPrecision(4)) : typeof x === 'string' ? x : '';

/** Builds the report; `maxPoints` bounds every step series. */
export function buildReportModel(r: RunRecords, maxPoints = 1500): ReportModel {
  const charts: ChartSpec[] = [];
  const tables: Table[] = [];
  const notes: string[] = [];
  const s = r.steps;
  const line = (id: string, title: string, yLabel: string, series: Series[], logY = false): ChartSpec => ({
    id,
    title,
    kind: 'line',
    xLabel: 'step',
    yLabel,
    series,
    logY,
  });
  if (s.length > 0) {
    charts.push(
      line('loss', 'Loss terms', 'loss', [
        stepSeries(s, 'loss', (x) => x.loss, maxPoints),
        stepSeries(s, 'L_cls (InfoNCE)', (x) => x.lossCls, maxPoints),
        stepSeries(s, 'L_jcl (quadratic term)', (x) => x.lossJcl, maxPoints),
      ]),
      line('contrast-acc', 'Contrast accuracy (positive logit is the largest)', 'accuracy', [
        stepSeries(s, 'contrast accuracy', (x) => x.contrastAcc, maxPoints),
      ]),
      line('lr', 'Learning rate', 'lr', [stepSeries(s, 'lr', (x) => x.lr, maxPoints)]),
      line('lambda', 'lambda (JCL ratio)', 'lambda', [stepSeries(s, 'lambda', (x) => x.lambda, maxPoints)]),
      line('throughput', 'Throughput', 'images/s', [
        stepSeries(s, 'images/s', (x) => x.imagesPerSec, maxPoints),
      ]),
    );
  } else notes.push('metrics.jsonl has no training steps.');
  if (r.knn.length > 0) {
    const baseline = (r.summary?.knnRandomInit as { top1?: number } | null | undefined)?.top1;
    const series: Series[] = [
      { label: 'k-NN top-1', points: r.knn.map((k) => ({ x: k.epoch, y: k.top1 })) },
      { label: 'k-NN top-5', points: r.knn.map((k) => ({ x: k.epoch, y: k.top5 })) },
    ];
    if (typeof baseline === 'number') {
      const xs = r.knn.map((k) => k.epoch);
      series.push({
        label: 'top-1 at random init',
        points: [
          { x: Math.min(...xs), y: baseline },
          { x: Math.max(...xs), y: baseline },
        ],
      });
    }
    charts.push({
      id: 'knn',
      title: 'k-NN accuracy over epochs',
      kind: 'line',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      series,
    });
  }
  const summary = r.summary;
  const bars = accuracyBars(r);
  if (bars.length > 0)
    charts.push({
      id: 'accuracy',
      title: 'Top-1 accuracy: random-init baseline, trained backbone, evaluations (latest of each kind)',
      kind: 'bar',
      xLabel: '',
      yLabel: 'top-1',
      categories: bars.map((b) => b.label),
      series: [{ label: 'top-1', points: bars.map((b, i) => ({ x: i, y: b.top1 })) }],
    });
  if (summary) {
    const knn = summary.knn as Record<string, unknown> | null;
    const init = summary.knnRandomInit as Record<string, unknown> | null;
    const final = (summary.final ?? {}) as Record<string, unknown>;
    const backend = (summary.backend ?? {}) as Record<string, unknown>;
    const rows: (string | number)[][] = [
      ['steps', num(summary.globalStep)],
      ['epochs', num(summary.epochs)],
      ['final loss', num(final.loss)],
      ['final contrast accuracy', pct(final.contrastAcc)],
      ['k-NN top-1 / top-5 (trained)', knn ? `${pct(knn.top1)} / ${pct(knn.top5)}` : 'n/a'],
      ['k-NN top-1 / top-5 (random init)', init ? `${pct(init.top1)} / ${pct(init.top5)}` : 'n/a'],
      ['images/s (last step)', num(summary.imagesPerSec)],
      ['backend', String(backend.name ?? '')],
    ];
    tables.push({ title: 'Summary', columns: ['', ''], rows });
  }
  if (r.evaluations.length > 0) {
    tables.push({
      title: 'Evaluations (evaluations.jsonl)',
      columns: ['time', 'kind', 'metric', 'value', 'details', 'checkpoint'],
      rows: r.evaluations.map((e) => {
        const { time, kind, metric, value, checkpoint, split, dataset, ...rest } = e;
        const details = Object.entries({ split, dataset, ...rest })
          .filter(([, v]) => v !== undefined && (typeof v !== 'object' || Array.isArray(v)))
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(num).join(',') : num(v)}`)
          .join(' ');
        return [
          String(time ?? ''),
          String(kind ?? ''),
          String(metric ?? ''),
          num(value),
          details,
          String(checkpoint ?? ''),
        ];
      }),
    });
  }
  const a = r.features?.analysis as FeatureAnalysis | undefined;
  if (a) {
    const h = a.positiveCosine.histogram;
    const bins = h.counts.length;
    const categories = h.counts.map((_, i) => (h.lo + ((i + 0.5) * (h.hi - h.lo)) / bins).toFixed(2));
    const freq = (counts: number[]) => {
      const total = counts.reduce((x, y) => x + y, 0) || 1;
      return counts.map((c, i) => ({ x: i, y: c / total }));
    };
    charts.push({
      id: 'cosine-histogram',
      title: `Cosine similarity: positive pairs vs negative pairs (${a.images} images, ${a.keys} crops each)`,
      kind: 'bar',
      xLabel: 'cosine similarity',
      yLabel: 'fraction of pairs',
      categories,
      series: [
        {
          label: `positive (${a.positiveCosine.pairs} pairs)`,
          points: freq(a.positiveCosine.histogram.counts),
        },
        {
          label: `negative (${a.negativeCosine.pairs} pairs)`,
          points: freq(a.negativeCosine.histogram.counts),
        },
      ],
    });
    charts.push({
      id: 'key-spread',
      title: 'Per-instance key spread: mean eigenvalues of Sigma',
      kind: 'bar',
      xLabel: 'eigenvalue rank',
      yLabel: 'eigenvalue',
      categories: a.keySpread.topEigenvalues.map((_, i) => `lambda_${i + 1}`),
      series: [
        { label: 'mean over instances', points: a.keySpread.topEigenvalues.map((y, i) => ({ x: i, y })) },
      ],
    });
    tables.push({
      title: 'Feature statistics (features.json)',
      columns: ['statistic', 'value'],
      rows: [
        ['alignment E||f(x) - f(x+)||^2', num(a.alignment)],
        ['uniformity log E exp(-2||f(x) - f(y)||^2)', num(a.uniformity)],
        ['positive cosine mean / median', `${num(a.positiveCosine.mean)} / ${num(a.positiveCosine.median)}`],
        ['negative cosine mean / median', `${num(a.negativeCosine.mean)} / ${num(a.negativeCosine.median)}`],
        ['trace(Sigma) mean / median', `${num(a.keySpread.trace.mean)} / ${num(a.keySpread.trace.median)}`],
        ['lambda_1 / trace (mean)', num(a.keySpread.topEigenvalueShare)],
        ['between-instance trace', num(a.keySpread.betweenInstanceTrace)],
      ],
    });
  }
  if (r.skippedLines > 0)
    notes.push(`${r.skippedLines} unreadable line(s) skipped (a torn last line after a crash).`);
  const cfg = (summary?.config ?? {}) as {
    jcl?: Record<string, unknown>;
    model?: Record<string, unknown>;
    data?: Record<string, unknown>;
  };
  const subtitle = cfg.jcl
    ? `${cfg.jcl.method} M=${cfg.jcl.positives} lambda=${cfg.jcl.lambda} tau=${cfg.jcl.temperature} K=${cfg.jcl.queueSize}; ${cfg.model?.arch} on ${cfg.data?.format}`
    : '';
  return { title: `JCL run report: ${r.runDir}`, subtitle, charts, tables, notes };
}

/**
 * The headline numbers side by side: k-NN of the backbone at random initialisation and after training
 * (summary.json), then the latest top-1 result of each evaluation kind (evaluations.jsonl).
 */
export function accuracyBars(r: RunRecords): { label: string; top1: number }[] {
  const out: { label: string; top1: number }[] = [];
  const top1 = (x: unknown) => (x as { top1?: unknown } | null | undefined)?.top1;
  const init = top1(r.summary?.knnRandomInit);
  const trained = top1(r.summary?.knn);
  if (typeof init === 'number') out.push({ label: 'k-NN, random init', top1: init });
  if (typeof trained === 'number') out.push({ label: 'k-NN, trained', top1: trained });
  const latest = new Map<string, number>();
  for (const e of r.evaluations)
    if (e.metric === 'top1' && typeof e.value === 'number') latest.set(String(e.kind), e.value);
  for (const [kind, v] of latest) out.push({ label: `eval ${kind}`, top1: v });
  return out;
}
