import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildWorkerPod, templateHash } from './worker-pod.ts';
import { buildEvalJob } from './eval-job.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';
import { labels, owner, restricted } from '../testing/desired-fixtures.ts';

const claimJob = makeJob().workers(4).checkpoints({ claimName: 'ckpt' }).evaluation('knn').obj();

describe('buildWorkerPod', () => {
  it('builds the whole pod of rank 1 of a 2-worker job', () => {
    const job = makeJob()
      .workers(2)
      .image('jcl:test')
      .training({ optim: { batchSize: 8 } })
      .obj();
    expect(templateHash(job)).toMatch(/^[0-9a-f]{16}$/);
    expect(templateHash(makeJob().image('jcl:other').obj())).not.toBe(templateHash(job));
    expect(buildWorkerPod(job, 1, 0, opts)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'demo-worker-1',
        namespace: 'ns',
        labels: {
          ...labels('worker'),
          'training.jcl.dev/rank': '1',
          'training.jcl.dev/restart-generation': '0',
        },
        annotations: { 'training.jcl.dev/template-hash': templateHash(job) },
        ownerReferences: owner,
      },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          fsGroup: 1000,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        hostname: 'demo-worker-1',
        subdomain: 'demo-workers',
        containers: [
          {
            name: 'worker',
            image: 'jcl:test',
            command: ['node', '/app/bin/jcl.js', 'worker'],
            env: [
              { name: 'JCL_RANK', value: '1' },
              { name: 'JCL_WORLD_SIZE', value: '2' },
              { name: 'JCL_COORDINATOR', value: 'demo-worker-0.demo-workers.ns.svc:29500' },
              { name: 'JCL_PORT', value: '29500' },
              { name: 'JCL_ADVERTISE_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'JCL_STATUS_PORT', value: '29501' },
              { name: 'JCL_DATA_PORT', value: '29502' },
              { name: 'JCL_CONFIG_FILE', value: '/etc/jcl/config/training.json' },
              { name: 'JCL_RUN_DIR', value: '/checkpoints/demo' },
              { name: 'JCL_TOKEN_FILE', value: '/etc/jcl/token/token' },
              { name: 'JCL_JOB_NAME', value: 'demo' },
              { name: 'JCL_RESTART_GENERATION', value: '0' },
            ],
            ports: [
              { name: 'grpc', containerPort: 29500, protocol: 'TCP' },
              { name: 'status', containerPort: 29501, protocol: 'TCP' },
              { name: 'data', containerPort: 29502, protocol: 'TCP' },
            ],
            volumeMounts: [
              { name: 'config', mountPath: '/etc/jcl/config', readOnly: true },
              { name: 'token', mountPath: '/etc/jcl/token', readOnly: true },
              { name: 'checkpoints', mountPath: '/checkpoints' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
            securityContext: restricted,
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'FallbackToLogsOnError',
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'demo-config' } },
          {
            name: 'token',
            secret: {
              secretName: 'demo-token',
              defaultMode: 0o440,
              items: [{ key: 'token', path: 'token' }],
            },
          },
          { name: 'checkpoints', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    });
  });

  // Each row changes one input and names the part of the pod it must change.
  const rows = [
    {
      name: 'a gang restart reads the restart config (resume from the run dir)',
      job: makeJob().obj(),
      generation: 2,
      pick: (p: ReturnType<typeof buildWorkerPod>) => [
        p.metadata?.labels?.['training.jcl.dev/restart-generation'],
        p.spec?.containers[0].env?.find((e) => e.name === 'JCL_CONFIG_FILE')?.value,
      ],
      want: ['2', '/etc/jcl/config/training-restart.json'],
    },
    {
      name: 'checkpoint and dataset claims become volumes, the dataset read-only',
      job: makeJob()
        .checkpoints({ claimName: 'ckpt' })
        .dataset({ format: 'cifar10', path: 'cifar', claimName: 'data' })
        .obj(),
      generation: 0,
      pick: (p: ReturnType<typeof buildWorkerPod>) => [
        p.spec?.volumes?.filter((v) => v.persistentVolumeClaim),
        p.spec?.containers[0].volumeMounts?.at(-1),
      ],
      want: [
        [
          { name: 'checkpoints', persistentVolumeClaim: { claimName: 'ckpt' } },
          { name: 'dataset', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
        ],
        { name: 'dataset', mountPath: '/data', readOnly: true },
      ],
    },
    {
      name: 'scheduling fields and resources are copied from the template; user env cannot override the contract',
      job: makeJob()
        .template({
          resources: { limits: { 'nvidia.com/gpu': 1 } as never },
          nodeSelector: { gpu: 'a100' },
          tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
          priorityClassName: 'train',
          env: [
            { name: 'JCL_RANK', value: '9' },
            { name: 'JCL_BACKEND', value: 'cpu' },
          ],
          imagePullPolicy: 'IfNotPresent',
        })
        .obj(),
      generation: 0,
      pick: (p: ReturnType<typeof buildWorkerPod>) => {
        const env = p.spec?.containers[0].env ?? [];
        return [
          p.spec?.nodeSelector,
          p.spec?.tolerations,
          p.spec?.priorityClassName,
          p.spec?.containers[0].resources,
          p.spec?.containers[0].imagePullPolicy,
          env.slice(0, 2),
          env.filter((e) => e.name === 'JCL_RANK').at(-1),
        ];
      },
      want: [
        { gpu: 'a100' },
        [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
        'train',
        { limits: { 'nvidia.com/gpu': 1 } },
        'IfNotPresent',
        [
          { name: 'JCL_RANK', value: '9' },
          { name: 'JCL_BACKEND', value: 'cpu' },
        ],
        { name: 'JCL_RANK', value: '0' },
      ],
    },
  ];
  it.each(rows)('$name', ({ job, generation, pick, want }) => {
    expect(pick(buildWorkerPod(job, 0, generation, opts))).toEqual(want);
  });

  // Issue 18: only rank 0 writes checkpoints (the others get its state by broadcast), so only rank 0
  // and the evaluation Jobs mount the checkpoint claim; a ReadWriteOnce claim then fits a multi-node job.
  it.each([
    { who: 'rank 0', volume: () => buildWorkerPod(claimJob, 0, 0, opts).spec?.volumes, claim: true },
    { who: 'rank 1', volume: () => buildWorkerPod(claimJob, 1, 0, opts).spec?.volumes, claim: false },
    {
      who: 'rank 3, generation 2',
      volume: () => buildWorkerPod(claimJob, 3, 2, opts).spec?.volumes,
      claim: false,
    },
    {
      who: 'the evaluation Job',
      volume: () => buildEvalJob(claimJob, 0, opts).spec?.template.spec?.volumes,
      claim: true,
    },
  ])('$who mounts the checkpoint claim: $claim', ({ volume, claim }) => {
    expect(volume()?.find((v) => v.name === 'checkpoints')).toEqual(
      claim
        ? { name: 'checkpoints', persistentVolumeClaim: { claimName: 'ckpt' } }
        : { name: 'checkpoints', emptyDir: {} },
    );
  });
});
