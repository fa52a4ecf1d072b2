/**
 * The failure drills of issue 6 with the real runtime: while 2 `jcl worker` processes train, one worker
 * process is killed and the operator itself is replaced. The operator must restart the whole gang, the
 * new gang must resume from the last checkpoint (not from scratch), no rank may ever have two pods, and
 * the job must still succeed with the restart counted. The checkpoint claim is ReadWriteOnce: only rank 0
 * mounts it (issue 18), so the resume works with the block volumes clouds provide by default. And an
 * outsider without the token, refused by both ranks, is counted in the operator's /metrics (issue 21).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { tailFile } from '../harness/managed-process.ts';
import { pollUntil } from '../harness/wait.ts';
import { dataHello, holdOpen } from '../integration/support/outsider.ts';
import { DATA_PORT, STATUS_PORT } from '../../operator/src/api/constants.ts';
import { REFUSED_CONNECTIONS_METRIC } from '../../operator/src/reconcile/refusal-metric.ts';
import { Jobs, kubectlApply, metricValue } from '../../operator/src/testing/e2e-kit.ts';
import { fetchStatus } from '../../worker/src/distributed/status-server.ts';
import { diagnosePods, tinyJobSpec, useTrainingEnvironment } from './support/training-env.ts';

// Two nodes, one rank on each (the template's anti-affinity): the ReadWriteOnce claim can be attached to
// one node only (the harness holds a second node's pod, volume-attach.ts), as with a cloud block volume.
const env = useTrainingEnvironment('jcl-resume', { pollIntervalMs: 500, nodes: 2 });

const JOB = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ckpt }
spec:
  # ReadWriteOnce: only rank 0 (and evaluation Jobs) mount the checkpoint claim (issue 18)
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: training.jcl.dev/v1alpha1
kind: JCLTrainingJob
metadata: { name: drill }
spec:
  workers: 2
  dataset: { format: synthetic }
  training:
    model: { arch: resnet-tiny, embedDim: 16 }
    jcl: { positives: 2, queueSize: 64 }
    # 30 epochs x 4 steps: enough that the kill below (after the first checkpoint's poll) lands mid-run
    optim: { batchSize: 16, epochs: 30, stepsPerEpoch: 4, lr: 0.05 }
    data: { imageSize: 8, syntheticClasses: 4, syntheticPerClass: 16, prefetchBatches: 0 }
    runtime: { backend: wasm, seed: 3 }
  checkpoints: { claimName: ckpt, everySteps: 2, everyEpochs: 0, keepLast: 3 }
  runPolicy: { backoffLimit: 3, activeDeadlineSeconds: 1200 }
  template:
    affinity:
      podAntiAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: { matchLabels: { training.jcl.dev/job-name: drill } }
`;

describe('failure drills with real workers', () => {
  it('a killed worker and a replaced operator: gang restart, resume from the checkpoint, success', async () => {
    const { plane, ns, node } = env;
    const kc = plane.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    await kubectlApply(
      plane.kubeconfigPath,
      JOB.replaceAll('metadata: { name: ', `metadata: { namespace: ${ns}, name: `),
    );
    const jobs = new Jobs(kc, ns);
    // Pods per rank, sampled throughout: a rank must never have two live pods.
    let maxPodsPerRank = 0;
    const sampler = setInterval(() => {
      core
        .listNamespacedPod({ namespace: ns, labelSelector: 'training.jcl.dev/job-name=drill' })
        .then((list) => {
          const perRank = new Map<string, number>();
          for (const p of list.items) {
            if (p.metadata?.deletionTimestamp) continue;
            const rank = p.metadata?.labels?.['training.jcl.dev/rank'] ?? '?';
            perRank.set(rank, (perRank.get(rank) ?? 0) + 1);
          }
          maxPodsPerRank = Math.max(maxPodsPerRank, ...perRank.values(), 0);
        })
        .catch(() => undefined);
    }, 200);
    const diagnose = () =>
      ['drill-worker-0', 'drill-worker-1']
        .map((p) => {
          try {
            return `--- ${p} ---\n${tailFile(node.podLogFiles(ns, p).stdout, 20)}`;
          } catch {
            return `--- ${p} --- (no pod)`;
          }
        })
        .join('\n') + `\n--- operator ---\n${tailFile(env.operator.logFile, 20)}`;
    try {
      // 1. Wait until rank 0 has written a checkpoint (reported through its status endpoint).
      await jobs.waitFor(
        'drill',
        'a checkpoint',
        (j) => Boolean(j.status?.progress?.lastCheckpoint),
        300_000,
        diagnose,
      );
      // Only rank 0 mounts the checkpoint claim; rank 1 restores rank 0's state by broadcast.
      const pods = await core.listNamespacedPod({
        namespace: ns,
        labelSelector: 'training.jcl.dev/job-name=drill',
      });
      const ckptVolume = (rank: string) =>
        pods.items
          .find((p) => p.metadata?.labels?.['training.jcl.dev/rank'] === rank)
          ?.spec?.volumes?.find((v) => v.name === 'checkpoints');
      expect(ckptVolume('0')).toEqual({ name: 'checkpoints', persistentVolumeClaim: { claimName: 'ckpt' } });
      expect(ckptVolume('1')).toEqual({ name: 'checkpoints', emptyDir: {} });
      const nodeOf = (rank: string) =>
        pods.items.find((p) => p.metadata?.labels?.['training.jcl.dev/rank'] === rank)?.spec?.nodeName;
      expect(new Set([nodeOf('0'), nodeOf('1')]), diagnose()).toEqual(new Set(node.nodeNames));
      // 2. Kill one worker process, and replace the operator while the gang restarts.
      node.killPod(ns, 'drill-worker-1', { signal: 'SIGKILL' });
      await env.restartOperator();
      // 3. The job must still succeed.
      const done = await jobs.waitFor(
        'drill',
        'finished',
        (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''),
        600_000,
        diagnose,
      );
      expect(done.status?.phase, diagnose()).toBe('Succeeded');
      expect(done.status?.restarts).toBe(1);
      // 4. The restarted rank 0 resumed from a checkpoint instead of starting over.
      const rank0 = readFileSync(node.podLogFiles(ns, 'drill-worker-0').stdout, 'utf8');
      const resumed = rank0.split('\n').filter((l) => l.includes('resuming from checkpoint'));
      expect(resumed.length, diagnose()).toBe(1);
      expect(JSON.parse(resumed[0]).globalStep).toBeGreaterThanOrEqual(2);
      expect(maxPodsPerRank).toBe(1);
    } finally {
      clearInterval(sampler);
    }
  }, 900_000);

  it("an outsider refused by both ranks is counted in the operator's /metrics by rank and reason, until the job is deleted", async () => {
    const { plane, ns, node } = env;
    const jobs = new Jobs(plane.kubeConfig, ns);
    // Long enough to be polled for a while (a step takes milliseconds here); deleted by the test.
    await jobs.create(
      'outsider',
      tinyJobSpec(
        { epochs: 100_000, stepsPerEpoch: 4 },
        { runPolicy: { backoffLimit: 0, activeDeadlineSeconds: 600 } },
      ),
    );
    const diagnose = diagnosePods(env, ['outsider-worker-0', 'outsider-worker-1']);
    await jobs.waitFor(
      'outsider',
      'training, polled',
      (j) => j.status?.phase === 'Running' && j.status?.progress?.step !== undefined,
      300_000,
      diagnose,
    );
    const refused = (text: string, rank: number, reason: string) =>
      metricValue(text, REFUSED_CONNECTIONS_METRIC, `job="outsider",rank="${rank}",reason="${reason}"`);
    const seriesOf = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${REFUSED_CONNECTIONS_METRIC}{namespace="${ns}",job="outsider",`));
    const metricsWhen = (description: string, ok: (text: string) => boolean) =>
      pollUntil(
        async () => {
          const text = await env.operator.metrics();
          return ok(text) ? text : undefined;
        },
        { timeoutMs: 30_000, description, diagnose },
      );
    // Every rank × reason, at 0 from the first poll on: increase() sees the first refusal.
    const before = await metricsWhen('the series of the job', (t) => seriesOf(t).length > 0);
    expect(seriesOf(before)).toHaveLength(2 * 6);
    expect(
      seriesOf(before).every((l) => l.endsWith(' 0')),
      seriesOf(before).join('\n'),
    ).toBe(true);

    // Wrong-token hellos on rank 1's data port (rank 1 reports them to rank 0), wrong-token status
    // polls on rank 0 (counted by rank 0 itself): the operator's poll of rank 0 brings both.
    const ipOf = (pod: string) => node.podIP(ns, pod) ?? `(no IP for ${pod})`;
    const held = await Promise.all(
      Array.from({ length: 3 }, () => holdOpen(DATA_PORT, dataHello('wrong'), ipOf('outsider-worker-1'))),
    );
    for (const h of held) {
      await h.closed; // the refusal byte, then destroyed by the worker
      expect([...Buffer.concat(h.got)]).toEqual([0]);
    }
    for (let i = 0; i < 2; i++) {
      await expect(
        fetchStatus(`${ipOf('outsider-worker-0')}:${STATUS_PORT}`, 'wrong', 5_000),
      ).rejects.toMatchObject({ code: 'unauthenticated' });
    }
    const after = await metricsWhen(
      'the refusals of both ranks',
      (t) => refused(t, 1, 'wrong_token') === 3 && refused(t, 0, 'wrong_token') === 2,
    );
    expect(seriesOf(after)).toHaveLength(2 * 6);
    expect(seriesOf(after).filter((l) => !l.endsWith(' 0'))).toEqual([
      `${REFUSED_CONNECTIONS_METRIC}{namespace="${ns}",job="outsider",rank="0",reason="wrong_token"} 2`,
      `${REFUSED_CONNECTIONS_METRIC}{namespace="${ns}",job="outsider",rank="1",reason="wrong_token"} 3`,
    ]);
    expect((await jobs.get('outsider')).status?.phase, diagnose()).toBe('Running');

    await jobs.delete('outsider');
    await metricsWhen('no series of the deleted job', (t) => seriesOf(t).length === 0);
  }, 600_000);
});
