import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildWorkerPod, templateHash } from './worker-pod.ts';
import { buildEvalJob } from './eval-job.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';
import { restricted } from '../testing/desired-fixtures.ts';

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
      'init containers, then the sidecars as native sidecars (restartPolicy Always), restricted where unset',
      pod.spec?.initContainers,
      [
        { name: 'fetch', image: 'busybox', command: ['true'], securityContext: restricted },
        {
          name: 'ship',
          image: 'fluent-bit',
          restartPolicy: 'Always',
          securityContext: { ...restricted, readOnlyRootFilesystem: false },
        },
      ],
    ],
    ['the worker is the only container', pod.spec?.containers.map((c) => c.name), ['worker']],
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
    [
      'eval pods: the same init containers and native sidecars (a sidecar in containers would never let the Job complete)',
      evalPod?.spec?.initContainers,
      pod.spec?.initContainers,
    ],
    ['eval pods: jcl eval is the only container', evalPod?.spec?.containers.map((c) => c.name), ['eval']],
  ])('%s', (_what, got, want) => {
    expect(got).toEqual(want);
  });
});
