/**
 * Processes per worker pod (spec.template.procsPerWorker) with the real runtime: 2 pods × 2 `jcl worker`
 * processes = a world of 4 ranks, contiguous per pod (CUDA_VISIBLE_DEVICES per process: the unit test),
 * train to completion; rank 0's progress is polled as usual. (Per-process exit codes and termination
 * messages: worker/src/distributed/pod-processes.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { readIfExists } from '../harness/e2e-context.ts';
import { Jobs } from '../../operator/src/testing/e2e-kit.ts';
import { diagnosePods, tinyJobSpec, useTrainingEnvironment } from './support/training-env.ts';

const env = useTrainingEnvironment('jcl-procs', { pollIntervalMs: 500 });

const spec = () => tinyJobSpec({}, { template: { procsPerWorker: 2 } });

describe('procsPerWorker', () => {
  it('trains a job with 2 pods × 2 processes (world size 4), ranks contiguous per pod', async () => {
    const jobs = new Jobs(env.plane.kubeConfig, env.ns);
    await jobs.create('procs', spec());
    const diagnose = diagnosePods(env, ['procs-worker-0', 'procs-worker-1']);
    const done = await jobs.waitFor(
      'procs',
      'finished',
      (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''),
      840_000,
      diagnose,
    );
    expect(done.status?.phase, diagnose()).toBe('Succeeded');
    expect(done.status?.restarts).toBe(0);
    expect(done.status?.progress?.step).toBeGreaterThanOrEqual(3);
    // Both processes of each pod logged, with the contiguous global ranks of that pod.
    const ranksIn = (pod: string) => {
      const text =
        readIfExists(env.node.podLogFiles(env.ns, pod).stdout) +
        readIfExists(env.node.podLogFiles(env.ns, pod).stderr);
      return [...new Set([...text.matchAll(/"rank":(\d+)/g)].map((m) => Number(m[1])))].sort();
    };
    expect(ranksIn('procs-worker-0')).toEqual([0, 1]);
    expect(ranksIn('procs-worker-1')).toEqual([2, 3]);
  }, 900_000);
});
