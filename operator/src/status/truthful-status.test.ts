import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { NOW, T0, observed, started } from '../testing/status-fixtures.ts';
import { computeStatus } from './compute-status.ts';
import { exitCause, logExcerpt, podFailure } from './observe-pods.ts';
import { nextProgress } from './progress.ts';
import { toProgressReport } from '../kube/progress-poller.ts';
import { templateHash } from '../desired/worker-pod.ts';

const claimed = () => makeJob().workers(2).checkpoints({ claimName: 'ckpt' });
const up = (rank: number) => makePod('demo', rank).running().ready().obj();
const failedAt = (rank: number, code: number, at: string, reason = 'Error', message = ''): V1Pod => {
  const pod = makePod('demo', rank).failed(code, message).obj();
  const t = pod.status!.containerStatuses![0].state!.terminated!;
  t.finishedAt = new Date(at);
  t.reason = reason;
  return pod;
};

describe('nextProgress', () => {
  const prev = { epoch: 2, step: 40, loss: 5, lastCheckpoint: 'ckpt-2', updateTime: T0 };
  it.each([
    ['no report keeps it', undefined, prev],
    ['an identical report keeps updateTime', { epoch: 2, step: 40, loss: 5 }, prev],
    ['a report behind it (a restarted gang at step 0) keeps it', { epoch: 0, step: 0 }, prev],
    [
      'a new step moves it, keeping the last checkpoint',
      { epoch: 2, step: 41, loss: 4.9 },
      { epoch: 2, step: 41, loss: 4.9, lastCheckpoint: 'ckpt-2', updateTime: NOW.toISOString() },
    ],
    [
      'a report behind it that names a later checkpoint (the one a resumed gang restored) moves only that',
      { epoch: 2, step: 34, loss: 5.2, lastCheckpoint: '/checkpoints/demo/ckpt-00000032.jclckpt' },
      { ...prev, lastCheckpoint: '/checkpoints/demo/ckpt-00000032.jclckpt', updateTime: NOW.toISOString() },
    ],
    [
      'a report ahead of it with an earlier checkpoint keeps the later checkpoint',
      { epoch: 2, step: 41, loss: 4.9, lastCheckpoint: 'ckpt-1' },
      { epoch: 2, step: 41, loss: 4.9, lastCheckpoint: 'ckpt-2', updateTime: NOW.toISOString() },
    ],
  ])('%s', (_name, report, want) => {
    expect(nextProgress(prev, report, NOW.toISOString())).toEqual(want);
  });
});

describe('failure causes', () => {
  it.each([
    [
      137,
      'OOMKilled',
      'OOMKilled (killed by SIGKILL, exit code 137): out of memory; raise spec.template.resources.limits.memory',
    ],
    [143, 'Error', 'killed by SIGTERM (exit code 143)'],
    [64, 'Error', 'exit code 64 (invalid configuration, permanent)'],
    [3, 'Error', 'exit code 3'],
  ])('exit %i (%s) → %s', (code, reason, want) => {
    expect(exitCause(code, reason)).toBe(want);
  });

  it('reduces a pino log tail to its last messages instead of raw JSON', () => {
    const tail = [
      '{"level":30,"time":1,"msg":"epoch 1 started"}',
      '{"level":30,"time":2,"msg":"step 40"}',
      '{"level":50,"time":3,"msg":"allreduce failed","err":{"message":"socket hang up"}}',
    ].join('\n');
    expect(logExcerpt(tail)).toBe('epoch 1 started | step 40 | allreduce failed: socket hang up');
  });

  it('an evicted pod says why', () => {
    expect(podFailure(makePod('demo', 0).evicted().obj())?.cause).toBe(
      'Evicted: The node was low on resource: memory.',
    );
  });
});

describe('whom a gang restart blames', () => {
  it.each([
    {
      name: 'the worker that stopped first, not the lowest rank',
      pods: [
        failedAt(0, 75, '2026-01-01T00:59:59Z', 'Error', 'peer_lost: lost rank 1'),
        failedAt(1, 137, '2026-01-01T00:59:50Z', 'OOMKilled'),
      ],
      progress: undefined,
      message: /^worker rank 1 \(pod demo-worker-1\) failed: OOMKilled \(killed by SIGKILL, exit code 137\)/,
    },
    {
      name: 'a worker whose pod was deleted while the gang ran',
      pods: [up(0)],
      progress: undefined,
      message: /^worker rank 1 \(pod demo-worker-1\) failed: pod gone while the gang was running$/,
    },
    {
      name: 'the peer rank 0 says it lost',
      pods: [up(0), up(1)],
      progress: { step: 3, fault: 'peer_lost: lost rank 1 (peer rank 1)', faultPeerRank: 1 },
      message: /^worker rank 1 \(pod demo-worker-1\) was lost: rank 0 reported peer_lost/,
    },
  ])('$name', ({ pods, progress, message }) => {
    const { status } = computeStatus(claimed().status(started()).obj(), observed(pods, { progress }), NOW);
    expect(status.phase).toBe('Restarting');
    expect(status.restarts).toBe(1);
    expect(status.message).toMatch(message);
  });
});

describe('conditions that tell the truth', () => {
  it('a refused create sets CreateFailed and the Pending message, and clears once creates succeed', () => {
    const createFailure = {
      reason: 'Invalid',
      message: 'cannot create Pod demo-worker-0: Invalid: Pod "demo-worker-0" is invalid: spec...',
    };
    const first = computeStatus(claimed().obj(), observed([], { createFailure }), NOW).status;
    expect(first.message).toBe(createFailure.message);
    expect(first.conditions?.find((c) => c.type === 'CreateFailed')).toMatchObject({
      status: 'True',
      reason: 'Invalid',
      message: createFailure.message,
    });
    const later = computeStatus(claimed().status(first).obj(), observed([]), NOW).status;
    expect(later.conditions?.find((c) => c.type === 'CreateFailed')?.status).toBe('False');
  });

  it('a checkpoint policy without a claim warns once: condition and Event', () => {
    const first = computeStatus(makeJob().workers(2).obj(), observed([]), NOW);
    expect(first.status.conditions?.find((c) => c.type === 'CheckpointsEphemeral')).toMatchObject({
      status: 'True',
      reason: 'NoCheckpointClaim',
    });
    expect(first.events.filter((e) => e.reason === 'NoCheckpointClaim')).toHaveLength(1);
    const again = computeStatus(makeJob().workers(2).status(first.status).obj(), observed([]), NOW);
    expect(again.events.filter((e) => e.reason === 'NoCheckpointClaim')).toHaveLength(0);
  });

  it('a template edit on running workers says when it applies, and clears once the pods match', () => {
    const job = claimed().status(started()).obj();
    const stale = [up(0), up(1)].map((p) => ({
      ...p,
      metadata: { ...p.metadata, annotations: { 'training.jcl.dev/template-hash': 'old' } },
    }));
    const pending = computeStatus(job, observed(stale), NOW);
    expect(pending.status.conditions?.find((c) => c.type === 'SpecChangePending')).toMatchObject({
      status: 'True',
      reason: 'TemplateChanged',
    });
    expect(pending.events.map((e) => e.reason)).toContain('TemplateChanged');
    const fresh = stale.map((p) => ({
      ...p,
      metadata: { ...p.metadata, annotations: { 'training.jcl.dev/template-hash': templateHash(job) } },
    }));
    const applied = computeStatus({ ...job, status: pending.status }, observed(fresh), NOW).status;
    expect(applied.conditions?.find((c) => c.type === 'SpecChangePending')?.status).toBe('False');
  });
});

describe('progress at the finish', () => {
  it("takes rank 0's final step and checkpoint, and shows the last epoch as users count it", () => {
    const done = makePod('demo', 0).succeeded().obj();
    done.status!.containerStatuses![0].state!.terminated!.message =
      '{"ok":true,"steps":60,"loss":4.1,"checkpoint":"/checkpoints/demo/ckpt-00000060.jclckpt"}';
    const job = claimed()
      .training({ optim: { epochs: 2 } })
      .status(
        started({ progress: { epoch: 2, step: 40, loss: 4.5, lastCheckpoint: 'ckpt-40', updateTime: T0 } }),
      )
      .obj();
    const { status } = computeStatus(job, observed([done, makePod('demo', 1).succeeded().obj()]), NOW);
    expect(status.phase).toBe('Succeeded');
    expect(status.progress).toEqual({
      epoch: 2,
      step: 60,
      loss: 4.5,
      lastCheckpoint: '/checkpoints/demo/ckpt-00000060.jclckpt',
      updateTime: NOW.toISOString(),
    });
  });

  it.each([
    [
      'names the lost peer',
      { code: 'peer_lost', message: 'lost rank 1', peerRank: 1 },
      { fault: 'peer_lost: lost rank 1 (peer rank 1)', faultPeerRank: 1 },
    ],
    [
      'no peer (the wire says -1) blames no rank',
      { code: 'queue_diverged', message: 'checksums differ', peerRank: -1 },
      { fault: 'queue_diverged: checksums differ' },
    ],
  ])('a fault on the wire: %s', (_name, fault, want) => {
    expect(toProgressReport({ step: 3, fault })).toEqual({ step: 3, ...want });
  });

  it('maps the worker epoch index to the epoch users count', () => {
    expect(toProgressReport({ epoch: 0, step: 3 })).toEqual({ epoch: 1, step: 3 });
  });
});

describe('evaluation follow-ups', () => {
  it('a follow-up between its pod finishing and Complete stays Running: no second EvaluationStarted', () => {
    const job = claimed()
      .evaluation('knn')
      .status(
        started({
          phase: 'Succeeded',
          completionTime: T0,
          evaluation: { results: [{ kind: 'knn', phase: 'Running', jobName: 'demo-eval-0' }] },
        }),
      )
      .obj();
    const { status, events } = computeStatus(
      job,
      observed([], { evalJobs: [{ metadata: { name: 'demo-eval-0' }, status: { active: 0 } }] }),
      NOW,
    );
    expect(status.evaluation?.results[0].phase).toBe('Running');
    expect(events).toEqual([]);
  });
});
