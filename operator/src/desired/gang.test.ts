import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { planActions } from '../reconcile/plan.ts';
import { buildPodGroup, multiplyQuantity, withGangScheduling } from './gang.ts';
import { DEFAULT_BUILD_OPTIONS, type BuildOptions } from './options.ts';
import { buildWorkerPod } from './worker-pod.ts';

const OPTS: BuildOptions = DEFAULT_BUILD_OPTIONS;

const gpuJob = () =>
  makeJob('gang', 'team')
    .workers(4)
    .template({ resources: { limits: { 'nvidia.com/gpu': '2', memory: '8Gi' } } });

describe('multiplyQuantity', () => {
  it.each([
    [2, 4, 8],
    ['2', 4, '8'],
    ['8Gi', 4, '32Gi'],
    ['500m', 3, '1500m'],
    ['1.5', 4, '6'],
    ['0.25', 3, '0.75'],
    ['1e3', 2, undefined],
  ] as const)('%s × %d = %s', (q, n, want) => {
    expect(multiplyQuantity(q, n)).toBe(want);
  });
});

describe('buildPodGroup', () => {
  const rows = [
    {
      name: 'volcano: minMember defaults to workers, queue and priority, minResources for the gang',
      job: gpuJob().gang({ provider: 'volcano', queue: 'research', priorityClass: 'high' }).obj(),
      want: {
        apiVersion: 'scheduling.volcano.sh/v1beta1',
        spec: {
          minMember: 4,
          queue: 'research',
          priorityClassName: 'high',
          minResources: { 'nvidia.com/gpu': '8', memory: '32Gi' },
        },
      },
    },
    {
      name: 'coscheduling: minAvailable and scheduleTimeoutSeconds',
      job: gpuJob().gang({ provider: 'coscheduling', minAvailable: 2, scheduleTimeoutSeconds: 60 }).obj(),
      want: {
        apiVersion: 'scheduling.x-k8s.io/v1alpha1',
        spec: {
          minMember: 2,
          scheduleTimeoutSeconds: 60,
          minResources: { 'nvidia.com/gpu': '4', memory: '16Gi' },
        },
      },
    },
  ];
  it.each(rows)('$name', ({ job, want }) => {
    const pg = buildPodGroup(job) as unknown as Record<string, unknown> & {
      metadata: Record<string, unknown>;
    };
    expect(pg).toMatchObject({ kind: 'PodGroup', ...want });
    expect(pg.metadata).toMatchObject({
      name: 'gang',
      namespace: 'team',
      ownerReferences: [{ kind: 'JCLTrainingJob', name: 'gang', uid: 'uid-gang', controller: true }],
    });
  });

  it.each(['none', 'kueue'] as const)('provider %s needs no PodGroup', (provider) => {
    expect(buildPodGroup(gpuJob().gang({ provider, queue: 'q' }).obj())).toBeUndefined();
    expect(buildPodGroup(gpuJob().obj())).toBeUndefined();
  });
});

describe('worker pods of a gang', () => {
  const pod = (job: ReturnType<typeof gpuJob>, rank = 1) => buildWorkerPod(job.obj(), rank, 0, OPTS);
  const rows: { name: string; got: () => V1Pod; want: Record<string, unknown> }[] = [
    {
      name: 'volcano: schedulerName and the group annotation',
      got: () => pod(gpuJob().gang({ provider: 'volcano' })),
      want: {
        metadata: { annotations: { 'scheduling.k8s.io/group-name': 'gang' } },
        spec: { schedulerName: 'volcano' },
      },
    },
    {
      name: 'coscheduling: schedulerName (overridable) and the group label',
      got: () => pod(gpuJob().gang({ provider: 'coscheduling', schedulerName: 'my-sched' })),
      want: {
        metadata: { labels: { 'scheduling.x-k8s.io/pod-group': 'gang' } },
        spec: { schedulerName: 'my-sched' },
      },
    },
    {
      name: 'kueue: queue and group labels, total count, admission gate, priority class',
      got: () => pod(gpuJob().gang({ provider: 'kueue', queue: 'lq', priorityClass: 'batch' })),
      want: {
        metadata: {
          labels: { 'kueue.x-k8s.io/queue-name': 'lq', 'kueue.x-k8s.io/pod-group-name': 'gang' },
          annotations: { 'kueue.x-k8s.io/pod-group-total-count': '4' },
        },
        spec: { schedulingGates: [{ name: 'kueue.x-k8s.io/admission' }], priorityClassName: 'batch' },
      },
    },
  ];
  it.each(rows)('$name', ({ got, want }) => {
    expect(got()).toMatchObject(want);
  });

  it('provider none changes nothing, and template.priorityClassName wins over the policy', () => {
    const plain = buildWorkerPod(gpuJob().obj(), 0, 0, OPTS);
    expect(plain.spec?.schedulerName).toBeUndefined();
    expect(plain.spec?.schedulingGates).toBeUndefined();
    expect(withGangScheduling(gpuJob().obj(), plain)).toBe(plain);
    const own = pod(
      gpuJob()
        .template({ priorityClassName: 'mine' })
        .gang({ provider: 'kueue', queue: 'q', priorityClass: 'p' }),
    );
    expect(own.spec?.priorityClassName).toBe('mine');
  });
});

describe('planActions and the PodGroup', () => {
  const plan = (job: ReturnType<typeof gpuJob>, pods: V1Pod[], restartGeneration = 0) =>
    planActions({
      job: job.obj(),
      status: { phase: restartGeneration > 0 ? 'Restarting' : 'Pending', restartGeneration },
      workerPods: pods,
      evalJobNames: new Set(),
      now: new Date('2026-01-01T00:00:00Z'),
      opts: OPTS,
      pollIntervalMs: 1000,
    }).actions;
  const podGroupActions = (actions: ReturnType<typeof plan>) =>
    actions.filter((a) => a.kind === 'ensure' && a.what === 'podGroup');

  it('ensures the PodGroup with the gang, and again (never deletes it) through a gang restart', () => {
    const job = gpuJob().gang({ provider: 'volcano' });
    expect(podGroupActions(plan(job, []))).toHaveLength(1);
    const restart = plan(job, [makePod('gang', 0).failed(1).obj()], 1);
    expect(restart.some((a) => a.kind === 'deletePod')).toBe(true);
    expect(podGroupActions(restart)).toHaveLength(1);
    expect(restart.some((a) => a.kind === 'deleteJob')).toBe(false);
  });

  it('ensures no PodGroup without a PodGroup provider', () => {
    expect(podGroupActions(plan(gpuJob(), []))).toEqual([]);
    expect(podGroupActions(plan(gpuJob().gang({ provider: 'kueue', queue: 'q' }), []))).toEqual([]);
  });
});
