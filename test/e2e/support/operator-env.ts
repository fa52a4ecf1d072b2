/**
 * The environment of the operator e2e tests that use stand-in workers: a namespace enforcing Pod Security
 * "restricted", a node harness for it, and the operator as its own process under a ServiceAccount that
 * holds exactly OPERATOR_RULES + LEADER_ELECTION_RULES. Registers its own beforeAll/afterAll; read the
 * fields inside tests.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../../harness/e2e-context.ts';
import { NodeHarness } from '../../harness/node-harness.ts';
import { createServiceAccountIdentity } from '../../harness/restricted-identity.ts';
import { tailFile } from '../../harness/managed-process.ts';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { JCLTrainingJob } from '../../../operator/src/api/status-schema.ts';
import {
  installCrd,
  Jobs,
  startOperator,
  type OperatorProcess,
} from '../../../operator/src/testing/e2e-kit.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/src/api/rbac.ts';

export interface OperatorEnvironment {
  plane: ReturnType<typeof useControlPlane>;
  ns: string;
  node: NodeHarness;
  operator: OperatorProcess;
  jobs: Jobs;
  /** The operator's and the node's log tails, for timeout diagnostics. */
  diagnose(): string;
  /** Polls job `name` until `done` holds (default 90 s), diagnosing a timeout with {@link diagnose}. */
  waitFor(
    name: string,
    what: string,
    done: (j: JCLTrainingJob) => boolean,
    timeoutMs?: number,
  ): Promise<JCLTrainingJob>;
  /** The Events about the object `name` in the namespace. */
  eventsOf(name: string): Promise<CoreV1Event[]>;
}

/** `operatorArgs` come after `--namespaces <ns>`. */
export function useOperatorEnvironment(prefix: string, operatorArgs: string[]): OperatorEnvironment {
  const plane = useControlPlane();
  const env = { plane } as OperatorEnvironment;
  env.diagnose = () =>
    `--- operator ---\n${tailFile(env.operator?.logFile ?? '', 30)}\n--- node ---\n${tailFile(env.node?.logFile ?? '', 20)}`;
  env.waitFor = (name, what, done, timeoutMs = 90_000) =>
    env.jobs.waitFor(name, what, done, timeoutMs, env.diagnose);
  env.eventsOf = async (name) =>
    (
      await plane.kubeConfig
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: env.ns, fieldSelector: `involvedObject.name=${name}` })
    ).items;
  beforeAll(async () => {
    const kc = plane.kubeConfig;
    await installCrd(kc, plane.kubeconfigPath);
    env.ns = await createTestNamespace(kc, prefix, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    env.jobs = new Jobs(kc, env.ns);
    const kubeconfigFile = path.join(os.tmpdir(), `${env.ns}-operator.kubeconfig`);
    await createServiceAccountIdentity(kc, {
      namespace: env.ns,
      name: 'jcl-operator',
      rules: [...OPERATOR_RULES, ...LEADER_ELECTION_RULES],
      kubeconfigFile,
    });
    env.node = await NodeHarness.start({
      kubeConfig: kc,
      namespaces: [env.ns],
      nodeName: `node-${env.ns}`,
      maxGraceMs: 2_000,
    });
    env.operator = await startOperator(kubeconfigFile, ['--namespaces', env.ns, ...operatorArgs]);
  });
  afterAll(async () => {
    await env.operator?.stop();
    await env.node?.stop();
    if (env.ns) await deleteTestNamespace(plane.kubeConfig, env.ns);
  });
  return env;
}
