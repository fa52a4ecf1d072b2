/**
 * The environment of the gang-scheduling e2e tests (issue 16): a namespace enforcing Pod Security
 * "restricted", harness Nodes with `nvidia.com/gpu` allocatable for the real kube-scheduler, an operator
 * running as a ServiceAccount that holds exactly OPERATOR_RULES + the given gang rules, and the helpers
 * the tests share (a stand-in worker, the job spec, pod/condition/event reads). Registers its own
 * beforeAll/afterAll; read the fields inside tests.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { CoreV1Api, CustomObjectsApi, type V1PolicyRule, type V1Pod } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../../harness/e2e-context.ts';
import { NodeHarness } from '../../harness/node-harness.ts';
import { createServiceAccountIdentity } from '../../harness/restricted-identity.ts';
import { tailFile } from '../../harness/managed-process.ts';
import { pollUntil } from '../../harness/wait.ts';
import {
  installCrd,
  Jobs,
  kubectlPath,
  startOperator,
  type OperatorProcess,
} from '../../../operator/src/testing/e2e-kit.ts';
import { OPERATOR_RULES } from '../../../operator/src/api/rbac.ts';
import type { JCLTrainingJob } from '../../../operator/src/api/status-schema.ts';

const run = promisify(execFile);

/** The stand-in worker: exits FAKE_EXIT_CODE after FAKE_EXIT_AFTER_MS (only in FAKE_ONLY_GENERATION, if set), else runs on. */
export const FAKE_WORKER = `
const e = process.env;
const gen = e.FAKE_ONLY_GENERATION === undefined || e.FAKE_ONLY_GENERATION === e.JCL_RESTART_GENERATION;
const after = Number(e.FAKE_EXIT_AFTER_MS || 0);
if (after > 0) setTimeout(() => process.exit(gen ? Number(e.FAKE_EXIT_CODE || 0) : 0), after);
else setInterval(() => {}, 1000);
`;

/** A job of `workers` stand-in workers asking for 1 GPU each. */
export const gangSpec = (
  workers: number,
  schedulingPolicy: Record<string, unknown> | undefined,
  env: Record<string, string> = {},
  runPolicy: Record<string, unknown> = {},
) => ({
  workers,
  template: {
    image: 'jcl-e2e/node:local',
    command: ['node', '-e', FAKE_WORKER],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    resources: { limits: { 'nvidia.com/gpu': 1 } },
  },
  training: { model: { arch: 'resnet-tiny' }, optim: { batchSize: 8, epochs: 1 }, jcl: { queueSize: 64 } },
  runPolicy: { ...runPolicy, ...(schedulingPolicy ? { schedulingPolicy } : {}) },
});

/** What {@link useGangEnvironment} sets up. */
export interface GangEnvironment {
  plane: ReturnType<typeof useControlPlane>;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  ns: string;
  node: NodeHarness;
  operator: OperatorProcess;
  jobs: Jobs;
  /** Log tails of the operator, the node harness and `extra()`, for failure messages. */
  diagnose(): string;
  /** Non-terminating pods of a job. */
  workerPods(job: string): Promise<V1Pod[]>;
  /** Events whose involved object is `name`. */
  eventsOf(name: string): Promise<{ reason?: string; message?: string }[]>;
  /** `kubectl get jcljob <name>` as the admin. */
  kubectlGet(name: string): Promise<string>;
  /** Deletes a job and waits until its pods are gone (their GPUs free again). */
  deleteJob(name: string): Promise<void>;
}

/** Options of {@link useGangEnvironment}. */
export interface GangEnvironmentOptions {
  /** Number of harness Nodes, each with `gpusPerNode` nvidia.com/gpu. */
  nodes: number;
  gpusPerNode: number;
  /** Rules granted on top of OPERATOR_RULES (e.g. GANG_SCHEDULING_RULES.volcano). */
  extraRules?: readonly V1PolicyRule[];
  /** Extra namespace labels. */
  labels?: Record<string, string>;
  /** Runs after the namespace exists and before the Nodes and the operator start (e.g. start Kueue). */
  beforeStart?: (env: GangEnvironment) => Promise<void>;
  /** Runs first in afterAll (e.g. stop Kueue after the jobs are gone). */
  beforeStop?: (env: GangEnvironment) => Promise<void>;
  /** More log tails for diagnose(). */
  extraDiagnosis?: () => string;
}

/** The condition `type` of a job, if any. */
export const condition = (j: JCLTrainingJob, type: string) =>
  j.status?.conditions?.find((c) => c.type === type);

/** Sets up the gang environment in beforeAll and tears it down in afterAll. */
export function useGangEnvironment(prefix: string, opts: GangEnvironmentOptions): GangEnvironment {
  const plane = useControlPlane();
  const kc = plane.kubeConfig;
  const env = {
    plane,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  } as GangEnvironment;
  env.diagnose = () =>
    [
      `--- operator ---\n${tailFile(env.operator?.logFile ?? '', 30)}`,
      `--- node ---\n${tailFile(env.node?.logFile ?? '', 20)}`,
      opts.extraDiagnosis?.() ?? '',
    ].join('\n');
  env.workerPods = async (job) =>
    (
      await env.core.listNamespacedPod({
        namespace: env.ns,
        labelSelector: `training.jcl.dev/job-name=${job}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
  env.eventsOf = async (name) =>
    (await env.core.listNamespacedEvent({ namespace: env.ns, fieldSelector: `involvedObject.name=${name}` }))
      .items;
  env.kubectlGet = async (name) =>
    (
      await run(kubectlPath(), ['get', 'jcljob', name, '-n', env.ns], {
        env: { ...process.env, KUBECONFIG: plane.kubeconfigPath },
      })
    ).stdout;
  env.deleteJob = async (name) => {
    await env.custom.deleteNamespacedCustomObject({
      group: 'training.jcl.dev',
      version: 'v1alpha1',
      namespace: env.ns,
      plural: 'jcltrainingjobs',
      name,
    });
    await pollUntil(async () => ((await env.workerPods(name)).length === 0 ? true : undefined), {
      timeoutMs: 90_000,
      description: `pods of ${name} deleted (garbage collector)`,
      diagnose: env.diagnose,
    });
  };

  beforeAll(async () => {
    await installCrd(kc, plane.kubeconfigPath);
    env.ns = await createTestNamespace(kc, prefix, {
      'pod-security.kubernetes.io/enforce': 'restricted',
      ...opts.labels,
    });
    env.jobs = new Jobs(kc, env.ns);
    await opts.beforeStart?.(env);
    env.node = await NodeHarness.start({
      kubeConfig: kc,
      namespaces: [env.ns],
      nodes: Array.from({ length: opts.nodes }, (_, i) => ({
        name: `node-${env.ns}-${i}`,
        allocatable: { 'nvidia.com/gpu': String(opts.gpusPerNode) },
      })),
      maxGraceMs: 2_000,
    });
    const operatorKubeconfig = path.join(os.tmpdir(), `${env.ns}-operator.kubeconfig`);
    await createServiceAccountIdentity(kc, {
      namespace: env.ns,
      name: 'jcl-operator',
      rules: [...OPERATOR_RULES, ...(opts.extraRules ?? [])],
      kubeconfigFile: operatorKubeconfig,
    });
    env.operator = await startOperator(operatorKubeconfig, [
      '--namespaces',
      env.ns,
      '--resync-ms',
      '1000',
      '--poll-interval-ms',
      '1000',
    ]);
  });
  afterAll(async () => {
    await opts.beforeStop?.(env);
    await env.operator?.stop();
    await env.node?.stop();
    if (env.ns) await deleteTestNamespace(kc, env.ns);
  });
  return env;
}
