/**
 * The environment of the e2e tests that run real `jcl worker` processes: a namespace enforcing Pod
 * Security "restricted", a node harness for it, and an operator whose worker command is this checkout's
 * bin/jcl.js. Registers its own beforeAll/afterAll; read the fields inside tests.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../../harness/e2e-context.ts';
import { NodeHarness } from '../../harness/node-harness.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';
import { tailFile } from '../../harness/managed-process.ts';
import { installCrd, startOperator, type OperatorProcess } from '../../../operator/src/testing/e2e-kit.ts';

export interface TrainingEnvironment {
  plane: ReturnType<typeof useControlPlane>;
  ns: string;
  node: NodeHarness;
  operator: OperatorProcess;
  /** Stops the operator and starts a new one with the same arguments (an operator restart). */
  restartOperator(): Promise<void>;
}

export function useTrainingEnvironment(
  prefix: string,
  /** `nodes`: how many harness nodes (default 1), named node-<ns>[-<i>]. */
  opts: { pollIntervalMs?: number; nodes?: number } = {},
): TrainingEnvironment {
  const plane = useControlPlane();
  const env = { plane } as TrainingEnvironment;
  const operatorArgs = () => [
    '--namespaces',
    env.ns,
    '--poll-interval-ms',
    String(opts.pollIntervalMs ?? 1000),
    '--worker-command',
    `node ${path.join(REPO_ROOT, 'bin/jcl.js')}`,
  ];
  env.restartOperator = async () => {
    await env.operator.stop();
    env.operator = await startOperator(plane.kubeconfigPath, operatorArgs());
  };
  beforeAll(async () => {
    await installCrd(plane.kubeConfig, plane.kubeconfigPath);
    env.ns = await createTestNamespace(plane.kubeConfig, prefix, {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    env.node = await NodeHarness.start({
      kubeConfig: plane.kubeConfig,
      namespaces: [env.ns],
      nodeName: `node-${env.ns}`,
      ...((opts.nodes ?? 1) > 1
        ? { nodes: Array.from({ length: opts.nodes ?? 1 }, (_, i) => ({ name: `node-${env.ns}-${i}` })) }
        : {}),
      maxGraceMs: 5_000,
      rootDir: path.join(os.homedir(), '.cache', 'jcl-operator', 'e2e-nodes', env.ns),
    });
    env.operator = await startOperator(plane.kubeconfigPath, operatorArgs());
  });
  afterAll(async () => {
    await env.operator?.stop();
    await env.node?.stop();
    if (env.node) await rm(env.node.rootDir, { recursive: true, force: true });
    if (env.ns) await deleteTestNamespace(plane.kubeConfig, env.ns);
  });
  return env;
}

/** The last lines of each pod's output and of the operator's log: the message of a failed assertion. */
export function diagnosePods(env: TrainingEnvironment, pods: readonly string[]): () => string {
  const logsOf = (pod: string) => {
    const f = env.node.podLogFiles(env.ns, pod);
    return `--- ${pod} ---\n${tailFile(f.stdout, 25)}\n${f.stderr === f.stdout ? '' : tailFile(f.stderr, 15)}`;
  };
  return () => [...pods.map(logsOf), `--- operator ---\n${tailFile(env.operator.logFile, 20)}`].join('\n');
}

/**
 * A 2-worker job on generated 8×8 images (wasm backend: a step takes milliseconds); `optim` overrides
 * spec.training.optim, `extra` the rest of the spec.
 */
export function tinyJobSpec(
  optim: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    workers: 2,
    dataset: { format: 'synthetic' },
    training: {
      model: { arch: 'resnet-tiny', embedDim: 16 },
      jcl: { positives: 2, queueSize: 64 },
      optim: { batchSize: 16, epochs: 1, stepsPerEpoch: 3, lr: 0.05, ...optim },
      data: { imageSize: 8, syntheticClasses: 4, syntheticPerClass: 16, prefetchBatches: 0 },
      runtime: { backend: 'wasm', seed: 3 },
    },
    runPolicy: { backoffLimit: 0, activeDeadlineSeconds: 900 },
    ...extra,
  };
}
