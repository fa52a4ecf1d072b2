/**
 * The dataset path reaches the pods in the env and args as well as in the config file (JCL_DATA_PATH on
 * workers, --data-path on evaluation Jobs), like the run directory: a node that remaps mounts (the e2e
 * node harness) rewrites env and args only, and `kubectl describe pod` shows where a worker reads.
 */
import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildEvalJob } from './eval-job.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';
import { buildTrainingConfig } from './training-config.ts';
import { buildWorkerPod } from './worker-pod.ts';

const envOf = (job: ReturnType<ReturnType<typeof makeJob>['obj']>, rank: number) =>
  Object.fromEntries(
    (buildWorkerPod(job, rank, 0, opts).spec?.containers[0].env ?? []).map((e) => [e.name, e.value]),
  );
const evalArgs = (job: ReturnType<ReturnType<typeof makeJob>['obj']>) =>
  buildEvalJob(job, 0, opts).spec?.template.spec?.containers[0].args ?? [];

describe('the dataset path in env and args', () => {
  it.each([
    [
      'a relative path under the claim',
      { format: 'image-folder', claimName: 'imgs', path: 'imagenet' },
      '/data/imagenet',
    ],
    [
      'a custom mountPath',
      { format: 'image-folder', claimName: 'imgs', mountPath: '/mnt/d/', path: 'x' },
      '/mnt/d/x',
    ],
    ['an absolute path', { format: 'cifar10', path: '/datasets/cifar' }, '/datasets/cifar'],
  ] as const)('%s: every rank and every evaluation Job get %s', (_name, dataset, want) => {
    const job = makeJob().workers(2).dataset(dataset).evaluation('knn').obj();
    expect(buildTrainingConfig(job, false).data.path).toBe(want);
    expect([envOf(job, 0).JCL_DATA_PATH, envOf(job, 1).JCL_DATA_PATH]).toEqual([want, want]);
    const args = evalArgs(job);
    expect(args[args.indexOf('--data-path') + 1]).toBe(want);
  });

  it('a dataset without a path (synthetic) adds neither', () => {
    const job = makeJob().workers(2).evaluation('knn').obj();
    expect(envOf(job, 0)).not.toHaveProperty('JCL_DATA_PATH');
    expect(evalArgs(job)).not.toContain('--data-path');
  });
});
