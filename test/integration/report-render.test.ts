/**
 * The evaluation and report commands end to end, as users run them: a tiny `jcl train`, then
 * `jcl eval linear` and `jcl eval features` on its checkpoint, then `jcl report`, and the page rendered
 * in headless Chromium, which must draw every chart (the page marks <body> after drawing, with the
 * count of canvases that hold painted pixels). Chromium is located, or installed with apt-get when the
 * test runs as root on Debian; otherwise the test fails saying what to install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../worker/src/report/render-html.ts';
import type { ReportModel } from '../../worker/src/report/report-model.ts';
import { runJcl, tinyTrainArgs } from './support/run-jcl.ts';

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function which(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** $CHROMIUM, a browser on PATH, or Debian's chromium installed now (root only). */
function locateChromium(): string {
  const fromEnv = process.env.CHROMIUM;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const c of CANDIDATES) {
    const p = which(c);
    if (p) return p;
  }
  if (process.getuid?.() === 0 && which('apt-get')) {
    const r = spawnSync(
      'sh',
      ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'],
      {
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
    const p = which('chromium');
    if (p) return p;
    throw new Error(
      `headless render test: apt-get install chromium failed (exit ${r.status}): ${r.stderr.slice(-500)}`,
    );
  }
  throw new Error(
    `headless render test: no Chromium found (tried $CHROMIUM, ${CANDIDATES.join(', ')}); install it with 'apt-get install -y chromium' or set CHROMIUM=/path/to/chrome`,
  );
}

/** The DOM after the page's scripts ran. */
function dumpDom(chromium: string, file: string): string {
  const r = spawnSync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`${chromium} --dump-dom exited ${r.status}: ${r.stderr.slice(-1000)}`);
  return r.stdout;
}

function bodyMarks(dom: string): { total: number; drawn: number; nonblank: number; ok: string } {
  const body = dom.match(/<body([^>]*)>/)?.[1] ?? '';
  const attr = (n: string) => Number(body.match(new RegExp(`${n}="(\\d+)"`))?.[1] ?? NaN);
  return {
    total: attr('data-charts-total'),
    drawn: attr('data-charts-drawn'),
    nonblank: attr('data-charts-nonblank'),
    ok: dom.match(/id="render-status" data-ok="(\w+)"/)?.[1] ?? 'missing',
  };
}

let chromium = '';
beforeAll(() => {
  chromium = locateChromium();
}, 660_000);

describe('jcl eval linear|features and jcl report', () => {
  it('evaluates a trained checkpoint, records every result and renders the report in headless Chromium', () => {
    const out = mkdtempSync(join(tmpdir(), 'report-'));
    const train = runJcl(['train', ...tinyTrainArgs(2), '--out', out]);
    expect(train.stderr).not.toMatch(/Error/);
    expect(train.code).toBe(0);
    expect(train.stdout).toContain(`report written to ${join(out, 'report.html')}`);

    const term = join(out, 'termination-log');
    const lin = runJcl(
      [
        'eval',
        'linear',
        '--checkpoint',
        out,
        '--epochs',
        '3',
        '--lr',
        '1',
        '--batch',
        '32',
        '--milestones',
        '2',
        '--cache-features',
        'true',
      ],
      { JCL_TERMINATION_LOG: term },
    );
    expect(lin.code).toBe(0);
    const linear = lastJson(lin.stdout);
    expect(linear).toMatchObject({
      kind: 'linear',
      metric: 'top1',
      split: 'test',
      dataset: 'synthetic-test',
      augmentation: 'off (cached centre-crop features)',
      epochs: 3,
      milestones: [2],
    });
    expect(JSON.parse(readFileSync(term, 'utf8'))).toEqual(linear);

    const feat = runJcl(['eval', 'features', '--checkpoint', out, '--images', '16', '--keys', '3']);
    expect(feat.code).toBe(0);
    const features = lastJson(feat.stdout);
    expect(features).toMatchObject({ kind: 'features', metric: 'alignment', images: 16, keys: 3 });
    expect(JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')).analysis.positiveCosine.pairs).toBe(
      48,
    );

    const evals = readFileSync(join(out, 'evaluations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(evals.map((e) => e.kind)).toEqual(['linear', 'features']);

    const rep = runJcl(['report', out]);
    expect(rep.code).toBe(0);
    expect(rep.stdout).toContain('report written to');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // Self-contained: no element loads anything, and the CSP forbids every fetch.
    expect(/<(script|link|img|iframe)\b[^>]*\b(src|href)=/i.test(html)).toBe(false);
    expect(html).toContain(`content="default-src 'none';`);
    const marks = bodyMarks(dumpDom(chromium, join(out, 'report.html')));
    // loss, contrast acc, lr, lambda, images/s, k-NN, accuracy bars, cosine histogram, key spread
    expect(marks).toEqual({ total: 9, drawn: 9, nonblank: 9, ok: 'true' });
  });

  it('rejects bad evaluation options (64) and a missing run directory (66), naming flag and value', () => {
    const bad = runJcl([
      'eval',
      'linear',
      '--checkpoint',
      '/nonexistent',
      '--lr',
      'fast',
      '--milestones',
      '60;80',
    ]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain(
      '--lr: expected a number > 0, got "fast"; --milestones: expected comma-separated',
    );
    const misplaced = runJcl(['eval', 'features', '--checkpoint', '/nonexistent', '--epochs', '3']);
    expect(misplaced.code).toBe(64);
    expect(misplaced.stderr).toContain(`--epochs: not an option of 'jcl eval features', got "3"`);
    const missing = runJcl(['report', '/nonexistent-run']);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('RUN_DIR: not a directory, got "/nonexistent-run"');
  });

  it('the marker reports failure when the charting library does not draw (the check can fail)', () => {
    const model: ReportModel = {
      title: 't',
      subtitle: '',
      charts: [
        {
          id: 'a',
          title: 'a',
          kind: 'line',
          xLabel: 'x',
          yLabel: 'y',
          series: [{ label: 's', points: [{ x: 1, y: 1 }] }],
        },
      ],
      tables: [],
      notes: [],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'report-broken-')), 'report.html');
    // A stand-in "Chart" that draws nothing: the canvas stays blank.
    writeFileSync(file, renderReportHtml(model, 'window.Chart = function Chart() {};', 'now'));
    expect(bodyMarks(dumpDom(chromium, file))).toEqual({ total: 1, drawn: 1, nonblank: 0, ok: 'false' });
  });
});
