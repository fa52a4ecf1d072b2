/**
 * The operator against a real control plane, the node harness acting as kubelet, workers replaced by a
 * tiny script (FAKE_* env decides how it ends). The operator runs as its own process under a
 * ServiceAccount that holds exactly OPERATOR_RULES + LEADER_ELECTION_RULES, in a namespace that enforces
 * Pod Security "restricted": every pod it creates must be admitted there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, CoreV1Api, NetworkingV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../harness/e2e-context.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { createServiceAccountIdentity } from '../harness/restricted-identity.ts';
import { tailFile } from '../harness/managed-process.ts';
import { pollUntil } from '../harness/wait.ts';
import {
  installCrd,
  Jobs,
  metricValue,
  startOperator,
  type OperatorProcess,
} from '../../operator/src/testing/e2e-kit.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/src/api/rbac.ts';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';
import { fakeSpec } from './support/fake-worker.ts';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const plane = useControlPlane();
const kc = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
let ns: string;
let node: NodeHarness;
let operator: OperatorProcess;
let operatorArgs: string[];
let operatorKubeconfig: string;
let jobs: Jobs;

const spec = fakeSpec;

const diagnose = () =>
  `--- operator ---\n${tailFile(operator?.logFile ?? '', 30)}\n--- node ---\n${tailFile(node?.logFile ?? '', 20)}`;
const waitPhase = (
  name: string,
  phase: string,
  timeoutMs = 90_000,
  also: (j: JCLTrainingJob) => boolean = () => true,
) => jobs.waitFor(name, `phase ${phase}`, (j) => j.status?.phase === phase && also(j), timeoutMs, diagnose);

async function ownedObjects(job: string): Promise<Record<string, string[]>> {
  const labelSelector = `training.jcl.dev/job-name=${job}`;
  const names = (items: KubernetesObject[]) =>
    items.map((o) => `${o.metadata?.name}@${o.metadata?.uid}`).sort();
  return {
    pods: names(
      (await core.listNamespacedPod({ namespace: ns, labelSelector })).items.filter(
        (p) => !p.metadata?.deletionTimestamp,
      ),
    ),
    services: names((await core.listNamespacedService({ namespace: ns, labelSelector })).items),
    configMaps: names((await core.listNamespacedConfigMap({ namespace: ns, labelSelector })).items),
    secrets: names((await core.listNamespacedSecret({ namespace: ns, labelSelector })).items),
    networkPolicies: names(
      (await kc.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: ns, labelSelector }))
        .items,
    ),
  };
}
const countsOf = (objs: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(objs).map(([k, v]) => [k, v.map((s) => s.split('@')[0])]));

beforeAll(async () => {
  await installCrd(kc, plane.kubeconfigPath);
  ns = await createTestNamespace(kc, 'jcl-op', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  jobs = new Jobs(kc, ns);
  operatorKubeconfig = path.join(os.tmpdir(), `${ns}-operator.kubeconfig`);
  await createServiceAccountIdentity(kc, {
    namespace: ns,
    name: 'jcl-operator',
    rules: [...OPERATOR_RULES, ...LEADER_ELECTION_RULES],
    kubeconfigFile: operatorKubeconfig,
  });
  node = await NodeHarness.start({
    kubeConfig: kc,
    namespaces: [ns],
    nodeName: `node-${ns}`,
    maxGraceMs: 2_000,
  });
  operatorArgs = [
    '--namespaces',
    ns,
    '--resync-ms',
    '1000',
    '--log-level',
    'debug',
    '--leader-elect',
    '--lease-namespace',
    ns,
    '--poll-interval-ms',
    '1000',
  ];
  operator = await startOperator(operatorKubeconfig, operatorArgs);
});
afterAll(async () => {
  await operator?.stop();
  await node?.stop();
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('JCLTrainingJob lifecycle', () => {
  it('creates exactly the expected objects, stays idempotent, and a restarted operator adopts them', async () => {
    await jobs.create('steady', spec());
    const running = await waitPhase('steady', 'Running', 90_000, (j) => j.status?.ready === '2/2');
    expect(running.status).toMatchObject({ workers: 2, workersReady: 2, restarts: 0, restartGeneration: 0 });
    const before = await ownedObjects('steady');
    expect(countsOf(before)).toEqual({
      pods: ['steady-worker-0', 'steady-worker-1'],
      services: ['steady-workers'],
      configMaps: ['steady-config'],
      secrets: ['steady-token'],
      networkPolicies: ['steady-workers'],
    });
    // Several resyncs later nothing changed: no writes to the job, no new objects.
    const quiet = await jobs.get('steady');
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await ownedObjects('steady')).toEqual(before);
    expect((await jobs.get('steady')).metadata?.resourceVersion).toBe(quiet.metadata?.resourceVersion);

    await operator.stop();
    operator = await startOperator(operatorKubeconfig, operatorArgs);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await ownedObjects('steady')).toEqual(before);
    expect((await jobs.get('steady')).status?.phase).toBe('Running');
  });

  it('restarts the whole gang when a worker process is killed, and counts it', async () => {
    await jobs.create('killed', spec());
    await waitPhase('killed', 'Running', 90_000, (j) => j.status?.ready === '2/2');
    node.killPod(ns, 'killed-worker-1', { signal: 'SIGKILL' });
    const restarted = await waitPhase(
      'killed',
      'Running',
      90_000,
      (j) => (j.status?.restarts ?? 0) === 1 && j.status?.ready === '2/2',
    );
    expect(restarted.status).toMatchObject({ restarts: 1, restartGeneration: 1 });
    const pods = (
      await core.listNamespacedPod({ namespace: ns, labelSelector: 'training.jcl.dev/job-name=killed' })
    ).items;
    expect(pods.map((p) => p.metadata?.labels?.['training.jcl.dev/restart-generation'])).toEqual(['1', '1']);
    expect(restarted.status?.conditions?.find((c) => c.type === 'Restarting')).toMatchObject({
      status: 'False',
    });
    const events = (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=killed' })
    ).items;
    // The SIGKILLed worker is blamed, by pod and rank, cause first.
    expect(events.filter((e) => e.reason === 'GangRestart').map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^worker rank 1 \(pod killed-worker-1\) failed: killed by SIGKILL \(exit code 137\)/,
      ),
    ]);
    expect(metricValue(await operator.metrics(), 'jcl_operator_gang_restarts_total')).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('fails after backoffLimit restarts and cleans every pod (cleanPodPolicy All)', async () => {
    await jobs.create(
      'flaky',
      spec(
        { runPolicy: { backoffLimit: 1, cleanPodPolicy: 'All' } },
        { FAKE_EXIT_AFTER_MS: '500', FAKE_EXIT_CODE: '1', FAKE_MESSAGE: 'boom' },
      ),
    );
    const failed = await waitPhase('flaky', 'Failed');
    expect(failed.status).toMatchObject({ restarts: 1 });
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
    });
    expect(failed.status?.message).toMatch(
      /^worker rank \d \(pod flaky-worker-\d\) failed: exit code 1 \(internal error\): boom; backoffLimit 1/,
    );
    await pollUntil(async () => ((await ownedObjects('flaky')).pods.length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      description: 'flaky pods deleted',
      diagnose,
    });
  });

  it('fails at once on a permanent exit code, with the termination message as the reason', async () => {
    await jobs.create(
      'badcfg',
      spec(
        {},
        {
          FAKE_EXIT_AFTER_MS: '300',
          FAKE_EXIT_CODE: '64',
          FAKE_MESSAGE: 'invalid training configuration: data.path: required',
        },
      ),
    );
    const failed = await waitPhase('badcfg', 'Failed');
    expect(failed.status?.restarts).toBe(0);
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
      reason: 'PermanentError',
    });
    expect(failed.status?.message).toMatch(
      /failed: exit code 64 \(invalid configuration, permanent\): invalid training configuration: data.path: required/,
    );
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds and deletes the running pods', async () => {
    await jobs.create('slow', spec({ runPolicy: { activeDeadlineSeconds: 4 } }));
    const failed = await waitPhase('slow', 'Failed', 60_000);
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
      reason: 'DeadlineExceeded',
    });
    await pollUntil(async () => ((await ownedObjects('slow')).pods.length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      description: 'slow pods deleted',
      diagnose,
    });
  });

  it('suspends (workers removed) and resumes as a new generation', async () => {
    await jobs.create('pausable', spec());
    await waitPhase('pausable', 'Running', 90_000, (j) => j.status?.ready === '2/2');
    await jobs.patchSpec('pausable', { runPolicy: { suspend: true } });
    await waitPhase('pausable', 'Suspended');
    await pollUntil(async () => ((await ownedObjects('pausable')).pods.length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      description: 'pausable pods deleted',
      diagnose,
    });
    await jobs.patchSpec('pausable', { runPolicy: { suspend: false } });
    const resumed = await waitPhase('pausable', 'Running', 90_000, (j) => j.status?.ready === '2/2');
    expect(resumed.status).toMatchObject({ restartGeneration: 1, restarts: 0 });
  });

  it('runs evaluation follow-ups after success, reports them, then honours ttlSecondsAfterFinished', async () => {
    await jobs.create(
      'done',
      spec(
        {
          evaluation: [{ kind: 'knn', params: { k: 20 } }],
          checkpoints: { claimName: 'ckpt' },
          runPolicy: { ttlSecondsAfterFinished: 3 },
        },
        { FAKE_EXIT_AFTER_MS: '500', FAKE_EXIT_CODE: '0' },
      ),
    );
    const evaluated = await jobs.waitFor(
      'done',
      'evaluated',
      (j) => j.status?.evaluation?.results?.[0]?.phase === 'Succeeded',
      120_000,
      diagnose,
    );
    expect(evaluated.status?.phase).toBe('Succeeded');
    expect(evaluated.status?.evaluation).toMatchObject({
      top1: 0.5,
      results: [
        { kind: 'knn', phase: 'Succeeded', jobName: 'done-eval-0', result: { top1: 0.5, kind: 'knn' } },
      ],
    });
    expect(evaluated.status?.conditions?.find((c) => c.type === 'Evaluated')).toMatchObject({
      status: 'True',
      reason: 'EvaluationsSucceeded',
    });
    const evalEvents = (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=done' })
    ).items
      .filter((e) => e.reason?.startsWith('Evaluation'))
      .map((e) => `${e.reason}: ${e.message}`);
    expect(evalEvents.sort()).toEqual([
      'EvaluationStarted: knn follow-up done-eval-0 started',
      'EvaluationSucceeded: knn follow-up done-eval-0 succeeded: top-1 0.5',
    ]);
    const batch = await kc
      .makeApiClient(BatchV1Api)
      .readNamespacedJob({ namespace: ns, name: 'done-eval-0' });
    expect(batch.spec?.template.spec?.containers[0].args).toEqual([
      '--checkpoint',
      '/checkpoints/done',
      '--k',
      '20',
    ]);
    await pollUntil(
      async () =>
        jobs.get('done').then(
          () => undefined,
          () => true,
        ),
      { timeoutMs: 30_000, description: 'done deleted after its TTL', diagnose },
    );
  });

  it('runs two replicas with one leader; the standby takes over when the leader stops', async () => {
    const standby = await startOperator(operatorKubeconfig, operatorArgs, { waitReady: false });
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      expect([
        metricValue(await operator.metrics(), 'jcl_operator_is_leader'),
        metricValue(await standby.metrics(), 'jcl_operator_is_leader'),
        await standby.ready(),
      ]).toEqual([1, 0, false]);
      const stopped = await operator.stop();
      expect(stopped.code).toBe(0);
      await pollUntil(async () => ((await standby.ready()) ? true : undefined), {
        timeoutMs: 30_000,
        description: 'standby leads after the leader released the lease',
        diagnose: () => tailFile(standby.logFile, 30),
      });
    } finally {
      operator = standby;
    }
    await jobs.create('after-failover', spec());
    await waitPhase('after-failover', 'Running', 90_000, (j) => j.status?.ready === '2/2');
  });

  it('reports jobs by phase and API requests in /metrics', async () => {
    const text = await operator.metrics();
    expect(metricValue(text, 'jcl_operator_jobs', 'phase="Failed"')).toBeGreaterThanOrEqual(3);
    expect(metricValue(text, 'jcl_operator_api_requests_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'jcl_operator_is_leader')).toBe(1);
    // The replica that campaigned, then led for a while, leaked no abort listeners.
    expect(readFileSync(operator.logFile, 'utf8')).not.toContain('MaxListenersExceededWarning');
  });
});
