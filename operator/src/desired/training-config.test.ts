import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildConfigMap } from './config-map.ts';
import { buildTrainingConfig } from './training-config.ts';

describe('buildTrainingConfig', () => {
  it('maps dataset, checkpoints and the run dir into the worker config; restarts resume from the run dir', () => {
    const job = makeJob()
      .dataset({ format: 'image-folder', path: 'imagenet/train' })
      .checkpoints({ resumeFrom: 'older-job', everySteps: 50 })
      .obj();
    const first = buildTrainingConfig(job, false);
    const again = buildTrainingConfig(job, true);
    expect([
      first.data.format,
      first.data.path,
      first.checkpoint.resumeFrom,
      first.checkpoint.everySteps,
      first.runtime.outDir,
    ]).toEqual(['image-folder', '/data/imagenet/train', '/checkpoints/older-job', 50, '/checkpoints/demo']);
    expect(again.checkpoint.resumeFrom).toBe('');
    const cm = buildConfigMap(job, first, again);
    expect(JSON.parse(cm.data?.['training.json'] ?? '')).toEqual(first);
    expect(Object.keys(cm.data ?? {})).toEqual(['training.json', 'training-restart.json']);
  });

  // Issue 19: these used to be overwritten by spec.dataset / spec.checkpoints without a word.
  it.each([
    [{ data: { format: 'cifar10' } }, 'spec.training.data.format', 'spec.dataset.format'],
    [{ data: { path: '/data/cifar' } }, 'spec.training.data.path', 'spec.dataset.path'],
    [
      { checkpoint: { resumeFrom: 'x' } },
      'spec.training.checkpoint.resumeFrom',
      'spec.checkpoints.resumeFrom',
    ],
    [
      { checkpoint: { everyEpochs: 2 } },
      'spec.training.checkpoint.everyEpochs',
      'spec.checkpoints.everyEpochs',
    ],
    [{ checkpoint: { everySteps: 5 } }, 'spec.training.checkpoint.everySteps', 'spec.checkpoints.everySteps'],
    [{ checkpoint: { keepLast: 1 } }, 'spec.training.checkpoint.keepLast', 'spec.checkpoints.keepLast'],
    // Issue 18: the object-storage settings live in spec.checkpoints.uri/s3 only.
    [{ checkpoint: { uri: 's3://b/p' } }, 'spec.training.checkpoint.uri', 'spec.checkpoints.uri'],
    [{ checkpoint: { s3: { partSizeMiB: 64 } } }, 'spec.training.checkpoint.s3', 'spec.checkpoints.s3'],
    [{ runtime: { outDir: '/x' } }, 'spec.training.runtime.outDir', 'spec.checkpoints.claimName'],
  ])('refuses spec.training %j, naming %s and the field to use (%s)', (training, field, use) => {
    const job = makeJob()
      .training(training as never)
      .obj();
    expect(() => buildTrainingConfig(job, false)).toThrow(
      new RegExp(
        `${field.replaceAll('.', '\\.')}: not accepted in a JCLTrainingJob, set ${use.replaceAll('.', '\\.')}`,
      ),
    );
  });

  it.each(['float32', 'bfloat16'] as const)(
    'passes spec.training.dist.gradientDtype %s to the workers',
    (d) => {
      const job = makeJob()
        .training({ dist: { gradientDtype: d } })
        .obj();
      expect(buildTrainingConfig(job, false).dist.gradientDtype).toBe(d);
    },
  );

  it('keeps the spec.training fields nothing else owns (runtime.backend)', () => {
    const job = makeJob()
      .training({ runtime: { backend: 'cpu' }, data: { imageSize: 16 } })
      .obj();
    const cfg = buildTrainingConfig(job, false);
    expect([cfg.runtime.backend, cfg.data.imageSize, cfg.data.format]).toEqual(['cpu', 16, 'synthetic']);
  });

  it('names every invalid field with its spec path', () => {
    const job = makeJob()
      .workers(3)
      .training({ optim: { batchSize: 8 }, jcl: { queueSize: 12 } })
      .obj();
    expect(() => buildTrainingConfig(job, false)).toThrow(
      /spec\.training\.optim\.batchSize: must be divisible by the number of workers 3, got 8/,
    );
  });
});
