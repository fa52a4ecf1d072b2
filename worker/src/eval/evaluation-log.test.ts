import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvaluation, runDirOfCheckpoint } from './evaluation-log.ts';

describe('runDirOfCheckpoint', () => {
  it('is the directory itself, or the parent of checkpoints/ for a file', () => {
    const isFile = (p: string) => p.endsWith('.jclckpt');
    expect(runDirOfCheckpoint('/runs/a', isFile)).toBe('/runs/a');
    expect(runDirOfCheckpoint('/runs/a/checkpoints/ckpt-000000005.jclckpt', isFile)).toBe('/runs/a');
    expect(runDirOfCheckpoint('/tmp/x.jclckpt', isFile)).toBe('/tmp');
  });
});

describe('appendEvaluation', () => {
  it('appends one timestamped JSON line per call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evals-'));
    const t = new Date('2026-01-02T03:04:05Z');
    appendEvaluation(dir, { kind: 'knn', value: 0.5 }, t);
    const path = appendEvaluation(dir, { kind: 'linear', value: 0.6 }, t);
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { time: '2026-01-02T03:04:05.000Z', kind: 'knn', value: 0.5 },
      { time: '2026-01-02T03:04:05.000Z', kind: 'linear', value: 0.6 },
    ]);
  });
});
