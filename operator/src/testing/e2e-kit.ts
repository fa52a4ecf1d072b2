/**
 * What the operator e2e tests (test/e2e/operator-*.test.ts) share: installing the generated CRD into the
 * real control plane, running the operator as its own process (so RSS and restarts are real), and
 * reading JCLTrainingJobs. Builds on test/harness (control plane, node harness, waits).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { REPO_ROOT, resolveBinDir } from '../../../test/harness/control-plane.ts';
import { findFreePorts } from '../../../test/harness/free-port.ts';
import { ManagedProcess, type ExitInfo } from '../../../test/harness/managed-process.ts';
import { pollUntil } from '../../../test/harness/wait.ts';
import { CRD_FILE } from '../api/crd-yaml.ts';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';

const run = promisify(execFile);

/** kubectl of the pinned plane. */
export const kubectlPath = (): string => path.join(resolveBinDir(), 'kubectl');

/** `kubectl apply` the checked-in CRD and wait until its endpoint serves. */
export async function installCrd(kc: KubeConfig, kubeconfigPath: string): Promise<void> {
  await run(
    kubectlPath(),
    ['apply', '--server-side', '--force-conflicts', '-f', path.join(REPO_ROOT, CRD_FILE)],
    { env: { ...process.env, KUBECONFIG: kubeconfigPath } },
  );
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await pollUntil(
    async () =>
      ((await ext.readCustomResourceDefinition({ name: CRD_NAME })).status?.conditions ?? []).some(
        (c) => c.type === 'Established' && c.status === 'True',
      ) || undefined,
    { timeoutMs: 60_000, description: `CRD ${CRD_NAME} Established` },
  );
  await pollUntil(
    () =>
      kc
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }),
    {
      timeoutMs: 30_000,
      description: `${PLURAL} endpoint served`,
    },
  );
}

/** `kubectl apply -f -` of a YAML text; resolves to kubectl's combined output, rejects with it. */
export async function kubectlApply(kubeconfigPath: string, yaml: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlPath(),
      ['apply', '-f', '-'],
      { env: { ...process.env, KUBECONFIG: kubeconfigPath } },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${stdout}${stderr}`.trim())) : resolve(`${stdout}${stderr}`.trim()),
    );
    child.stdin?.end(yaml);
  });
}

export interface OperatorProcess {
  proc: ManagedProcess;
  metricsPort: number;
  logFile: string;
  /** Prometheus text from /metrics. */
  metrics(): Promise<string>;
  /** /readyz: leading (or not electing) and caches synced. */
  ready(): Promise<boolean>;
  stop(): Promise<ExitInfo>;
}

/** Run `operator/src/cli.ts` as a child process against the plane; by default wait until it is ready (leading, caches synced). */
export async function startOperator(
  kubeconfigPath: string,
  args: string[],
  opts: { waitReady?: boolean } = {},
): Promise<OperatorProcess> {
  const [metricsPort] = await findFreePorts(1);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jcl-operator-e2e-'));
  const logFile = path.join(dir, 'operator.log');
  const proc = new ManagedProcess({
    name: 'jcl-operator',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'operator/src/cli.ts'),
      '--kubeconfig',
      kubeconfigPath,
      '--metrics-port',
      String(metricsPort),
      ...args,
    ],
    env: { ...process.env, NODE_OPTIONS: '' },
    cwd: REPO_ROOT,
    stdoutFile: logFile,
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const probe = opts.waitReady === false ? 'healthz' : 'readyz';
  await pollUntil(
    async () => ((await fetch(`http://127.0.0.1:${metricsPort}/${probe}`)).ok ? true : undefined),
    {
      timeoutMs: 60_000,
      description: `operator /${probe}`,
      diagnose: () => proc.tail(40),
    },
  );
  const ready = async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok;
  return { proc, metricsPort, logFile, metrics, ready, stop: () => proc.stop(10_000) };
}

/** Sum of a Prometheus counter/gauge over its label sets, optionally filtered by a label substring. */
export function metricValue(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labelFilter && !rest.includes(labelFilter)) continue;
    sum += Number(line.trim().split(/\s+/).at(-1));
  }
  return sum;
}

/** Typed access to JCLTrainingJobs. */
export class Jobs {
  private readonly api: CustomObjectsApi;
  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }
  async create(name: string, spec: Record<string, unknown>): Promise<JCLTrainingJob> {
    return (await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'JCLTrainingJob', metadata: { name }, spec },
    })) as JCLTrainingJob;
  }
  async get(name: string): Promise<JCLTrainingJob> {
    return (await this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: PLURAL,
      name,
    })) as JCLTrainingJob;
  }
  async delete(name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: PLURAL,
      name,
    });
  }
  async patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
  /** Poll until `done(job)` holds; the timeout error shows the last status. */
  async waitFor(
    name: string,
    description: string,
    done: (job: JCLTrainingJob) => boolean,
    timeoutMs = 120_000,
    diagnose?: () => string,
  ): Promise<JCLTrainingJob> {
    let last: JCLTrainingJob | undefined;
    return pollUntil(
      async () => {
        last = await this.get(name);
        return done(last) ? last : undefined;
      },
      {
        timeoutMs,
        intervalMs: 300,
        description: `${this.namespace}/${name} ${description}`,
        diagnose: () => `last status: ${JSON.stringify(last?.status)}\n${diagnose?.() ?? ''}`,
      },
    );
  }
}
