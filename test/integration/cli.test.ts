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
