/**
 * A JCLTrainingJob on an ImageFolder (issue 15): JPEG and PNG files in train/ and val/ class folders on a
 * dataset claim, read by 2 real `jcl worker` processes through the streaming loader (decoded on read, in
 * loader worker threads), with the default backend, then a k-NN follow-up Job that reads the same folder
 * where its own pod mounts it. The claim's directory is the node harness's stand-in for the volume.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tailFile } from '../harness/managed-process.ts';
import { Jobs, kubectlApply } from '../../operator/src/testing/e2e-kit.ts';
import { diagnosePods, useTrainingEnvironment } from './support/training-env.ts';

const env = useTrainingEnvironment('jcl-imgf');

const CLASSES = ['cat', 'dog', 'owl'];
const PER_CLASS = { train: 12, val: 4 };

/** Small images whose colour says their class, as JPEG (and every fourth as PNG). */
async function writeFolder(root: string): Promise<number> {
  let n = 0;
  for (const [split, count] of Object.entries(PER_CLASS)) {
    for (const [c, cls] of CLASSES.entries()) {
      const dir = path.join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const px = Buffer.alloc(40 * 30 * 3);
        for (let p = 0; p < px.length; p++) px[p] = (p % 3 === c ? 200 : 40) + ((p * 7 + i * 13) % 50);
        const img = sharp(px, { raw: { width: 40, height: 30, channels: 3 } });
        const png = i % 4 === 3;
        await (png ? img.png() : img.jpeg({ quality: 90 })).toFile(
          path.join(dir, `${i}.${png ? 'png' : 'jpg'}`),
        );
        if (split === 'train') n++;
      }
    }
  }
  return n;
}

describe('a training job on an ImageFolder claim', () => {
  it('streams JPEG and PNG files to 2 workers and its k-NN follow-up', async () => {
    const { plane, ns, node } = env;
    // The node harness backs a claim with <root>/shared/pvc/<namespace>/<claim> (test/harness/pod-volumes.ts).
    const images = await writeFolder(path.join(node.rootDir, 'shared', 'pvc', ns, 'images', 'pets'));
    await kubectlApply(
      plane.kubeconfigPath,
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { namespace: ${ns}, name: images }
spec:
  accessModes: [ReadOnlyMany]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { namespace: ${ns}, name: ckpt }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: training.jcl.dev/v1alpha1
kind: JCLTrainingJob
metadata: { namespace: ${ns}, name: pets }
spec:
  workers: 2
  dataset: { format: image-folder, claimName: images, path: pets }
  training:
    model: { arch: resnet-tiny, embedDim: 16 }
    jcl: { positives: 2, queueSize: 32 }
    optim: { batchSize: 8, epochs: 2, stepsPerEpoch: 3, lr: 0.05, warmupEpochs: 0 }
    data: { imageSize: 16, loaderWorkers: 2 }
    runtime: { seed: 5 }
  checkpoints: { claimName: ckpt }
  evaluation:
    - kind: knn
      params: { k: 5 }
  runPolicy: { backoffLimit: 0, activeDeadlineSeconds: 900 }
`,
    );
    const jobs = new Jobs(plane.kubeConfig, ns);
    const diagnose = diagnosePods(env, ['pets-worker-0', 'pets-worker-1']);
    const done = await jobs.waitFor(
      'pets',
      'trained and evaluated',
      (j) =>
        j.status?.phase === 'Failed' ||
        ['Succeeded', 'Failed'].includes(j.status?.evaluation?.results?.[0]?.phase ?? ''),
      840_000,
      diagnose,
    );
    expect(done.status?.phase, diagnose()).toBe('Succeeded');
    expect(done.status?.restarts, diagnose()).toBe(0);
    // Each rank opened the folder from its mount: all training images indexed, none skipped.
    for (const pod of ['pets-worker-0', 'pets-worker-1']) {
      const log = tailFile(node.podLogFiles(ns, pod).stdout, 400);
      const opened = log
        .split('\n')
        .filter((l) => l.includes('"training starts"'))
        .map((l) => JSON.parse(l));
      expect(opened, diagnose()).toHaveLength(1);
      expect(opened[0]).toMatchObject({ images, classes: CLASSES.length, skipped: 0 });
      expect(opened[0].dataset).toMatch(/^image-folder:.*\/pets\/train$/);
    }
    expect(done.status?.evaluation?.results?.[0], diagnose()).toMatchObject({
      kind: 'knn',
      phase: 'Succeeded',
      result: { kind: 'knn', metric: 'top1', k: 5 },
    });
  }, 900_000);
});
