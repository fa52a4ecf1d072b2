/**
 * Object storage only (issue 18): manifests/examples/jcljob-s3-checkpoints.yaml, pointed at a real
 * SeaweedFS server, with no volume claim at all. Rank 0 checkpoints to S3 with the keys of the Secret,
 * the gang is restarted (a worker killed) and resumes from the newest checkpoint in the bucket, and the
 * k-NN follow-up reads the final checkpoint from the bucket. Only rank 0 and the evaluation Job get the
 * credentials. The two ranks run on two harness nodes (the template's anti-affinity).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { tailFile } from '../harness/managed-process.ts';
import { startSeaweedFs, type SeaweedFs } from '../harness/seaweedfs.ts';
import { Jobs, kubectlApply } from '../../operator/src/testing/e2e-kit.ts';
import { S3CheckpointStorage } from '../../worker/src/train/s3-checkpoint-storage.ts';
import { useTrainingEnvironment } from './support/training-env.ts';

const env = useTrainingEnvironment('jcl-s3', { pollIntervalMs: 500, nodes: 2 });
let server: SeaweedFs;
beforeAll(async () => {
  server = await startSeaweedFs();
  await server.createBucket('jcl-checkpoints');
}, 180_000);
afterAll(async () => {
  await server?.stop();
});

const logsOf = (pod: string) => {
  try {
    return `--- ${pod} ---\n${tailFile(env.node.podLogFiles(env.ns, pod).stdout, 25)}`;
  } catch {
    return `--- ${pod} --- (no pod)`;
  }
};

describe('checkpoints in object storage', () => {
  it('a job with only an S3 URI checkpoints, resumes after a gang restart, and its follow-up reads the bucket', async () => {
    const { ns, node, plane } = env;
    const docs = parseAllDocuments(
      readFileSync(path.join(REPO_ROOT, 'manifests/examples/jcljob-s3-checkpoints.yaml'), 'utf8'),
    ).map((d) => d.toJS());
    for (const doc of docs) {
      doc.metadata.namespace = ns;
      if (doc.kind === 'Secret')
        doc.stringData = {
          AWS_ACCESS_KEY_ID: server.accessKeyId,
          AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
        };
      if (doc.kind === 'JCLTrainingJob') {
        delete doc.spec.template.resources; // the harness reports BestEffort (see operator-training.test.ts)
        doc.spec.checkpoints.s3.endpoint = server.endpoint;
        // Checkpoint every 2 steps so the killed gang has something recent to resume from.
        doc.spec.checkpoints.everySteps = 2;
        // 20 epochs x 3 steps (the example has 4): on an idle machine 12 steps can end before the kill below
        // could land (the kill follows the first checkpoint's poll).
        doc.spec.training.optim.epochs = 20;
        doc.spec.training.runtime.backend = 'wasm';
        doc.spec.template.affinity = {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: 'kubernetes.io/hostname',
                labelSelector: { matchLabels: { 'training.jcl.dev/job-name': 's3-checkpoints' } },
              },
            ],
          },
        };
      }
    }
    await kubectlApply(plane.kubeconfigPath, docs.map((d) => stringify(d)).join('---\n'));
    const jobs = new Jobs(plane.kubeConfig, ns);
    const diagnose = () =>
      [
        logsOf('s3-checkpoints-worker-0'),
        logsOf('s3-checkpoints-worker-1'),
        logsOf('s3-checkpoints-eval-0'),
        `--- operator ---\n${tailFile(env.operator.logFile, 20)}`,
        `--- seaweedfs ---\n${server.logTail(10)}`,
      ].join('\n');
    const uri = `s3://jcl-checkpoints/runs/${ns}/s3-checkpoints`;

    // 1. Rank 0 reports a checkpoint in the bucket; only rank 0 has the keys, no pod has a claim.
    const first = await jobs.waitFor(
      's3-checkpoints',
      'a checkpoint',
      (j) => Boolean(j.status?.progress?.lastCheckpoint),
      300_000,
      diagnose,
    );
    expect(first.status?.progress?.lastCheckpoint).toMatch(new RegExp(`^${uri}/ckpt-\\d{9}\\.jclckpt$`));
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: 'training.jcl.dev/job-name=s3-checkpoints',
    });
    const awsKeys = (rank: string) =>
      pods.items
        .find((p) => p.metadata?.labels?.['training.jcl.dev/rank'] === rank)
        ?.spec?.containers[0].env?.filter((e) => e.name.startsWith('AWS_'))
        .map((e) => e.name);
    expect(awsKeys('0')).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
    expect(awsKeys('1')).toEqual([]);
    expect(pods.items.flatMap((p) => p.spec?.volumes ?? []).filter((v) => v.persistentVolumeClaim)).toEqual(
      [],
    );
    expect(new Set(pods.items.map((p) => p.spec?.nodeName)), diagnose()).toEqual(new Set(node.nodeNames));

    // 2. A gang restart: the new rank 0 (with an empty run directory) resumes from the bucket.
    node.killPod(ns, 's3-checkpoints-worker-1', { signal: 'SIGKILL' });
    const done = await jobs.waitFor(
      's3-checkpoints',
      'trained and evaluated',
      (j) =>
        j.status?.phase === 'Failed' ||
        (j.status?.evaluation?.results ?? []).some((r) => ['Succeeded', 'Failed'].includes(r.phase ?? '')),
      600_000,
      diagnose,
    );
    expect(done.status?.phase, diagnose()).toBe('Succeeded');
    expect(done.status?.restarts).toBe(1);
    const rank0 = readFileSync(node.podLogFiles(ns, 's3-checkpoints-worker-0').stdout, 'utf8');
    const resumed = rank0.split('\n').filter((l) => l.includes('resuming from checkpoint'));
    expect(resumed.length, diagnose()).toBe(1);
    expect(JSON.parse(resumed[0])).toMatchObject({ checkpoint: expect.stringMatching(`^${uri}/`) });
    expect(JSON.parse(resumed[0]).globalStep).toBeGreaterThanOrEqual(2);

    // 3. The bucket holds the last 2 (keepLast), the final one included; the follow-up read it.
    const storage = new S3CheckpointStorage(
      { bucket: 'jcl-checkpoints', prefix: `runs/${ns}/s3-checkpoints` },
      { endpoint: server.endpoint, region: 'us-east-1', pathStyle: true, partSizeMiB: 16, maxAttempts: 3 },
      'checkpoint.uri',
      { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    );
    const names = await storage.list();
    expect(names).toEqual(['ckpt-000000060.jclckpt', 'ckpt-000000058.jclckpt']); // 20 epochs x 3 steps
    expect(await storage.leftovers()).toEqual([]);
    expect(done.status?.evaluation?.results?.[0], diagnose()).toMatchObject({
      kind: 'knn',
      phase: 'Succeeded',
      result: { kind: 'knn', metric: 'top1', checkpoint: `${uri}/ckpt-000000060.jclckpt` },
    });
  }, 900_000);
});
