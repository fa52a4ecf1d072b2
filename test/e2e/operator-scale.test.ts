/**
 * Scale: 100 small JCLTrainingJobs (2 workers each) created at once all get their pods (the pods need not
 * run: no node harness here, they stay Pending). Measures, per job, the time from its create call
 * returning to its last worker pod appearing on a watch (p50/p99), the operator's RSS, and the API
 * requests the operator made per job. Figures go to stdout and to $JCL_BENCH_OUT (JSON) when set;
 * docs/BENCHMARKS.md "## Operator" quotes them.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../harness/e2e-context.ts';
import { pollUntil } from '../harness/wait.ts';
import { tailFile } from '../harness/managed-process.ts';
import {
  installCrd,
  Jobs,
  metricValue,
  startOperator,
  type OperatorProcess,
} from '../../operator/src/testing/e2e-kit.ts';

const JOBS = Number(process.env.JCL_SCALE_JOBS ?? 100);
const WORKERS = 2;
const plane = useControlPlane();
const kc = plane.kubeConfig;
let ns: string;
let operator: OperatorProcess;
let stopWatch: (() => void) | undefined;

beforeAll(async () => {
  await installCrd(kc, plane.kubeconfigPath);
  ns = await createTestNamespace(kc, 'jcl-scale');
  operator = await startOperator(plane.kubeconfigPath, [
    '--namespaces',
    ns,
    '--log-level',
    'warn',
    '--concurrent-reconciles',
    process.env.JCL_SCALE_RECONCILERS ?? '16',
  ]);
});
afterAll(async () => {
  stopWatch?.();
  await operator?.stop();
  if (ns) await deleteTestNamespace(kc, ns);
});

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

describe(`${JOBS} jobs created at once`, () => {
  it('all get their pods; latency, RSS and API requests per job are measured', async () => {
    const firstSeen = new Map<string, number>(); // pod name -> ms when first seen on the watch
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (type: string, pod: V1Pod) => {
        if (type === 'ADDED' && pod.metadata?.name && !firstSeen.has(pod.metadata.name))
          firstSeen.set(pod.metadata.name, performance.now());
      },
      () => undefined,
    );
    stopWatch = () => controller.abort();
    const idle = await operator.metrics();
    const before = metricValue(idle, 'jcl_operator_api_requests_total');
    const idleRssMiB = metricValue(idle, 'jcl_operator_process_resident_memory_bytes') / 2 ** 20;
    const jobs = new Jobs(kc, ns);
    const spec = {
      workers: WORKERS,
      template: { image: 'jcl-e2e/none:local' },
      training: {
        model: { arch: 'resnet-tiny' },
        optim: { batchSize: 8, epochs: 1 },
        jcl: { queueSize: 64 },
      },
    };
    const createdAt = new Map<string, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const name = `scale-${i}`;
        await jobs.create(name, spec);
        createdAt.set(name, performance.now());
      }),
    );
    const createMs = performance.now() - started;
    const lastPodAt = (job: string) => {
      const times = Array.from({ length: WORKERS }, (_, r) => firstSeen.get(`${job}-worker-${r}`));
      return times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
    };
    await pollUntil(
      () => ([...createdAt.keys()].every((j) => lastPodAt(j) !== undefined) ? true : undefined),
      {
        timeoutMs: 180_000,
        intervalMs: 200,
        description: `every one of ${JOBS} jobs has its ${WORKERS} pods`,
        diagnose: () => `pods seen: ${firstSeen.size}\n${tailFile(operator.logFile, 20)}`,
      },
    );
    const latencies = [...createdAt]
      .map(([job, t0]) => Math.max(0, (lastPodAt(job) as number) - t0))
      .sort((a, b) => a - b);
    // Let the status writes that follow pod creation settle before counting requests.
    const core = kc.makeApiClient(CoreV1Api);
    await pollUntil(
      async () => {
        const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns });
        return list.items.length === JOBS * WORKERS ? true : undefined;
      },
      { timeoutMs: 60_000, description: 'exactly the expected number of pods' },
    );
    await pollUntil(
      async () => {
        const pending = await Promise.all(
          [...createdAt.keys()].map((j) => jobs.get(j).then((o) => o.status?.phase === 'Pending')),
        );
        return pending.every(Boolean) ? true : undefined;
      },
      { timeoutMs: 60_000, description: 'every job reports phase Pending' },
    );
    await new Promise((r) => setTimeout(r, 3_000));
    const text = await operator.metrics();
    const requests = metricValue(text, 'jcl_operator_api_requests_total') - before;
    const rssMiB = metricValue(text, 'jcl_operator_process_resident_memory_bytes') / 2 ** 20;
    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    const figures = {
      jobs: JOBS,
      workersPerJob: WORKERS,
      concurrentReconciles: Number(process.env.JCL_SCALE_RECONCILERS ?? 16),
      createAllMs: Math.round(createMs),
      createToAllPodsMs: {
        p50: Math.round(quantile(latencies, 0.5)),
        p99: Math.round(quantile(latencies, 0.99)),
        max: Math.round(latencies.at(-1) ?? 0),
      },
      operatorRssMiB: { idle: Math.round(idleRssMiB), after: Math.round(rssMiB) },
      apiRequestsPerJob: Number((requests / JOBS).toFixed(1)),
      apiRequestsByVerb: Object.fromEntries(
        ['create', 'update', 'get', 'delete', 'list'].map((v) => [
          v,
          metricValue(text, 'jcl_operator_api_requests_total', `verb="${v}"`),
        ]),
      ),
    };
    console.log(`[scale] ${JSON.stringify(figures)}`);
    if (process.env.JCL_BENCH_OUT) writeFileSync(process.env.JCL_BENCH_OUT, JSON.stringify(figures, null, 2));
    expect(pods).toHaveLength(JOBS * WORKERS);
    expect(new Set(pods.map((p) => p.metadata?.name)).size).toBe(JOBS * WORKERS);
    expect(figures.createToAllPodsMs.p99).toBeLessThan(60_000);
  }, 400_000);
});
