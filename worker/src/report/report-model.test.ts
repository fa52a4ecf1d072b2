import { describe, expect, it } from 'vitest';
import { buildReportModel, downsample } from './report-model.ts';
import { parseJsonLines, splitMetrics, type RunRecords } from './run-records.ts';

const step = (globalStep: number) => ({
  type: 'step',
  globalStep,
  epoch: 0,
  loss: 3 - globalStep / 10,
  lossCls: 2,
  lossJcl: 1 - globalStep / 10,
  contrastAcc: globalStep / 10,
  lr: 0.06,
  lambda: 4,
  imagesPerSec: 100 + globalStep,
});

function records(over: Partial<RunRecords> = {}): RunRecords {
  const metrics = parseJsonLines(
    [1, 2, 3].map((s) => JSON.stringify(step(s))).join('\n') +
      '\n' +
      JSON.stringify({ type: 'knn', epoch: 1, top1: 0.4, top5: 0.9, k: 5 }) +
      '\n{"type":"step","globalStep":4,"lo', // torn last line of a killed run
  );
  return {
    runDir: '/runs/x',
    ...splitMetrics(metrics.records),
    evaluations: [],
    summary: { knnRandomInit: { top1: 0.3, top5: 0.8 }, knn: { top1: 0.4, top5: 0.9 }, globalStep: 3 },
    features: null,
    skippedLines: metrics.skipped,
    ...over,
  };
}

describe('parseJsonLines', () => {
  it('keeps objects and counts blank-free unparsable lines', () => {
    expect(parseJsonLines('{"a":1}\n\n[1]\nnot json\n{"b":2}\n')).toEqual({
      records: [{ a: 1 }, { b: 2 }],
      skipped: 2,
    });
  });
});

describe('downsample', () => {
  it('keeps first and last and at most max points', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const d = downsample(xs, 11);
    expect(d).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(downsample([1, 2], 5)).toEqual([1, 2]);
  });
});

describe('buildReportModel', () => {
  it('plots the loss terms, contrast accuracy, lr, lambda, images/s and k-NN with the random-init baseline', () => {
    const m = buildReportModel(records());
    expect(m.charts.map((c) => c.id)).toEqual([
      'loss',
      'contrast-acc',
      'lr',
      'lambda',
      'throughput',
      'knn',
      'accuracy',
    ]);
    expect(m.charts[0].series.map((s) => s.label)).toEqual([
      'loss',
      'L_cls (InfoNCE)',
      'L_jcl (quadratic term)',
    ]);
    expect(m.charts[0].series[2].points).toEqual([
      { x: 1, y: 0.9 },
      { x: 2, y: 0.8 },
      { x: 3, y: expect.closeTo(0.7, 12) },
    ]);
    expect(m.charts[5].series).toEqual([
      { label: 'k-NN top-1', points: [{ x: 1, y: 0.4 }] },
      { label: 'k-NN top-5', points: [{ x: 1, y: 0.9 }] },
      {
        label: 'top-1 at random init',
        points: [
          { x: 1, y: 0.3 },
          { x: 1, y: 0.3 },
        ],
      },
    ]);
    expect(m.tables[0].rows).toContainEqual(['k-NN top-1 / top-5 (random init)', '30.0% / 80.0%']);
    expect(m.notes).toEqual(['1 unreadable line(s) skipped (a torn last line after a crash).']);
  });

  it('bounds long runs to maxPoints per series', () => {
    const steps = Array.from({ length: 5000 }, (_, i) => step(i + 1)) as unknown as RunRecords['steps'];
    const m = buildReportModel(records({ steps }), 100);
    expect(m.charts[0].series[0].points).toHaveLength(100);
    expect(m.charts[0].series[0].points.at(-1)!.x).toBe(5000);
  });

  it('adds evaluations and feature statistics when present', () => {
    const histogram = (counts: number[]) => ({ lo: -1, hi: 1, counts });
    const analysis = {
      images: 4,
      keys: 3,
      embedDim: 8,
      alignment: 0.5,
      uniformity: -2,
      positiveCosine: {
        mean: 0.8,
        median: 0.8,
        min: 0.5,
        max: 1,
        pairs: 12,
        histogram: histogram([0, 0, 2, 10]),
      },
      negativeCosine: {
        mean: 0.1,
        median: 0.1,
        min: -0.5,
        max: 0.6,
        pairs: 18,
        histogram: histogram([3, 6, 6, 3]),
      },
      keySpread: {
        trace: { mean: 0.2, median: 0.2, min: 0.1, max: 0.3 },
        topEigenvalues: [0.15, 0.05, 0],
        topEigenvalueShare: 0.75,
        betweenInstanceTrace: 0.6,
      },
    };
    const m = buildReportModel(
      records({
        evaluations: [
          {
            time: 't',
            kind: 'linear',
            metric: 'top1',
            value: 0.5,
            top5: 0.9,
            milestones: [60, 80],
            checkpoint: 'c',
          },
        ],
        features: { analysis },
      }),
    );
    const acc = m.charts.find((c) => c.id === 'accuracy')!;
    expect(acc.categories).toEqual(['k-NN, random init', 'k-NN, trained', 'eval linear']);
    expect(acc.series[0].points.map((p) => p.y)).toEqual([0.3, 0.4, 0.5]);
    const hist = m.charts.find((c) => c.id === 'cosine-histogram')!;
    expect(hist.categories).toEqual(['-0.75', '-0.25', '0.25', '0.75']);
    expect(hist.series[0].points.map((p) => p.y)).toEqual([0, 0, 2 / 12, 10 / 12]);
    expect(hist.series[1].points.map((p) => p.y)).toEqual([3 / 18, 6 / 18, 6 / 18, 3 / 18]);
    expect(m.charts.find((c) => c.id === 'key-spread')!.categories).toEqual([
      'lambda_1',
      'lambda_2',
      'lambda_3',
    ]);
    const evals = m.tables.find((t) => t.title.startsWith('Evaluations'))!;
    expect(evals.rows).toEqual([['t', 'linear', 'top1', 0.5, 'top5=0.9 milestones=60,80', 'c']]);
    expect(m.tables.find((t) => t.title.startsWith('Feature statistics'))!.rows[0]).toEqual([
      'alignment E||f(x) - f(x+)||^2',
      0.5,
    ]);
  });

  it('says so when there are no steps', () => {
    const m = buildReportModel({ ...records(), steps: [], knn: [], summary: null, skippedLines: 0 });
    expect(m).toMatchObject({ charts: [], tables: [], notes: ['metrics.jsonl has no training steps.'] });
  });
});
