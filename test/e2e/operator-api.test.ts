/**
 * The JCLTrainingJob API as the real apiserver serves it from the generated CRD: invalid specs are
 * rejected at `kubectl apply` with the field named, defaults are filled in, started jobs keep their
 * training config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../harness/e2e-context.ts';
import { installCrd, Jobs, kubectlApply } from '../../operator/src/testing/e2e-kit.ts';

const plane = useControlPlane();
const kc = plane.kubeConfig;
let ns: string;
let jobs: Jobs;

beforeAll(async () => {
  await installCrd(kc, plane.kubeconfigPath);
  ns = await createTestNamespace(kc, 'jcl-api');
  jobs = new Jobs(kc, ns);
});
afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

const valid = {
  workers: 2,
  training: { model: { arch: 'resnet-tiny' }, optim: { batchSize: 8, epochs: 1 }, jcl: { queueSize: 64 } },
};
const manifest = (name: string, spec: unknown) =>
  JSON.stringify({
    apiVersion: 'training.jcl.dev/v1alpha1',
    kind: 'JCLTrainingJob',
    metadata: { name, namespace: ns },
    spec,
  });

describe('kubectl apply of an invalid JCLTrainingJob names the field', () => {
  it.each([
    {
      name: 'batch not divisible by workers',
      spec: { ...valid, workers: 3 },
      field: 'spec.training.optim.batchSize',
      says: 'spec.training.optim.batchSize 8 (512 when unset) must be divisible by spec.workers 3',
    },
    {
      name: 'the default batch size not divisible by workers',
      spec: { ...valid, workers: 3, training: { ...valid.training, optim: { epochs: 1 } } },
      field: 'spec.training.optim.batchSize',
      says: 'spec.training.optim.batchSize 512 (512 when unset) must be divisible by spec.workers 3',
    },
    {
      name: 'queue not a multiple of the batch',
      spec: { ...valid, training: { ...valid.training, jcl: { queueSize: 12 } } },
      field: 'spec.training.jcl.queueSize',
      says: 'spec.training.jcl.queueSize 12 must be a multiple of spec.training.optim.batchSize 8',
    },
    {
      name: 'no positives',
      spec: { ...valid, training: { ...valid.training, jcl: { queueSize: 64, positives: 0 } } },
      field: 'spec.training.jcl.positives',
      says: 'greater than or equal to 1',
    },
    {
      name: 'zero temperature',
      spec: { ...valid, training: { ...valid.training, jcl: { queueSize: 64, temperature: 0 } } },
      field: 'spec.training.jcl.temperature',
      says: 'greater than 0',
    },
    {
      name: 'unknown architecture',
      spec: { ...valid, training: { ...valid.training, model: { arch: 'vit' } } },
      field: 'spec.training.model.arch',
      says: 'Unsupported value: "vit"',
    },
    {
      name: 'unknown gradient dtype',
      spec: { ...valid, training: { ...valid.training, dist: { gradientDtype: 'float16' } } },
      field: 'spec.training.dist.gradientDtype',
      says: 'Unsupported value: "float16"',
    },
    {
      name: 'no workers',
      spec: { ...valid, workers: 0 },
      field: 'spec.workers',
      says: 'greater than or equal to 1',
    },
    {
      name: 'image folder without a path',
      spec: { ...valid, dataset: { format: 'image-folder' } },
      field: 'spec.dataset.path',
      says: 'required',
    },
    {
      name: 'bad cleanPodPolicy',
      spec: { ...valid, runPolicy: { cleanPodPolicy: 'Some' } },
      field: 'spec.runPolicy.cleanPodPolicy',
      says: 'Unsupported value: "Some"',
    },
    {
      name: 'unknown evaluation kind',
      spec: { ...valid, evaluation: [{ kind: 'svm' }] },
      field: 'spec.evaluation[0].kind',
      says: 'Unsupported value: "svm"',
    },
    {
      name: 'evaluation without a shared checkpoint volume',
      spec: { ...valid, evaluation: [{ kind: 'knn' }] },
      field: 'spec.checkpoints.claimName',
      says: 'required with spec.evaluation',
    },
    {
      name: 'an S3 part below the 5 MiB minimum',
      spec: { ...valid, checkpoints: { uri: 's3://ckpts/runs', s3: { partSizeMiB: 1 } } },
      field: 'spec.checkpoints.s3.partSizeMiB',
      says: 'greater than or equal to 5',
    },
    {
      name: 'a typo in the training config',
      spec: { ...valid, training: { ...valid.training, optim: { batchSize: 8, epochz: 1 } } },
      field: 'spec.training.optim.epochz',
      says: 'unknown field',
    },
    // Issue 19: typed evaluation params, refused at admission instead of failing after the training.
    ...(
      [
        ['a linear parameter on a knn evaluation', 'knn', { epochs: 5 }, '', 'kind knn takes k, limit'],
        ['milestones as a string', 'linear', { milestones: '60,80' }, '.milestones', 'must be of type array'],
        ['a knn limit of 0', 'knn', { limit: 0 }, '.limit', 'must be >= 1 for kind knn'],
      ] as const
    ).map(([name, kind, params, at, says]) => ({
      name,
      spec: { ...valid, checkpoints: { claimName: 'c' }, evaluation: [{ kind, params }] },
      field: `spec.evaluation[0].params${at}`,
      says,
    })),
    // Issue 19: one place for each setting; these were overwritten by spec.dataset/spec.checkpoints.
    ...(
      [
        ['data', { format: 'cifar10' }, 'spec.dataset.format'],
        ['data', { path: '/data/cifar' }, 'spec.dataset.path'],
        ['checkpoint', { resumeFrom: 'older-job' }, 'spec.checkpoints.resumeFrom'],
        ['checkpoint', { everyEpochs: 2 }, 'spec.checkpoints.everyEpochs'],
        ['checkpoint', { everySteps: 10 }, 'spec.checkpoints.everySteps'],
        ['checkpoint', { keepLast: 1 }, 'spec.checkpoints.keepLast'],
        ['checkpoint', { uri: 's3://b/p' }, 'spec.checkpoints.uri'],
        ['checkpoint', { s3: { partSizeMiB: 64 } }, 'spec.checkpoints.s3'],
        ['runtime', { outDir: '/tmp/run' }, 'spec.checkpoints.claimName'],
      ] as const
    ).map(([section, value, use]) => ({
      name: `spec.training.${section}.${Object.keys(value)[0]} (owned by ${use})`,
      spec: { ...valid, training: { ...valid.training, [section]: value } },
      field: `spec.training.${section}.${Object.keys(value)[0]}`,
      says: `not accepted in a JCLTrainingJob: set ${use}`,
    })),
  ])('$name → $field', async ({ spec, field, says }) => {
    const err = await kubectlApply(plane.kubeconfigPath, manifest('bad', spec)).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toContain(field);
    expect(err).toContain(says);
    // A rule that cannot be evaluated (e.g. a modulus by zero) must not leak into the message.
    expect(err).not.toMatch(/evaluating rule|modulus by zero/);
  });
});

describe('a valid JCLTrainingJob', () => {
  it('is stored with the defaults of the worker config filled in', async () => {
    await jobs.create('defaults', valid);
    const job = await jobs.get('defaults');
    expect(job.spec.training).toMatchObject({
      model: { arch: 'resnet-tiny', embedDim: 128 },
      jcl: { positives: 5, temperature: 0.2, queueSize: 64 },
      optim: { batchSize: 8, lr: 0.06 },
    });
    expect(job.spec.runPolicy).toEqual({ backoffLimit: 3, cleanPodPolicy: 'Running', suspend: false });
  });

  it('keeps workers and training immutable but lets runPolicy.suspend change', async () => {
    await jobs.create('immutable', valid);
    const refused = async (spec: Record<string, unknown>) =>
      jobs.patchSpec('immutable', spec).then(
        () => 'accepted',
        (e: { body?: string }) => String(e.body),
      );
    expect(await refused({ workers: 4, training: { optim: { batchSize: 16 } } })).toContain(
      'spec.workers is immutable',
    );
    expect(await refused({ training: { optim: { epochs: 7 } } })).toContain('spec.training is immutable');
    expect(await refused({ runPolicy: { suspend: true } })).toBe('accepted');
  });

  it('refuses names whose worker hostnames would not be DNS labels', async () => {
    const err = await kubectlApply(plane.kubeconfigPath, manifest('x'.repeat(52), valid)).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(err).toContain(`metadata.name: `);
    expect(err).toContain(`"${'x'.repeat(52)}" has 52 characters; it must be at most 51 characters`);
  });

  it.each(['my.job', 'My-job', '1job', 'job-'])(
    'refuses %s: not a DNS-1035 label, so no Service or pod hostname could carry it',
    async (name) => {
      const err = await kubectlApply(plane.kubeconfigPath, manifest(name, valid)).then(
        () => '',
        (e: Error) => e.message,
      );
      expect(err).toContain(`metadata.name: `);
      expect(err).toContain(`metadata.name "${name}" must be a DNS-1035 label`);
    },
  );
});
