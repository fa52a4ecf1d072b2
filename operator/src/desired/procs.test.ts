import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { DEFAULT_BUILD_OPTIONS } from './options.ts';
import { buildTrainingConfig } from './training-config.ts';
import { buildWorkerPod } from './worker-pod.ts';

const envOf = (procs: number | undefined, pod: number) => {
  const job = makeJob()
    .workers(3)
    .template(procs ? { procsPerWorker: procs } : {})
    .training({ optim: { batchSize: 24 } });
  const env = buildWorkerPod(job.obj(), pod, 0, DEFAULT_BUILD_OPTIONS).spec?.containers[0].env ?? [];
  return Object.fromEntries(
    env
      .filter(
        (e) =>
          e.name.startsWith('JCL_RANK') || e.name === 'JCL_WORLD_SIZE' || e.name === 'JCL_PROCS_PER_WORKER',
      )
      .map((e) => [e.name, e.value]),
  );
};

describe('procsPerWorker', () => {
  it.each([
    { procs: undefined, pod: 2, want: { JCL_RANK: '2', JCL_WORLD_SIZE: '3' } },
    { procs: 1, pod: 2, want: { JCL_RANK: '2', JCL_WORLD_SIZE: '3' } },
    { procs: 4, pod: 0, want: { JCL_RANK: '0', JCL_WORLD_SIZE: '12', JCL_PROCS_PER_WORKER: '4' } },
    { procs: 4, pod: 2, want: { JCL_RANK: '8', JCL_WORLD_SIZE: '12', JCL_PROCS_PER_WORKER: '4' } },
  ])('pod $pod with procsPerWorker $procs: first rank and world size', ({ procs, pod, want }) => {
    expect(envOf(procs, pod)).toEqual(want);
  });

  it('validates the training config against the whole world size', () => {
    const job = makeJob()
      .workers(2)
      .template({ procsPerWorker: 3 })
      .training({ optim: { batchSize: 8 } });
    expect(() => buildTrainingConfig(job.obj(), false)).toThrow(/batchSize/);
    const ok = makeJob()
      .workers(2)
      .template({ procsPerWorker: 2 })
      .training({ optim: { batchSize: 8 } });
    expect(() => buildTrainingConfig(ok.obj(), false)).not.toThrow();
  });
});
