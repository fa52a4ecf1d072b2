import { describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../config/parse-config.ts';
import type { TrainingConfigInput } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import { decideResume, INCOMPATIBLE_FIELDS } from './resume-check.ts';

const base: TrainingConfigInput = {
  model: { arch: 'resnet-tiny', embedDim: 32 },
  jcl: { positives: 3, queueSize: 512 },
  optim: { batchSize: 64, epochs: 15 },
};
const cfg = (over: TrainingConfigInput = {}) =>
  parseTrainingConfig({
    ...base,
    ...Object.fromEntries(
      Object.entries(over).map(([k, v]) => [k, { ...(base as Record<string, object>)[k], ...v }]),
    ),
  });
const finished = { epoch: 15, stepInEpoch: 0, globalStep: 225 };
const midway = { epoch: 5, stepInEpoch: 3, globalStep: 78 };
const saved = cfg();

const refusal = (fn: () => unknown): JclError => {
  try {
    fn();
  } catch (err) {
    return err as JclError;
  }
  throw new Error('expected a refusal');
};

describe('decideResume', () => {
  // Issue 19: --method jcl on a MoCo v2 run continued silently; another --model died with a stack trace.
  it.each([
    [{ model: { arch: 'resnet18-cifar' } }, 'model.arch: checkpoint "resnet-tiny", got "resnet18-cifar"'],
    [{ model: { embedDim: 64 } }, 'model.embedDim: checkpoint 32, got 64'],
    [{ model: { headHidden: 16 } }, 'model.headHidden: checkpoint 0, got 16'],
    [{ model: { headBatchNorm: true } }, 'model.headBatchNorm: checkpoint false, got true'],
    [{ jcl: { method: 'mocov2' } }, 'jcl.method: checkpoint "jcl", got "mocov2"'],
    [{ jcl: { positives: 5 } }, 'jcl.positives: checkpoint 3, got 5'],
    [{ jcl: { queueSize: 1024 } }, 'jcl.queueSize: checkpoint 512, got 1024'],
    [{ optim: { batchSize: 128 } }, 'optim.batchSize: checkpoint 64, got 128'],
    [{ optim: { stepsPerEpoch: 4 } }, 'optim.stepsPerEpoch: checkpoint 0, got 4'],
  ] as [TrainingConfigInput, string][])('refuses %j: %s (exit 64, permanent)', (over, says) => {
    const err = refusal(() => decideResume(saved, midway, cfg(over), 'runs/x/ckpt-78'));
    expect([err.code, err.exitCode]).toEqual(['resume_mismatch', 64]);
    expect(err.message).toContain(says);
    expect(err.message).toMatch(/^runs\/x\/ckpt-78 was trained with a different/);
    expect(err.message).toContain('Nothing was changed');
  });

  it('covers every field the issue names as incompatible', () => {
    for (const f of ['model.arch', 'jcl.method', 'model.embedDim', 'jcl.queueSize', 'jcl.positives'])
      expect(INCOMPATIBLE_FIELDS).toContain(f);
  });

  it('says complete when the checkpoint is at the requested epochs, with no changes', () => {
    expect(decideResume(saved, finished, cfg(), 'c')).toEqual({ kind: 'complete', changes: [] });
  });

  it('continues a finished run asked for more epochs, listing what changed', () => {
    expect(decideResume(saved, finished, cfg({ optim: { epochs: 20, lr: 0.03 } }), 'c')).toEqual({
      kind: 'continue',
      changes: ['optim.epochs: 15 -> 20', 'optim.lr: 0.06 -> 0.03'],
    });
  });

  it('ignores where the run lives and how it logs', () => {
    const moved = cfg({ runtime: { outDir: '/elsewhere', logLevel: 'debug' } });
    expect(decideResume(saved, midway, moved, 'c')).toEqual({ kind: 'continue', changes: [] });
  });

  // Issue 19: --epochs 2 on a finished 15-epoch run went back to step 30.
  it('refuses fewer epochs than the checkpoint has trained', () => {
    const err = refusal(() => decideResume(saved, finished, cfg({ optim: { epochs: 2 } }), 'runs/demo/c'));
    expect([err.code, err.exitCode]).toEqual(['resume_mismatch', 64]);
    expect(err.message).toBe(
      'optim.epochs: runs/demo/c has already trained 15 epochs, got 2. Nothing was changed; ask for 15 ' +
        '(the finished run) or more epochs, or train into a new run directory (--out DIR).',
    );
  });
});
