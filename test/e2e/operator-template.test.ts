/**
 * spec.template on the real apiserver (issue 19), in a namespace that enforces Pod Security "restricted",
 * the operator under its least-privilege ServiceAccount: a job that uses every pod field the template
 * offers runs, and its worker AND evaluation pods carry those fields and are admitted; the init container
 * ran before the main container (it writes a file the stand-in worker requires) and the sidecar, which
 * never exits by itself, does not keep either pod from completing. A template outside "restricted" is
 * refused at admission naming each field (CEL on the typed securityContext fields); what only Pod Security
 * admission judges fails the pod create, reported by CreateFailed naming the container and field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, NodeV1Api, SchedulingV1Api, type V1Pod } from '@kubernetes/client-node';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';
import { fakeSpec } from './support/fake-worker.ts';
import { useOperatorEnvironment } from './support/operator-env.ts';

const env = useOperatorEnvironment('jcl-template', ['--poll-interval-ms', '1000']);
const kc = env.plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const waitFor = (name: string, what: string, done: (j: JCLTrainingJob) => boolean, timeoutMs = 120_000) =>
  env.waitFor(name, what, done, timeoutMs);
const condition = (j: JCLTrainingJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
// Cluster-scoped objects the template names; unique per run, removed after.
const suffix = Date.now().toString(36);
const priorityClass = `jcl-e2e-${suffix}`;
const runtimeClass = `jcl-e2e-${suffix}`;
const image = 'jcl-e2e/node:local';
const scratch = { name: 'scratch', mountPath: '/scratch' };

beforeAll(async () => {
  await kc
    .makeApiClient(SchedulingV1Api)
    .createPriorityClass({ body: { metadata: { name: priorityClass }, value: 1000 } });
  await kc
    .makeApiClient(NodeV1Api)
    .createRuntimeClass({ body: { metadata: { name: runtimeClass }, handler: 'runc' } });
  await core.createNamespacedConfigMap({
    namespace: env.ns,
    body: { metadata: { name: 'team-env' }, data: { TEAM_NAME: 'vision' } },
  });
  await core.createNamespacedServiceAccount({ namespace: env.ns, body: { metadata: { name: 'trainer' } } });
});
afterAll(async () => {
  await kc
    .makeApiClient(SchedulingV1Api)
    .deletePriorityClass({ name: priorityClass })
    .catch(() => undefined);
  await kc
    .makeApiClient(NodeV1Api)
    .deleteRuntimeClass({ name: runtimeClass })
    .catch(() => undefined);
});

/** A spec.template with every pod field, on the stand-in worker. */
function fullTemplate(nodeName: string) {
  const spec = fakeSpec(
    { checkpoints: { claimName: 'ckpt' }, evaluation: [{ kind: 'knn' }] },
    { FAKE_EXIT_AFTER_MS: '1500', FAKE_EXIT_CODE: '0', FAKE_REQUIRE_FILE: '/scratch/prepared' },
  );
  return {
    ...spec,
    template: {
      ...spec.template,
      env: [...spec.template.env, { name: 'MY_VAR', value: 'mine' }],
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
      labels: { team: 'vision' },
      annotations: { 'example.com/owner': 'ana' },
      envFrom: [{ configMapRef: { name: 'team-env' } }],
      nodeSelector: { 'kubernetes.io/hostname': nodeName },
      tolerations: [
        { key: 'example.com/dedicated', operator: 'Equal', value: 'vision', effect: 'NoSchedule' },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'node.jcl.dev/harness', operator: 'In', values: ['true'] }] },
            ],
          },
        },
      },
      priorityClassName: priorityClass,
      runtimeClassName: runtimeClass,
      serviceAccountName: 'trainer',
      imagePullSecrets: [{ name: 'regcred' }],
      podSecurityContext: { runAsUser: 2000, runAsGroup: 2000, fsGroup: 3000, supplementalGroups: [4000] },
      volumes: [{ name: 'scratch', emptyDir: {} }],
      volumeMounts: [scratch],
      initContainers: [
        {
          name: 'prepare',
          image,
          command: ['node', '-e', "require('fs').writeFileSync(process.env.PREPARED, 'yes')"],
          env: [{ name: 'PREPARED', value: '/scratch/prepared' }],
          volumeMounts: [scratch],
        },
      ],
      sidecars: [{ name: 'ship', image, command: ['node', '-e', 'setInterval(() => {}, 1000)'] }],
    },
  };
}

/** The template's fields as a pod carries them (admission adds the pool's selector and tolerations). */
function templateFields(pod: V1Pod, main: string) {
  const s = pod.spec!;
  const c = s.containers.find((x) => x.name === main)!;
  return {
    labels: pod.metadata?.labels?.team,
    annotations: pod.metadata?.annotations?.['example.com/owner'],
    hostnameSelector: s.nodeSelector?.['kubernetes.io/hostname'],
    toleration: s.tolerations?.some((t) => t.key === 'example.com/dedicated'),
    affinity: s.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    priorityClassName: s.priorityClassName,
    runtimeClassName: s.runtimeClassName,
    serviceAccountName: s.serviceAccountName,
    imagePullSecrets: s.imagePullSecrets,
    securityContext: s.securityContext,
    scratchVolume: s.volumes?.some((v) => v.name === 'scratch' && v.emptyDir),
    initContainers: s.initContainers?.map((x) => [x.name, x.restartPolicy ?? '', x.securityContext]),
    containers: s.containers.map((x) => x.name),
    resources: c.resources,
    env: c.env?.find((e) => e.name === 'MY_VAR')?.value,
    envFrom: c.envFrom,
    scratchMount: c.volumeMounts?.some((m) => m.name === 'scratch' && m.mountPath === '/scratch'),
  };
}

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
const expected = (main: string) => ({
  labels: 'vision',
  annotations: 'ana',
  hostnameSelector: `node-${env.ns}`,
  toleration: true,
  affinity: [{ matchExpressions: [{ key: 'node.jcl.dev/harness', operator: 'In', values: ['true'] }] }],
  priorityClassName: priorityClass,
  runtimeClassName: runtimeClass,
  serviceAccountName: 'trainer',
  imagePullSecrets: [{ name: 'regcred' }],
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 2000,
    runAsGroup: 2000,
    fsGroup: 3000,
    supplementalGroups: [4000],
    seccompProfile: { type: 'RuntimeDefault' },
  },
  scratchVolume: true,
  initContainers: [
    ['prepare', '', restricted],
    ['ship', 'Always', restricted],
  ],
  containers: [main],
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
  env: 'mine',
  envFrom: [{ configMapRef: { name: 'team-env' } }],
  scratchMount: true,
});

describe('spec.template on the real apiserver, Pod Security "restricted" enforced', () => {
  it('worker and evaluation pods carry every template field, are admitted, and complete despite the sidecar', async () => {
    await env.jobs.create('full', fullTemplate(`node-${env.ns}`));
    await waitFor('full', 'Running 2/2', (j) => j.status?.phase === 'Running' && j.status.ready === '2/2');
    for (const rank of [0, 1]) {
      const pod = await core.readNamespacedPod({ namespace: env.ns, name: `full-worker-${rank}` });
      expect(templateFields(pod, 'worker'), `worker ${rank}`).toEqual(expected('worker'));
      expect(pod.spec?.priority).toBe(1000); // the PriorityClass was resolved at admission
    }
    const done = await waitFor('full', 'Succeeded and Evaluated', (j) => {
      return j.status?.phase === 'Succeeded' && condition(j, 'Evaluated')?.status === 'True';
    });
    expect(done.status?.evaluation?.results.map((r) => [r.kind, r.phase])).toEqual([['knn', 'Succeeded']]);
    const evalPods = (
      await core.listNamespacedPod({
        namespace: env.ns,
        labelSelector: 'batch.kubernetes.io/job-name=full-eval-0',
      })
    ).items;
    expect(evalPods).toHaveLength(1);
    expect(templateFields(evalPods[0], 'eval')).toEqual(expected('eval'));
    expect(evalPods[0].status?.phase).toBe('Succeeded');
  });

  it('a template outside "restricted" is refused at admission, naming each field and value', async () => {
    const spec = fakeSpec();
    const err = await env.jobs
      .create('root', {
        ...spec,
        template: {
          ...spec.template,
          podSecurityContext: { runAsUser: 0 },
          sidecars: [{ name: 'ship', image, securityContext: { privileged: true } }],
          initContainers: [
            { name: 'prep', image, securityContext: { runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } } },
          ],
        },
      })
      .then(
        () => 'accepted',
        (e: unknown) => (JSON.parse(String((e as { body?: string }).body)) as { message: string }).message,
      );
    for (const want of [
      /spec\.template\.podSecurityContext\.runAsUser: Invalid value: 0: .*greater than or equal to 1/,
      /spec\.template\.sidecars\[0\]\.securityContext\.privileged: Forbidden: spec\.template\.sidecars\[\]\.securityContext\.privileged: must be false \(Pod Security "restricted"\), got true/,
      /spec\.template\.initContainers\[0\]\.securityContext\.runAsUser: Forbidden: .*must be non-zero/,
      /spec\.template\.initContainers\[0\]\.securityContext\.capabilities\.add: Forbidden: .*only NET_BIND_SERVICE may be added .*got \["SYS_ADMIN"\]/,
    ])
      expect(err).toMatch(want);
  });

  it('what only Pod Security admission judges (seccomp Unconfined) fails the pod create with the container and field named', async () => {
    const spec = fakeSpec({ checkpoints: { claimName: 'ckpt' } });
    await env.jobs.create('unconfined', {
      ...spec,
      template: {
        ...spec.template,
        sidecars: [{ name: 'ship', image, securityContext: { seccompProfile: { type: 'Unconfined' } } }],
      },
    });
    const job = await waitFor(
      'unconfined',
      'CreateFailed',
      (j) => condition(j, 'CreateFailed')?.status === 'True',
    );
    expect(condition(job, 'CreateFailed')?.message).toMatch(
      /^cannot create Pod unconfined-worker-0: Forbidden: .*violates PodSecurity "restricted:latest": seccompProfile \(container "ship" must not set securityContext\.seccompProfile\.type to "Unconfined"\)/,
    );
    expect(job.status?.phase).toBe('Pending');
  });
});
