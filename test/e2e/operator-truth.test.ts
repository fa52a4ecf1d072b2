/**
 * Status that tells the truth, on the real plane (node harness, restricted namespace, the operator under
 * its least-privilege ServiceAccount): a refused child create reaches a condition and one Event; a
 * spec.template edit says when it applies; checkpoints without a claim warn; a failed evaluation is
 * reported; a lost worker is blamed by pod and rank; progress never goes back across a gang restart.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { pollUntil } from '../harness/wait.ts';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';
import { fakeSpec } from './support/fake-worker.ts';
import { useOperatorEnvironment } from './support/operator-env.ts';

// A short stall timeout: quiet watches (services, batch jobs) are relisted several times during the file.
const env = useOperatorEnvironment('jcl-truth', ['--poll-interval-ms', '1000', '--watch-stall-ms', '4000']);
const core = env.plane.kubeConfig.makeApiClient(CoreV1Api);
const { waitFor, eventsOf } = env;
const condition = (j: JCLTrainingJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
const claim = { checkpoints: { claimName: 'ckpt' } };

describe('what the status and Events say', () => {
  it('a child create the apiserver refuses sets CreateFailed and one Event, in one readable line', async () => {
    const spec = fakeSpec(claim);
    spec.template.env.push({
      name: 'BROKEN',
      valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } },
    } as never);
    await env.jobs.create('refused', spec);
    const job = await waitFor(
      'refused',
      'CreateFailed',
      (j) => condition(j, 'CreateFailed')?.status === 'True',
    );
    const c = condition(job, 'CreateFailed')!;
    expect(c.reason).toBe('Invalid');
    expect(c.message).toMatch(
      /^cannot create Pod refused-worker-0: Invalid: Pod "refused-worker-0" is invalid: .*spec\.bogus/,
    );
    expect(c.message).not.toMatch(/\\|\n|\{/);
    expect(job.status?.phase).toBe('Pending');
    expect(job.status?.message).toBe(c.message);
    await new Promise((r) => setTimeout(r, 3_000)); // retries with backoff: the Event is not repeated
    const events = (await eventsOf('refused')).filter((e) => e.reason === 'CreateFailed');
    expect(events.map((e) => [e.type, e.message])).toEqual([['Warning', c.message]]);
  });

  it('checkpoints without a claim warn once; a template edit says when it applies, and applies on resume', async () => {
    await env.jobs.create('edited', fakeSpec());
    const running = await waitFor(
      'edited',
      'Running 2/2',
      (j) => j.status?.phase === 'Running' && j.status.ready === '2/2',
    );
    expect(condition(running, 'CheckpointsEphemeral')).toMatchObject({
      status: 'True',
      reason: 'NoCheckpointClaim',
    });
    expect(condition(running, 'CheckpointsEphemeral')?.message).toContain('begins again from epoch 0');
    await env.jobs.patchSpec('edited', { template: { env: [{ name: 'NEW', value: '1' }] } });
    const pending = await waitFor(
      'edited',
      'SpecChangePending',
      (j) => condition(j, 'SpecChangePending')?.status === 'True',
    );
    expect(condition(pending, 'SpecChangePending')?.message).toContain(
      'applies when the workers are next created',
    );
    expect(pending.status?.observedGeneration).toBe(pending.metadata?.generation);
    const reasons = (await eventsOf('edited')).map((e) => e.reason);
    expect(reasons.filter((r) => r === 'NoCheckpointClaim')).toHaveLength(1);
    expect(reasons).toContain('TemplateChanged');
    await env.jobs.patchSpec('edited', { runPolicy: { suspend: true } });
    await waitFor('edited', 'Suspended', (j) => j.status?.phase === 'Suspended');
    await env.jobs.patchSpec('edited', { runPolicy: { suspend: false } });
    const resumed = await waitFor(
      'edited',
      'resumed with the new template',
      (j) => j.status?.phase === 'Running' && condition(j, 'SpecChangePending')?.status === 'False',
    );
    expect(resumed.status?.restartGeneration).toBe(1);
    const pod = await core.readNamespacedPod({ namespace: env.ns, name: 'edited-worker-0' });
    expect(pod.spec?.containers[0].env?.find((e) => e.name === 'NEW')?.value).toBe('1');
  });

  it('an OOM-killed worker fails the job with the cause first and a short log excerpt, not raw JSON', async () => {
    await env.jobs.create(
      'oom',
      fakeSpec({ ...claim, runPolicy: { backoffLimit: 0 } }, { FAKE_LOG_LINES: '7' }),
    );
    await waitFor('oom', 'Running 2/2', (j) => j.status?.phase === 'Running' && j.status.ready === '2/2');
    // What the node reports for a container the kernel's OOM killer ended.
    env.node.killPod(env.ns, 'oom-worker-1', { signal: 'SIGKILL', reason: 'OOMKilled' });
    const failed = await waitFor('oom', 'Failed', (j) => j.status?.phase === 'Failed');
    expect(failed.status?.message).toMatch(
      /^worker rank 1 \(pod oom-worker-1\) failed: OOMKilled \(killed by SIGKILL, exit code 137\): out of memory; raise spec\.template\.resources\.limits\.memory: .*training step 7; backoffLimit 0 reached/,
    );
    expect(failed.status?.message).not.toContain('"level"');
  });

  it('a worker whose pod is deleted is the one blamed for the gang restart', async () => {
    await env.jobs.create('lost', fakeSpec(claim));
    await waitFor('lost', 'Running 2/2', (j) => j.status?.phase === 'Running' && j.status.ready === '2/2');
    await core.deleteNamespacedPod({ namespace: env.ns, name: 'lost-worker-1' });
    await waitFor('lost', 'restarted', (j) => (j.status?.restarts ?? 0) === 1);
    // The status write precedes its Events (best-effort, sent alongside the actions): wait for the Event.
    const restarts = await pollUntil(
      async () => {
        const found = (await eventsOf('lost')).filter((e) => e.reason === 'GangRestart');
        return found.length > 0 ? found.map((e) => e.message) : undefined;
      },
      { timeoutMs: 30_000, description: 'the GangRestart Event of lost', diagnose: env.diagnose },
    );
    expect(restarts).toEqual([expect.stringMatching(/^worker rank 1 \(pod lost-worker-1\) /)]);
  });

  it('a failed evaluation follow-up is reported by an Event and the Evaluated condition', async () => {
    await env.jobs.create(
      'badeval',
      fakeSpec(
        { ...claim, evaluation: [{ kind: 'knn' }] },
        { FAKE_EXIT_AFTER_MS: '300', FAKE_EXIT_CODE: '0', FAKE_EVAL_EXIT: '1' },
      ),
    );
    const done = await waitFor(
      'badeval',
      'Evaluated False',
      (j) => condition(j, 'Evaluated')?.status === 'False',
      120_000,
    );
    expect(done.status?.phase).toBe('Succeeded');
    expect(condition(done, 'Evaluated')?.message).toContain('badeval-eval-0: eval crashed: knn');
    const events = (await eventsOf('badeval')).filter((e) => e.reason?.startsWith('Evaluation'));
    expect(events.map((e) => `${e.type} ${e.reason}`).sort()).toEqual([
      'Normal EvaluationStarted',
      'Warning EvaluationFailed',
    ]);
  });

  it('progress never goes back across a gang restart, and the epoch is counted from 1', async () => {
    const spec = fakeSpec(claim, { FAKE_STEP_MS: '50' });
    spec.template.command = ['node', path.join(REPO_ROOT, 'test/e2e/support/status-stepper.mjs')];
    await env.jobs.create('monotone', spec);
    await waitFor('monotone', 'stepping', (j) => (j.status?.progress?.step ?? 0) > 40, 120_000);
    const seen: { step: number; epoch: number }[] = [];
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const p = (await env.jobs.get('monotone')).status?.progress;
        if (p?.step !== undefined) seen.push({ step: p.step, epoch: p.epoch ?? -1 });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    env.node.killPod(env.ns, 'monotone-worker-1', { signal: 'SIGKILL' });
    await waitFor(
      'monotone',
      'restarted and running',
      (j) => j.status?.restarts === 1 && j.status.phase === 'Running',
    );
    await new Promise((r) => setTimeout(r, 4_000)); // the new gang reports step 0 for a while
    stop = true;
    await sampler;
    const steps = seen.map((s) => s.step);
    expect(steps.length).toBeGreaterThan(10);
    expect(
      steps.every((s, i) => i === 0 || s >= steps[i - 1]),
      `steps seen: ${steps.join(',')}`,
    ).toBe(true);
    expect(seen.every((s) => s.epoch >= 1)).toBe(true);
  });

  it('without --operator-namespace, the NetworkPolicy admits the operator from the job namespace only', async () => {
    const policy = await env.plane.kubeConfig
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace: env.ns, name: 'edited-workers' });
    expect(policy.spec?.ingress?.[1]._from).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jcl-operator' } } },
    ]);
    expect(readFileSync(env.operator.logFile, 'utf8')).toContain(
      'neither --operator-namespace nor POD_NAMESPACE',
    );
  });

  it('relisting a quiet watch is not logged as a watch failure', () => {
    const log = readFileSync(env.operator.logFile, 'utf8');
    expect(log).toContain('"why":"no watch activity"');
    expect(log).not.toContain('watch failed');
  });
});
