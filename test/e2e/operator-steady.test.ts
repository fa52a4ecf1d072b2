/**
 * Steady state: N running JCLTrainingJobs (2 workers each, rank 0 a stand-in serving the real Status gRPC
 * endpoint, test/e2e/support/status-stepper.mjs) watched for a window of minutes. Half the jobs step every
 * 100 ms, half never change. Measured per job per minute: status writes (MODIFIED watch events, what
 * `kubectl get jcljob -w` shows), the operator's API requests, and rank 0 polls. Bounded: a job whose
 * progress does not change is never written; a stepping one at most once per poll interval; polls at
 * most once per poll interval. Figures go to stdout and $JCL_BENCH_OUT; docs/BENCHMARKS.md quotes them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Watch } from '@kubernetes/client-node';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { metricValue } from '../../operator/src/testing/e2e-kit.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/src/api/constants.ts';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';
import { useOperatorEnvironment } from './support/operator-env.ts';

const JOBS = Number(process.env.JCL_STEADY_JOBS ?? 6);
const WINDOW_MS = Number(process.env.JCL_STEADY_MS ?? 120_000);
const POLL_MS = 2_000;
const STEPPER = path.join(REPO_ROOT, 'test/e2e/support/status-stepper.mjs');

const env = useOperatorEnvironment('jcl-steady', [
  '--poll-interval-ms',
  String(POLL_MS),
  '--resync-ms',
  '5000',
  '--log-level',
  'info',
]);
const kc = env.plane.kubeConfig;

const stepping = (i: number) => i % 2 === 0;
const specFor = (i: number) => ({
  workers: 2,
  template: {
    image: 'jcl-e2e/node:local',
    command: ['node', STEPPER],
    env: [{ name: 'FAKE_STEP_MS', value: stepping(i) ? '100' : '0' }],
  },
  training: { model: { arch: 'resnet-tiny' }, optim: { batchSize: 8, epochs: 1 }, jcl: { queueSize: 64 } },
});

/** Rank 0's poll log lines {"poll":n,"atMs":t} within [from, to). */
function pollsBetween(job: string, from: number, to: number): number {
  const file = env.node.podLogFiles(env.ns, `${job}-worker-0`).stdout;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"poll"'))
    .map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { atMs: number }).atMs)
    .filter((t) => t >= from && t < to).length;
}

describe(`${JOBS} running jobs in steady state`, () => {
  it(
    'write status only on visible change, poll once per interval, and stay within a per-job budget',
    async () => {
      const jobs = env.jobs;
      const names = Array.from({ length: JOBS }, (_, i) => `steady-${i}`);
      await Promise.all(names.map((n, i) => jobs.create(n, specFor(i))));
      const diagnose = env.diagnose;
      const before = new Map<string, JCLTrainingJob>();
      for (const n of names)
        before.set(
          n,
          await jobs.waitFor(
            n,
            'Running 2/2 with progress',
            (j) =>
              j.status?.phase === 'Running' &&
              j.status.ready === '2/2' &&
              j.status.progress?.step !== undefined,
            180_000,
            diagnose,
          ),
        );
      // Let every job see its first full poll interval before the window opens.
      await new Promise((r) => setTimeout(r, POLL_MS * 2));

      const modified = new Map<string, number>(names.map((n) => [n, 0]));
      const watch = await new Watch(kc).watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${env.ns}/${PLURAL}`,
        {},
        (type: string, obj: JCLTrainingJob) => {
          const n = obj.metadata?.name ?? '';
          if (type === 'MODIFIED' && modified.has(n)) modified.set(n, (modified.get(n) ?? 0) + 1);
        },
        () => undefined,
      );
      // The watch delivers the current state as ADDED first; count from here on.
      await new Promise((r) => setTimeout(r, 500));
      modified.forEach((_, k) => modified.set(k, 0));
      const m0 = await env.operator.metrics();
      const from = Date.now();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const to = Date.now();
      const m1 = await env.operator.metrics();
      watch.abort();

      const minutes = (to - from) / 60_000;
      const delta = (name: string, filter = '') =>
        metricValue(m1, name, filter) - metricValue(m0, name, filter);
      const after = new Map(await Promise.all(names.map(async (n) => [n, await jobs.get(n)] as const)));
      const perJob = names.map((n, i) => ({
        job: n,
        stepping: stepping(i),
        writesPerMin: Number(((modified.get(n) ?? 0) / minutes).toFixed(1)),
        pollsPerMin: Number((pollsBetween(n, from, to) / minutes).toFixed(1)),
        stepAdvanced:
          (after.get(n)?.status?.progress?.step ?? 0) - (before.get(n)?.status?.progress?.step ?? 0),
      }));
      const avg = (xs: number[]) =>
        Number((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1));
      const figures = {
        jobs: JOBS,
        workersPerJob: 2,
        windowSec: Math.round((to - from) / 1000),
        pollIntervalMs: POLL_MS,
        resyncMs: 5000,
        statusWritesPerJobPerMin: {
          stepping: avg(perJob.filter((p) => p.stepping).map((p) => p.writesPerMin)),
          idle: avg(perJob.filter((p) => !p.stepping).map((p) => p.writesPerMin)),
        },
        pollsPerJobPerMin: avg(perJob.map((p) => p.pollsPerMin)),
        apiRequestsPerJobPerMin: Number(
          (delta('jcl_operator_api_requests_total') / JOBS / minutes).toFixed(1),
        ),
        statusUpdatesPerJobPerMin: Number(
          (delta('jcl_operator_api_requests_total', 'verb="update"') / JOBS / minutes).toFixed(1),
        ),
        perJob,
      };
      console.log(`[steady] ${JSON.stringify(figures)}`);
      if (process.env.JCL_BENCH_OUT)
        writeFileSync(process.env.JCL_BENCH_OUT, JSON.stringify(figures, null, 2));

      const perInterval = 60_000 / POLL_MS; // polls (and so writes) per minute at most
      for (const p of perJob) {
        expect(p.pollsPerMin, `${p.job} polls/min`).toBeLessThanOrEqual(perInterval + 2 / minutes);
        expect(p.pollsPerMin, `${p.job} is polled at all`).toBeGreaterThan(0);
        if (p.stepping) {
          expect(p.stepAdvanced, `${p.job} progress follows the workers`).toBeGreaterThan(0);
          expect(p.writesPerMin, `${p.job} writes/min`).toBeLessThanOrEqual(perInterval + 2 / minutes);
        } else {
          expect(p.writesPerMin, `${p.job} (no change) writes/min`).toBe(0);
        }
      }
      // Every request is a status write of a stepping job, give or take an Event or a relist.
      const steppingShare = perJob.filter((p) => p.stepping).length / JOBS;
      expect(figures.apiRequestsPerJobPerMin).toBeLessThanOrEqual(perInterval * steppingShare + 2);
    },
    WINDOW_MS + 400_000,
  );
});
