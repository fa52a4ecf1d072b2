import { describe, expect, it } from 'vitest';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { NOW, T0, observed, started } from '../testing/status-fixtures.ts';
import { computeStatus, type Observed } from './compute-status.ts';
import type { JCLTrainingJob, JobStatus } from '../api/status-schema.ts';

/** Jobs with a checkpoint claim, so that only the tests about CheckpointsEphemeral see that warning. */
const claimed = () => makeJob().checkpoints({ claimName: 'ckpt' });
const running = (n: number, gen = 0) =>
  Array.from({ length: n }, (_, r) => makePod('demo', r).generation(gen).running().ready().obj());

interface Row {
  name: string;
  job: JCLTrainingJob;
  obs: Observed;
  want: Partial<JobStatus>;
  events: string[];
}

const rows: Row[] = [
  {
    name: 'a new job is Pending until its pods run',
    job: claimed().workers(2).obj(),
    obs: observed([]),
    want: { phase: 'Pending', ready: '0/2', restarts: 0, restartGeneration: 0, startTime: NOW.toISOString() },
    events: ['Created', 'WorkersStarting'],
  },
  {
    name: 'all ranks running → Running with progress from rank 0',
    job: claimed()
      .workers(2)
      .status(started({ phase: 'Pending' }))
      .obj(),
    obs: observed(running(2), {
      progress: { epoch: 3, step: 120, loss: 7.5, imagesPerSec: 410, lastCheckpoint: 'ckpt-3' },
    }),
    want: {
      phase: 'Running',
      ready: '2/2',
      workersReady: 2,
      progress: {
        epoch: 3,
        step: 120,
        loss: 7.5,
        imagesPerSec: 410,
        lastCheckpoint: 'ckpt-3',
        updateTime: NOW.toISOString(),
      },
    },
    events: ['AllWorkersRunning'],
  },
  {
    name: 'a retryable exit restarts the whole gang with generation + 1',
    job: claimed().workers(2).status(started()).obj(),
    obs: observed([
      makePod('demo', 0).running().obj(),
      makePod('demo', 1).failed(75, 'peer rank 0 lost').obj(),
    ]),
    want: {
      phase: 'Restarting',
      restarts: 1,
      restartGeneration: 1,
      message:
        'worker rank 1 (pod demo-worker-1) failed: exit code 75 (lost a peer or timed out, retryable): peer rank 0 lost',
    },
    events: ['GangRestart', 'WorkerFailed'],
  },
  {
    name: 'an evicted pod (no exit code) is retryable too',
    job: claimed().workers(1).status(started()).obj(),
    obs: observed([makePod('demo', 0).evicted().obj()]),
    want: { phase: 'Restarting', restarts: 1, restartGeneration: 1 },
    events: ['GangRestart', 'WorkerFailed'],
  },
  {
    name: 'a fault reported by the status endpoint restarts the gang',
    job: claimed().workers(2).status(started()).obj(),
    obs: observed(running(2), { progress: { epoch: 1, fault: 'queues diverged' } }),
    want: {
      phase: 'Restarting',
      restarts: 1,
      restartGeneration: 1,
      message: 'rank 0 reported a fault: queues diverged',
    },
    events: ['GangRestart', 'WorkerFailed'],
  },
  {
    name: 'old-generation pods still present → Restarting, nothing counted twice',
    job: claimed()
      .workers(2)
      .status(started({ phase: 'Restarting', restarts: 1, restartGeneration: 1 }))
      .obj(),
    obs: observed([makePod('demo', 1).failed(75).obj()]),
    want: {
      phase: 'Restarting',
      restarts: 1,
      restartGeneration: 1,
      message: 'waiting for 1 pods of earlier generations to terminate',
    },
    events: [],
  },
  {
    name: 'the new generation running → Running again',
    job: claimed()
      .workers(2)
      .status(started({ phase: 'Restarting', restarts: 1, restartGeneration: 1 }))
      .obj(),
    obs: observed(running(2, 1)),
    want: { phase: 'Running', restarts: 1, restartGeneration: 1, ready: '2/2' },
    events: ['AllWorkersRunning'],
  },
  {
    name: 'a permanent exit code fails the job at once with the termination message',
    job: claimed().workers(2).status(started()).obj(),
    obs: observed([
      makePod('demo', 0).failed(64, 'invalid training configuration: data.path: required').obj(),
      makePod('demo', 1).running().obj(),
    ]),
    want: {
      phase: 'Failed',
      restarts: 0,
      completionTime: NOW.toISOString(),
      message:
        'worker rank 0 (pod demo-worker-0) failed: exit code 64 (invalid configuration, permanent): invalid training configuration: data.path: required',
    },
    events: ['PermanentError'],
  },
  {
    name: "the worker's JSON failure record is shown as reason: message",
    job: claimed().status(started()).obj(),
    obs: observed([
      makePod('demo', 0)
        .failed(
          66,
          '{"ok":false,"reason":"not_found","exitCode":66,"message":"data.path: /data/x does not exist"}',
        )
        .obj(),
    ]),
    want: {
      phase: 'Failed',
      message:
        'worker rank 0 (pod demo-worker-0) failed: exit code 66 (input not found, permanent): not_found: data.path: /data/x does not exist',
    },
    events: ['PermanentError'],
  },
  {
    name: 'backoffLimit reached → Failed',
    job: claimed()
      .backoffLimit(2)
      .status(started({ restarts: 2, restartGeneration: 2 }))
      .obj(),
    obs: observed([makePod('demo', 0).generation(2).failed(1, 'boom').obj()]),
    want: {
      phase: 'Failed',
      restarts: 2,
      message:
        'worker rank 0 (pod demo-worker-0) failed: exit code 1 (internal error): boom; backoffLimit 2 reached after 2 restarts',
    },
    events: ['BackoffLimitExceeded'],
  },
  {
    name: 'activeDeadlineSeconds → Failed with DeadlineExceeded',
    job: claimed().activeDeadlineSeconds(60).status(started()).obj(),
    obs: observed(running(1)),
    want: {
      phase: 'Failed',
      message: 'running for 3600s exceeds activeDeadlineSeconds 60',
      completionTime: NOW.toISOString(),
    },
    events: ['DeadlineExceeded'],
  },
  {
    name: 'every rank succeeded → Succeeded',
    job: claimed().workers(2).status(started()).obj(),
    obs: observed([makePod('demo', 0).succeeded().obj(), makePod('demo', 1).succeeded().obj()]),
    want: { phase: 'Succeeded', completionTime: NOW.toISOString() },
    events: ['TrainingSucceeded'],
  },
  {
    name: 'suspend → Suspended',
    job: claimed().suspend().status(started()).obj(),
    obs: observed(running(1)),
    want: { phase: 'Suspended', restartGeneration: 0 },
    events: ['JobSuspended'],
  },
  {
    name: 'resume after a started suspension → a new generation that resumes from the checkpoint',
    job: claimed()
      .suspend(false)
      .status(started({ phase: 'Suspended' }))
      .obj(),
    obs: observed([]),
    want: { phase: 'Pending', restartGeneration: 1, restarts: 0, startTime: NOW.toISOString() },
    events: ['Resumed', 'WorkersStarting'],
  },
  {
    name: 'a spec the worker rejects fails the job with the field named',
    job: claimed().obj(),
    obs: observed([], {
      specProblem: 'spec.training.optim.batchSize: must be divisible by the number of workers 3, got 8',
    }),
    want: {
      phase: 'Failed',
      message: 'spec.training.optim.batchSize: must be divisible by the number of workers 3, got 8',
    },
    events: ['Created', 'InvalidSpec'],
  },
  {
    name: 'a terminal job stays terminal whatever the pods do',
    job: claimed()
      .status(started({ phase: 'Failed', message: 'x', completionTime: T0 }))
      .obj(),
    obs: observed(running(1)),
    want: { phase: 'Failed', message: 'x', completionTime: T0 },
    events: [],
  },
];

describe('computeStatus', () => {
  it.each(rows)('$name', ({ job, obs, want, events }) => {
    const got = computeStatus(job, obs, NOW);
    expect(got.status).toMatchObject(want);
    expect(got.events.map((e) => e.reason)).toEqual(events);
  });

  it('keeps lastTransitionTime of unchanged conditions and flips the phase conditions', () => {
    const job = claimed().workers(2).status(started()).obj();
    const { status } = computeStatus(
      job,
      observed([makePod('demo', 0).running().obj(), makePod('demo', 1).failed(1).obj()]),
      NOW,
    );
    expect(status.conditions).toEqual([
      { type: 'Created', status: 'True', reason: 'JobCreated', message: '', lastTransitionTime: T0 },
      {
        type: 'Running',
        status: 'False',
        reason: 'WorkerFailed',
        message: 'phase is Restarting',
        lastTransitionTime: NOW.toISOString(),
      },
      {
        type: 'Restarting',
        status: 'True',
        reason: 'WorkerFailed',
        message: 'worker rank 1 (pod demo-worker-1) failed: exit code 1 (internal error)',
        lastTransitionTime: NOW.toISOString(),
      },
    ]);
  });

  it('is idempotent: feeding the result back changes nothing and emits nothing', () => {
    const job = claimed()
      .workers(2)
      .status(started({ phase: 'Pending' }))
      .obj();
    const first = computeStatus(job, observed(running(2)), NOW);
    const again = computeStatus(
      { ...job, status: first.status },
      observed(running(2)),
      new Date(NOW.getTime() + 5000),
    );
    expect(again).toEqual({ status: first.status, events: [] });
  });

  it('reports evaluation follow-ups after success without failing the model', () => {
    const job = claimed()
      .evaluation('knn')
      .evaluation('linear')
      .status(started({ phase: 'Succeeded', completionTime: T0 }))
      .obj();
    const k8sJob = (name: string, type: string): V1Job => ({
      metadata: { name },
      status: { conditions: [{ type, status: 'True' }] },
    });
    const evalPod = (name: string, message: string): V1Pod => ({
      metadata: { name: `${name}-x`, labels: { 'job-name': name } },
      status: {
        containerStatuses: [
          {
            name: 'eval',
            image: '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, message } },
          },
        ],
      },
    });
    const { status, events } = computeStatus(
      job,
      observed([], {
        evalJobs: [k8sJob('demo-eval-0', 'Complete'), k8sJob('demo-eval-1', 'Failed')],
        evalPods: [
          evalPod('demo-eval-0', '{"kind":"knn","metric":"top1","value":0.42,"k":200}'),
          evalPod('demo-eval-1', 'out of memory'),
        ],
      }),
      NOW,
    );
    expect(status.phase).toBe('Succeeded');
    expect(status.evaluation).toEqual({
      top1: 0.42,
      results: [
        {
          kind: 'knn',
          phase: 'Succeeded',
          jobName: 'demo-eval-0',
          result: { kind: 'knn', metric: 'top1', value: 0.42, k: 200 },
          completionTime: NOW.toISOString(),
        },
        {
          kind: 'linear',
          phase: 'Failed',
          jobName: 'demo-eval-1',
          message: 'out of memory',
          completionTime: NOW.toISOString(),
        },
      ],
    });
    expect(events.map((e) => `${e.reason}: ${e.message}`)).toEqual([
      'EvaluationStarted: knn follow-up demo-eval-0 started',
      'EvaluationSucceeded: knn follow-up demo-eval-0 succeeded: top-1 0.42',
      'EvaluationStarted: linear follow-up demo-eval-1 started',
      'EvaluationFailed: linear follow-up demo-eval-1 failed: out of memory; see kubectl logs job/demo-eval-1',
    ]);
    expect(status.conditions?.find((c) => c.type === 'Evaluated')).toMatchObject({
      status: 'False',
      reason: 'EvaluationFailed',
      message: '1 of 2 follow-ups failed: demo-eval-1: out of memory',
    });
  });
});
