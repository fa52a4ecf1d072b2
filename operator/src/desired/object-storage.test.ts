import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildWorkerPod } from './worker-pod.ts';
import { buildEvalJob } from './eval-job.ts';
import { buildTrainingConfig } from './training-config.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';

describe('object storage for checkpoints (spec.checkpoints.uri)', () => {
  const s3Job = makeJob()
    .workers(2)
    .checkpoints({
      uri: 's3://ckpts/team/',
      resumeFrom: 'older-job',
      s3: { endpoint: 'http://seaweedfs.storage:8333', pathStyle: true, credentialsSecret: 'ckpt-s3' },
    })
    .evaluation('knn', { k: 20 })
    .obj();
  const creds = [
    { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'ckpt-s3', key: 'AWS_ACCESS_KEY_ID' } } },
    {
      name: 'AWS_SECRET_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: 'ckpt-s3', key: 'AWS_SECRET_ACCESS_KEY' } },
    },
    {
      name: 'AWS_SESSION_TOKEN',
      valueFrom: { secretKeyRef: { name: 'ckpt-s3', key: 'AWS_SESSION_TOKEN', optional: true } },
    },
  ];
  const awsEnv = (env: { name: string }[] | undefined) => env?.filter((e) => e.name.startsWith('AWS_'));

  it('maps uri (per namespace and job), resumeFrom and s3 into the worker config; restarts resume from the uri', () => {
    const first = buildTrainingConfig(s3Job, false);
    const again = buildTrainingConfig(s3Job, true);
    expect(first.checkpoint).toEqual({
      everyEpochs: 1,
      everySteps: 0,
      keepLast: 3,
      resumeFrom: 's3://ckpts/team/ns/older-job',
      uri: 's3://ckpts/team/ns/demo',
      s3: {
        endpoint: 'http://seaweedfs.storage:8333',
        region: 'us-east-1',
        pathStyle: true,
        partSizeMiB: 16,
        maxAttempts: 5,
      },
    });
    expect([again.checkpoint.resumeFrom, again.checkpoint.uri]).toEqual(['', 's3://ckpts/team/ns/demo']);
    // Part size and attempts have one home, spec.checkpoints.s3; the Secret's name stays out of the config.
    const tuned = makeJob()
      .checkpoints({ uri: 's3://ckpts', s3: { partSizeMiB: 64, maxAttempts: 9, credentialsSecret: 'k' } })
      .obj();
    expect(buildTrainingConfig(tuned, false).checkpoint.s3).toEqual({
      endpoint: '',
      region: 'us-east-1',
      pathStyle: false,
      partSizeMiB: 64,
      maxAttempts: 9,
    });
    const abs = makeJob().checkpoints({
      uri: 's3://ckpts',
      resumeFrom: 's3://other/run/ckpt-000000004.jclckpt',
    });
    expect(buildTrainingConfig(abs.obj(), false).checkpoint.resumeFrom).toBe(
      's3://other/run/ckpt-000000004.jclckpt',
    );
  });

  it('gives the credentials from the Secret to rank 0 and the evaluation Job only', () => {
    expect(awsEnv(buildWorkerPod(s3Job, 0, 0, opts).spec?.containers[0].env)).toEqual(creds);
    expect(awsEnv(buildWorkerPod(s3Job, 1, 0, opts).spec?.containers[0].env)).toEqual([]);
    const ev = buildEvalJob(s3Job, 0, opts).spec?.template.spec?.containers[0];
    expect(awsEnv(ev?.env)).toEqual(creds);
    expect(ev?.args).toEqual([
      '--checkpoint',
      's3://ckpts/team/ns/demo',
      '--s3-endpoint',
      'http://seaweedfs.storage:8333',
      '--s3-path-style',
      '--k',
      '20',
    ]);
  });

  it('without a Secret leaves credentials to the pod identity (no AWS_ env at all)', () => {
    const j = makeJob().checkpoints({ uri: 's3://ckpts' }).obj();
    expect(awsEnv(buildWorkerPod(j, 0, 0, opts).spec?.containers[0].env)).toEqual([]);
    expect(buildTrainingConfig(j, false).checkpoint.uri).toBe('s3://ckpts/ns/demo');
  });
});
