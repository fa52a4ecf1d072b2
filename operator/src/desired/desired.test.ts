import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildWorkerPod, templateHash } from './worker-pod.ts';
import { buildService } from './service.ts';
import { buildSecret } from './secret.ts';
import { buildNetworkPolicy } from './network-policy.ts';
import { buildEvalJob } from './eval-job.ts';
import { buildConfigMap } from './config-map.ts';
import { buildTrainingConfig } from './training-config.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';

const labels = (component: string) => ({
  'app.kubernetes.io/name': 'jcl',
  'app.kubernetes.io/instance': 'demo',
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'jcl',
  'app.kubernetes.io/managed-by': 'jcl-operator',
  'training.jcl.dev/job-name': 'demo',
});
const owner = [
  {
    apiVersion: 'training.jcl.dev/v1alpha1',
    kind: 'JCLTrainingJob',
    name: 'demo',
    uid: 'uid-demo',
    controller: true,
    blockOwnerDeletion: true,
  },
];
const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

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

describe('the other owned objects', () => {
  const job = makeJob().workers(2).obj();
  it.each([
    {
      name: 'headless service',
      got: () => buildService(job),
      want: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'demo-workers', namespace: 'ns', labels: labels('worker'), ownerReferences: owner },
        spec: {
          clusterIP: 'None',
          selector: { 'training.jcl.dev/job-name': 'demo', 'app.kubernetes.io/component': 'worker' },
          publishNotReadyAddresses: true,
          ports: [
            { name: 'grpc', port: 29500, targetPort: 29500, protocol: 'TCP' },
            { name: 'status', port: 29501, targetPort: 29501, protocol: 'TCP' },
            { name: 'data', port: 29502, targetPort: 29502, protocol: 'TCP' },
          ],
        },
      },
    },
    {
      name: 'token secret',
      got: () => buildSecret(job, 'tok'),
      want: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'demo-token', namespace: 'ns', labels: labels('token'), ownerReferences: owner },
        type: 'Opaque',
        immutable: true,
        stringData: { token: 'tok' },
      },
    },
    {
      name: 'network policy',
      got: () => buildNetworkPolicy(job, { ...opts, operatorNamespace: 'jcl-system' }),
      want: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: 'demo-workers',
          namespace: 'ns',
          labels: labels('network'),
          ownerReferences: owner,
        },
        spec: {
          podSelector: {
            matchLabels: { 'training.jcl.dev/job-name': 'demo', 'app.kubernetes.io/component': 'worker' },
          },
          policyTypes: ['Ingress'],
          ingress: [
            {
              _from: [
                {
                  podSelector: {
                    matchLabels: {
                      'training.jcl.dev/job-name': 'demo',
                      'app.kubernetes.io/component': 'worker',
                    },
                  },
                },
              ],
              ports: [
                { protocol: 'TCP', port: 29500 },
                { protocol: 'TCP', port: 29501 },
                { protocol: 'TCP', port: 29502 },
              ],
            },
            {
              _from: [
                {
                  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jcl-operator' } },
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'jcl-system' } },
                },
              ],
              ports: [{ protocol: 'TCP', port: 29501 }],
            },
          ],
        },
      },
    },
  ])('$name', ({ got, want }) => {
    expect(got()).toEqual(want);
  });

  it('without --operator-namespace, admits the operator only from the job namespace, not any namespace', () => {
    const peers = buildNetworkPolicy(job, { ...opts, operatorNamespace: '' }).spec?.ingress?.[1]._from;
    expect(peers).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jcl-operator' } } }]);
  });

  it('builds the evaluation Job of spec.evaluation[0]', () => {
    const j = makeJob().evaluation('knn', { k: 20 }).obj();
    const built = buildEvalJob(j, 0, opts);
    const evalLabels = { ...labels('eval'), 'training.jcl.dev/eval-kind': 'knn' };
    expect(built.metadata).toEqual({
      name: 'demo-eval-0',
      namespace: 'ns',
      labels: evalLabels,
      ownerReferences: owner,
    });
    expect(built.spec?.backoffLimit).toBe(0);
    expect(built.spec?.template.spec?.containers[0]).toMatchObject({
      name: 'eval',
      command: ['node', '/app/bin/jcl.js', 'eval', 'knn'],
      args: ['--checkpoint', '/checkpoints/demo', '--k', '20'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
      securityContext: restricted,
    });
    expect(built.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(['config', 'checkpoints', 'tmp']);
    expect(() => buildEvalJob(j, 3, opts)).toThrow('spec.evaluation[3]: no such evaluation, the job has 1');
  });

  // Issue 19: {cacheFeatures: true, milestones: [60, 80]} became `--cacheFeatures true --milestones [60,80]`.
  it.each([
    ['knn', { k: 20, limit: 500 }, ['--k', '20', '--limit', '500']],
    [
      'linear',
      { cacheFeatures: true, milestones: [60, 80], weightDecay: 0.1, cropMin: 0.2 },
      ['--cache-features', '--milestones', '60,80', '--weight-decay', '0.1', '--crop-min', '0.2'],
    ],
    ['linear', { cacheFeatures: false, epochs: 5 }, ['--epochs', '5']],
    [
      'features',
      { encoder: 'query', split: 'train', images: 16 },
      ['--encoder', 'query', '--split', 'train', '--images', '16'],
    ],
  ] as const)('turns %s params %j into the jcl eval flags %j', (kind, params, flags) => {
    const j = makeJob().evaluation(kind, params).obj();
    expect(buildEvalJob(j, 0, opts).spec?.template.spec?.containers[0].args).toEqual([
      '--checkpoint',
      '/checkpoints/demo',
      ...flags,
    ]);
  });

  it('refuses a parameter the kind does not take, naming it', () => {
    const j = makeJob().evaluation('knn', { epochs: 5 }).obj();
    expect(() => buildEvalJob(j, 0, opts)).toThrow(
      'spec.evaluation[0].params.epochs: not a parameter of knn (expected one of k, limit), got 5',
    );
  });
});

// Issue 19: the pod template fields users bring (PyTorchJob/JobSet take a whole PodTemplateSpec).
describe('pod template fields', () => {
  const job = makeJob()
    .template({
      labels: { team: 'vision', 'app.kubernetes.io/name': 'mine' },
      annotations: { 'example.com/owner': 'ana' },
      envFrom: [{ secretRef: { name: 's3-creds' } }],
      runtimeClassName: 'nvidia',
      imagePullSecrets: [{ name: 'regcred' }],
      initContainers: [{ name: 'fetch', image: 'busybox', command: ['true'] }],
      sidecars: [{ name: 'ship', image: 'fluent-bit', securityContext: { readOnlyRootFilesystem: false } }],
      podSecurityContext: { runAsUser: 2000, fsGroup: 3000, supplementalGroups: [4000] },
    })
    .evaluation('knn')
    .obj();
  const pod = buildWorkerPod(job, 0, 0, opts);
  const evalPod = buildEvalJob(job, 0, opts).spec?.template;

  it.each([
    ['labels (the operator wins on its own keys)', pod.metadata?.labels?.team, 'vision'],
    ['the operator label kept', pod.metadata?.labels?.['app.kubernetes.io/name'], 'jcl'],
    [
      'annotations (and the template hash)',
      pod.metadata?.annotations,
      { 'example.com/owner': 'ana', 'training.jcl.dev/template-hash': templateHash(job) },
    ],
    ['envFrom', pod.spec?.containers[0].envFrom, [{ secretRef: { name: 's3-creds' } }]],
    ['runtimeClassName', pod.spec?.runtimeClassName, 'nvidia'],
    ['imagePullSecrets', pod.spec?.imagePullSecrets, [{ name: 'regcred' }]],
    [
      'init containers, restricted',
      pod.spec?.initContainers,
      [{ name: 'fetch', image: 'busybox', command: ['true'], securityContext: restricted }],
    ],
    [
      'sidecars after the worker, restricted where unset',
      pod.spec?.containers.slice(1),
      [
        {
          name: 'ship',
          image: 'fluent-bit',
          securityContext: { ...restricted, readOnlyRootFilesystem: false },
        },
      ],
    ],
    [
      'the pod security fields restricted leaves open',
      pod.spec?.securityContext,
      {
        runAsNonRoot: true,
        runAsUser: 2000,
        runAsGroup: 1000,
        fsGroup: 3000,
        supplementalGroups: [4000],
        seccompProfile: { type: 'RuntimeDefault' },
      },
    ],
    ['eval pods: labels', evalPod?.metadata?.labels?.team, 'vision'],
    ['eval pods: annotations', evalPod?.metadata?.annotations, { 'example.com/owner': 'ana' }],
    ['eval pods: envFrom', evalPod?.spec?.containers[0].envFrom, [{ secretRef: { name: 's3-creds' } }]],
    [
      'eval pods: runtimeClassName and pull secrets',
      [evalPod?.spec?.runtimeClassName, evalPod?.spec?.imagePullSecrets],
      ['nvidia', [{ name: 'regcred' }]],
    ],
    ['eval pods: no sidecars', evalPod?.spec?.containers.length, 1],
  ])('%s', (_what, got, want) => {
    expect(got).toEqual(want);
  });
});

describe('buildTrainingConfig', () => {
  it('maps dataset, checkpoints and the run dir into the worker config; restarts resume from the run dir', () => {
    const job = makeJob()
      .dataset({ format: 'image-folder', path: 'imagenet/train' })
      .checkpoints({ resumeFrom: 'older-job', everySteps: 50 })
      .obj();
    const first = buildTrainingConfig(job, false);
    const again = buildTrainingConfig(job, true);
    expect([
      first.data.format,
      first.data.path,
      first.checkpoint.resumeFrom,
      first.checkpoint.everySteps,
      first.runtime.outDir,
    ]).toEqual(['image-folder', '/data/imagenet/train', '/checkpoints/older-job', 50, '/checkpoints/demo']);
    expect(again.checkpoint.resumeFrom).toBe('');
    const cm = buildConfigMap(job, first, again);
    expect(JSON.parse(cm.data?.['training.json'] ?? '')).toEqual(first);
    expect(Object.keys(cm.data ?? {})).toEqual(['training.json', 'training-restart.json']);
  });

  // Issue 19: these used to be overwritten by spec.dataset / spec.checkpoints without a word.
  it.each([
    [{ data: { format: 'cifar10' } }, 'spec.training.data.format', 'spec.dataset.format'],
    [{ data: { path: '/data/cifar' } }, 'spec.training.data.path', 'spec.dataset.path'],
    [
      { checkpoint: { resumeFrom: 'x' } },
      'spec.training.checkpoint.resumeFrom',
      'spec.checkpoints.resumeFrom',
    ],
    [
      { checkpoint: { everyEpochs: 2 } },
      'spec.training.checkpoint.everyEpochs',
      'spec.checkpoints.everyEpochs',
    ],
    [{ checkpoint: { everySteps: 5 } }, 'spec.training.checkpoint.everySteps', 'spec.checkpoints.everySteps'],
    [{ checkpoint: { keepLast: 1 } }, 'spec.training.checkpoint.keepLast', 'spec.checkpoints.keepLast'],
    // Issue 18: the object-storage settings live in spec.checkpoints.uri/s3 only.
    [{ checkpoint: { uri: 's3://b/p' } }, 'spec.training.checkpoint.uri', 'spec.checkpoints.uri'],
    [{ checkpoint: { s3: { partSizeMiB: 64 } } }, 'spec.training.checkpoint.s3', 'spec.checkpoints.s3'],
    [{ runtime: { outDir: '/x' } }, 'spec.training.runtime.outDir', 'spec.checkpoints.claimName'],
  ])('refuses spec.training %j, naming %s and the field to use (%s)', (training, field, use) => {
    const job = makeJob()
      .training(training as never)
      .obj();
    expect(() => buildTrainingConfig(job, false)).toThrow(
      new RegExp(
        `${field.replaceAll('.', '\\.')}: not accepted in a JCLTrainingJob, set ${use.replaceAll('.', '\\.')}`,
      ),
    );
  });

  it.each(['float32', 'bfloat16'] as const)(
    'passes spec.training.dist.gradientDtype %s to the workers',
    (d) => {
      const job = makeJob()
        .training({ dist: { gradientDtype: d } })
        .obj();
      expect(buildTrainingConfig(job, false).dist.gradientDtype).toBe(d);
    },
  );

  it('keeps the spec.training fields nothing else owns (runtime.backend)', () => {
    const job = makeJob()
      .training({ runtime: { backend: 'cpu' }, data: { imageSize: 16 } })
      .obj();
    const cfg = buildTrainingConfig(job, false);
    expect([cfg.runtime.backend, cfg.data.imageSize, cfg.data.format]).toEqual(['cpu', 16, 'synthetic']);
  });

  it('names every invalid field with its spec path', () => {
    const job = makeJob()
      .workers(3)
      .training({ optim: { batchSize: 8 }, jcl: { queueSize: 12 } })
      .obj();
    expect(() => buildTrainingConfig(job, false)).toThrow(
      /spec\.training\.optim\.batchSize: must be divisible by the number of workers 3, got 8/,
    );
  });
});

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
