import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunRecords } from './run-records.ts';

describe('readRunRecords', () => {
  it('reads whichever files exist and splits metrics into steps and k-NN', () => {
    const dir = mkdtempSync(join(tmpdir(), 'records-'));
    writeFileSync(
      join(dir, 'metrics.jsonl'),
      '{"type":"step","globalStep":1,"loss":2}\n{"type":"knn","epoch":1,"top1":0.5,"top5":0.9}\n{"type":"st',
    );
    writeFileSync(join(dir, 'summary.json'), '{"globalStep":1}');
    expect(readRunRecords(dir)).toEqual({
      runDir: dir,
      steps: [{ type: 'step', globalStep: 1, loss: 2 }],
      knn: [{ type: 'knn', epoch: 1, top1: 0.5, top5: 0.9 }],
      evaluations: [],
      summary: { globalStep: 1 },
      features: null,
      skippedLines: 1,
    });
  });

  it('names the file when a JSON document is corrupt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'records-'));
    writeFileSync(join(dir, 'features.json'), '{"analysis":');
    expect(() => readRunRecords(dir)).toThrow(`${join(dir, 'features.json')}: not valid JSON`);
  });
});
