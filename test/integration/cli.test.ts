/** The `jcl` command as users run it: a child process, exit codes, files in the run directory. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJcl, tinyTrainArgs } from './support/run-jcl.ts';

const tiny = tinyTrainArgs(1);

describe('jcl CLI', () => {
  it('train writes checkpoints, metrics, summary and the exported backbone; eval knn reads the checkpoint', () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-'));
    const r = runJcl(['train', ...tiny, '--out', out]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/k-NN top-1 \d+\.\d%/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.globalStep).toBe(5); // 80 images / batch 16
    expect(summary.backend.name).toBe('wasm');
    expect(summary.config.jcl.queueSize).toBe(64);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'step').map((l) => l.globalStep)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.find((l) => l.type === 'knn')).toMatchObject({ epoch: 1, k: 5 });
    expect(existsSync(join(out, 'backbone', 'model.json'))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'ckpt-000000005.jclckpt'))).toBe(true);

    const e = runJcl(['eval', 'knn', '--checkpoint', out]);
    expect(e.code).toBe(0);
    const result = JSON.parse(e.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ kind: 'knn', metric: 'top1', k: 5, split: 'test' });
    expect(result.value).toBeCloseTo(summary.knn.top1, 6); // same checkpoint, same features, same answer
  });

  // Issue 19: a re-run rewrote summary.json with nulls, --epochs went back in steps, another method or
  // model continued silently or died with a stack trace (exit 1, retried by the operator).
  it('re-runs safely: complete says so and keeps the results, more epochs continue, a mismatch exits 64 untouched', () => {
    const out = mkdtempSync(join(tmpdir(), 'rerun-'));
    expect(runJcl(['train', ...tiny, '--out', out]).code).toBe(0);
    const files = () =>
      Object.fromEntries(
        ['summary.json', 'metrics.jsonl', 'checkpoints/ckpt-000000005.jclckpt'].map((f) => [
          f,
          readFileSync(join(out, f), 'utf8'),
        ]),
      );
    const before = files();

    const again = runJcl(['train', ...tiny, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`run directory ${out} is already complete: 1 epochs, step 5.`);
    expect(again.stdout).toMatch(/k-NN top-1 \d+\.\d%/);
    expect(files()).toEqual(before);

    for (const [flag, value, field] of [
      ['--method', 'mocov2', 'jcl.method'],
      ['--model', 'resnet18-cifar', 'model.arch'],
      ['--queue', '128', 'jcl.queueSize'],
    ]) {
      const args = [...tiny, '--out', out];
      const at = args.indexOf(flag);
      if (at >= 0) args.splice(at, 2);
      const r = runJcl(['train', ...args, flag, value, '--epochs', '2']);
      expect({ flag, code: r.code }).toEqual({ flag, code: 64 });
      expect(r.stderr).toContain(`ckpt-000000005.jclckpt was trained with a different ${field}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(files()).toEqual(before);
    }
    const more = runJcl(['train', ...tinyTrainArgs(2), '--out', out]);
    expect(more.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect([summary.globalStep, summary.epochs, summary.stepsRun]).toEqual([10, 2, 5]);
    expect(summary.resumedFrom).toMatch(/ckpt-000000005\.jclckpt$/);
    expect(summary.knn).not.toBeNull();
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'step')
      .map((l) => l.globalStep);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const fewer = runJcl(['train', ...tiny, '--out', out]);
    expect(fewer.code).toBe(64);
    expect(fewer.stderr).toContain('has already trained 2 epochs, got 1');
  });

  // Issue 19: --workers 2 ended with no accuracy line, no report.html, knnRandomInit null, and the
  // two ranks reporting different k-NN top-1.
  it('train --workers 2 ends like one process: one k-NN result, the baseline, summary.json and report.html', () => {
    const out = mkdtempSync(join(tmpdir(), 'gang-'));
    const r = runJcl(['train', ...tiny, '--out', out, '--workers', '2']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const knnLines = r.stdout.split('\n').filter((l) => l.startsWith('k-NN top-1'));
    expect(knnLines).toHaveLength(1);
    expect(knnLines[0]).toMatch(/; the same backbone at random initialisation: top-1 \d+\.\d%$/);
    expect(r.stdout).toContain(`report written to ${join(out, 'report.html')}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.knnRandomInit).toMatchObject({ k: 5 });
    expect(knnLines[0]).toContain(`top-1 ${(summary.knn.top1 * 100).toFixed(1)}%`);
    const finished = r.stdout
      .split('\n')
      .filter((l) => l.includes('"worker finished"'))
      .map((l) => JSON.parse(l.replace(/^\[rank \d+\] /, '')).knnTop1);
    expect(finished).toEqual([summary.knn.top1, summary.knn.top1]);
  });

  it('prints asked-for help on stdout with exit 0 (bench, operator)', () => {
    const bench = runJcl(['bench', '--help']);
    expect([bench.code, bench.stderr]).toEqual([0, '']);
    expect(bench.stdout).toContain('usage: jcl bench step|loader|allreduce');
    const op = runJcl(['operator', '--help']);
    expect(op.code).toBe(0);
    for (const f of ['--lease-name', '--identity', '--operator-namespace', '--resync-ms'])
      expect(op.stdout).toContain(f);
  });

  it('rejects bad configuration with exit code 64, naming the field and the value', () => {
    const r = runJcl(['train', '--queue', '100', '--batch', '64']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('jcl.queueSize: must be a multiple of the global batch size 64, got 100');
    const f = runJcl(['train', '--set', 'jcl.temprature=0.1']);
    expect(f.code).toBe(64);
    expect(f.stderr).toMatch(/jcl\.temprature: unknown field/);
    const w = runJcl(['train', '--workers', 'two']);
    expect(w.stderr).toContain('--workers: expected an integer from 1 to 64, got "two"');
  });

  it('selftest passes on the bundled cases and fails (exit 70) on a corrupted copy', () => {
    const ok = runJcl(['selftest', '--backend', 'wasm', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, backend: { name: 'wasm' } });
    const cases = JSON.parse(
      readFileSync(new URL('../fixtures/jcl_loss_cases.json', import.meta.url), 'utf8'),
    );
    cases.cases[1].expected.loss *= 1.001;
    const bad = join(mkdtempSync(join(tmpdir(), 'st-')), 'cases.json');
    writeFileSync(bad, JSON.stringify(cases));
    const r = runJcl(['selftest', '--backend', 'wasm', '--cases', bad]);
    expect(r.code).toBe(70);
    expect(r.stdout).toMatch(/case seed=2 .*MISMATCH in loss/);
    expect(runJcl(['selftest', '--cases', '/nonexistent.json']).code).toBe(66);
  });
});
