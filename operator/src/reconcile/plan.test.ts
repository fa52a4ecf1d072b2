import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { DEFAULT_BUILD_OPTIONS } from '../desired/options.ts';
import type { JCLTrainingJob, JobStatus } from '../api/status-schema.ts';
import { planActions, type Action } from './plan.ts';

const NOW = new Date('2026-01-01T00:10:00Z');
const describeAction = (a: Action): string =>
  a.kind === 'create'
    ? `create ${a.object.kind} ${a.object.metadata?.name}`
    : a.kind === 'ensure'
      ? `ensure ${a.what}`
      : a.kind === 'deletePod'
        ? `delete ${a.name}${a.annotateFirst ? ` after annotating ${JSON.stringify(a.annotateFirst)}` : ''}`
        : a.kind === 'annotatePod'
          ? `annotate ${a.name} ${JSON.stringify(a.annotations)}`
          : 'delete job';
const plan = (job: JCLTrainingJob, status: JobStatus, pods: V1Pod[], evalJobNames: string[] = []) => {
  const p = planActions({
    job,
    status,
    workerPods: pods,
    evalJobNames: new Set(evalJobNames),
    now: NOW,
    opts: DEFAULT_BUILD_OPTIONS,
    pollIntervalMs: 10_000,
  });
  return { actions: p.actions.map(describeAction), requeueAfterMs: p.requeueAfterMs };
};
const ENSURE = ['ensure service', 'ensure secret', 'ensure networkPolicy'];
const kueueJob = makeJob().workers(3).gang({ provider: 'kueue', queue: 'gpu' }).obj();
const OVER = JSON.stringify({ 'kueue.x-k8s.io/retriable-in-group': 'false' });

describe('planActions', () => {
  it.each([
    {
      name: 'a pending job gets its support objects and the missing ranks',
      job: makeJob().workers(2).obj(),
      status: { phase: 'Pending' },
      pods: [makePod('demo', 0).obj()],
      want: { actions: [...ENSURE, 'create Pod demo-worker-1'], requeueAfterMs: undefined },
    },
    {
      name: 'a gang restart deletes the old generation and creates nothing yet',
      job: makeJob().workers(2).obj(),
      status: { phase: 'Restarting', restartGeneration: 1 },
      pods: [makePod('demo', 0).running().obj(), makePod('demo', 1).failed(75).obj()],
      want: {
        actions: [...ENSURE, 'delete demo-worker-0', 'delete demo-worker-1'],
        requeueAfterMs: undefined,
      },
    },
    {
      name: 'a running job is polled and comes back before its deadline',
      job: makeJob().activeDeadlineSeconds(630).obj(),
      status: { phase: 'Running', startTime: '2026-01-01T00:00:00Z' },
      pods: [makePod('demo', 0).running().obj()],
      want: { actions: ENSURE, requeueAfterMs: 10_000 },
    },
    {
      name: 'suspended: every worker goes',
      job: makeJob().suspend().obj(),
      status: { phase: 'Suspended' },
      pods: [makePod('demo', 0).running().obj()],
      want: { actions: [...ENSURE, 'delete demo-worker-0'], requeueAfterMs: undefined },
    },
    {
      name: 'failed with cleanPodPolicy Running: only the unfinished pods go',
      job: makeJob().workers(2).obj(),
      status: { phase: 'Failed', completionTime: '2026-01-01T00:09:00Z' },
      pods: [makePod('demo', 0).running().obj(), makePod('demo', 1).failed(64).obj()],
      want: { actions: ['delete demo-worker-0'], requeueAfterMs: undefined },
    },
    {
      name: 'failed with cleanPodPolicy None keeps everything; TTL comes due later',
      job: makeJob().cleanPodPolicy('None').ttlSecondsAfterFinished(120).obj(),
      status: { phase: 'Failed', completionTime: '2026-01-01T00:09:00Z' },
      pods: [makePod('demo', 0).running().obj()],
      want: { actions: [], requeueAfterMs: 60_000 },
    },
    {
      name: 'succeeded: the missing evaluation Jobs are created, TTL waits for them',
      job: makeJob().evaluation('knn').evaluation('linear').ttlSecondsAfterFinished(0).obj(),
      status: {
        phase: 'Succeeded',
        completionTime: '2026-01-01T00:09:00Z',
        evaluation: { results: [{ kind: 'knn', phase: 'Running', jobName: 'demo-eval-0' }] },
      },
      pods: [makePod('demo', 0).succeeded().obj()],
      evalJobs: ['demo-eval-0'],
      want: { actions: ['create Job demo-eval-1'], requeueAfterMs: undefined },
    },
    {
      name: 'succeeded and evaluated: deleted once the TTL after the last follow-up passed',
      job: makeJob().evaluation('knn').ttlSecondsAfterFinished(60).obj(),
      status: {
        phase: 'Succeeded',
        completionTime: '2026-01-01T00:01:00Z',
        evaluation: {
          results: [
            {
              kind: 'knn',
              phase: 'Succeeded',
              jobName: 'demo-eval-0',
              completionTime: '2026-01-01T00:08:00Z',
            },
          ],
        },
      },
      pods: [],
      evalJobs: ['demo-eval-0'],
      want: { actions: ['delete job'], requeueAfterMs: undefined },
    },
    // Kueue keeps waiting for replacement pods of a pod group with failed or deleted members: a finished
    // job's group is marked over on every pod (once), so its Workload stops heading the queue.
    {
      name: 'failed under Kueue: running pods are annotated, then deleted; terminated and terminating ones annotated',
      job: kueueJob,
      status: { phase: 'Failed', completionTime: '2026-01-01T00:09:00Z' },
      pods: [
        makePod('demo', 0).running().obj(),
        makePod('demo', 1).failed(64).obj(),
        makePod('demo', 2).terminating().obj(),
      ],
      want: {
        actions: [
          `delete demo-worker-0 after annotating ${OVER}`,
          `annotate demo-worker-1 ${OVER}`,
          `annotate demo-worker-2 ${OVER}`,
        ],
        requeueAfterMs: undefined,
      },
    },
    {
      name: 'failed under Kueue, pods already annotated: nothing more',
      job: kueueJob,
      status: { phase: 'Failed', completionTime: '2026-01-01T00:09:00Z' },
      pods: [makePod('demo', 0).failed(64).annotate(JSON.parse(OVER)).obj()],
      want: { actions: [], requeueAfterMs: undefined },
    },
    {
      name: 'succeeded under Kueue with every pod succeeded: Kueue finishes the group itself',
      job: kueueJob,
      status: { phase: 'Succeeded', completionTime: '2026-01-01T00:09:00Z' },
      pods: [makePod('demo', 0).succeeded().obj(), makePod('demo', 1).succeeded().obj()],
      want: { actions: [], requeueAfterMs: undefined },
    },
    {
      name: 'a gang restart under Kueue ends the old generation for Kueue before deleting it',
      job: kueueJob,
      status: { phase: 'Restarting', restartGeneration: 1 },
      pods: [makePod('demo', 0).running().obj(), makePod('demo', 1).failed(75).obj()],
      want: {
        actions: [
          ...ENSURE,
          `delete demo-worker-0 after annotating ${OVER}`,
          `delete demo-worker-1 after annotating ${OVER}`,
        ],
        requeueAfterMs: undefined,
      },
    },
    {
      name: 'suspended under Kueue: the workers go, marked over',
      job: kueueJob,
      status: { phase: 'Suspended' },
      pods: [makePod('demo', 0).running().obj(), makePod('demo', 1).terminating().obj()],
      want: {
        actions: [
          ...ENSURE,
          `delete demo-worker-0 after annotating ${OVER}`,
          `annotate demo-worker-1 ${OVER}`,
        ],
        requeueAfterMs: undefined,
      },
    },
    {
      name: 'running under Kueue, a worker deleted by someone else: its generation is marked over',
      job: kueueJob,
      status: { phase: 'Running' },
      pods: [
        makePod('demo', 0).running().obj(),
        makePod('demo', 1).running().terminating().obj(),
        makePod('demo', 2).running().terminating().annotate(JSON.parse(OVER)).obj(),
      ],
      want: { actions: [...ENSURE, `annotate demo-worker-1 ${OVER}`], requeueAfterMs: 10_000 },
    },
    {
      name: 'failed without Kueue: no annotation',
      job: makeJob().workers(2).obj(),
      status: { phase: 'Failed', completionTime: '2026-01-01T00:09:00Z' },
      pods: [makePod('demo', 0).running().obj(), makePod('demo', 1).failed(64).obj()],
      want: { actions: ['delete demo-worker-0'], requeueAfterMs: undefined },
    },
  ] as Array<{
    name: string;
    job: JCLTrainingJob;
    status: JobStatus;
    pods: V1Pod[];
    evalJobs?: string[];
    want: unknown;
  }>)('$name', ({ job, status, pods, evalJobs, want }) => {
    expect(plan(job, status, pods, evalJobs)).toEqual(want);
  });
});
