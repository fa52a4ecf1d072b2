import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { openResume } from './open-resume.ts';

describe('openResume', () => {
  // Issue 19: `--out` naming a file printed a raw EEXIST stack after the baseline evaluation.
  it('refuses a run directory that is a file, before anything is written', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'out-')), 'a-file');
    writeFileSync(file, 'x');
    const cfg = parseTrainingConfig({ runtime: { outDir: file } });
    await expect(openResume(cfg, file, () => {})).rejects.toThrow(
      `runtime.outDir (--out): expected a directory (new or existing), got the file ${JSON.stringify(file)}`,
    );
  });

  it('finds nothing to resume in a new directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'out-')), 'new');
    expect(await openResume(parseTrainingConfig({ runtime: { outDir: dir } }), dir, () => {})).toBeNull();
  });

  it('fails when checkpoint.resumeFrom names a place without checkpoints, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'out-'));
    const empty = mkdtempSync(join(tmpdir(), 'from-'));
    const cfg = parseTrainingConfig({ runtime: { outDir: dir }, checkpoint: { resumeFrom: empty } });
    await expect(openResume(cfg, dir, () => {})).rejects.toThrow(
      `checkpoint.resumeFrom: no checkpoint in ${empty}`,
    );
  });
});
