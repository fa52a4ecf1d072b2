import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isKeptRule, kueueConfiguration, loopbackWebhookConfigurations } from './kueue-webhooks.ts';

/** A webhook entry the way Kueue's config/components/webhook/manifests.yaml writes one. */
const hook = (name: string, path: string, apiGroups: string[], resources: string[]) => ({
  admissionReviewVersions: ['v1'],
  clientConfig: { service: { name: 'webhook-service', namespace: 'system', path } },
  failurePolicy: 'Fail',
  name,
  rules: [{ apiGroups, apiVersions: ['v1'], operations: ['CREATE'], resources }],
  sideEffects: 'None',
});
const MANIFEST = [
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'mutating-webhook-configuration' },
    webhooks: [
      hook('mpod.kb.io', '/mutate--v1-pod', [''], ['pods']),
      hook('mjob.kb.io', '/mutate-batch-v1-job', ['batch'], ['jobs']),
      hook('mworkload.kb.io', '/mutate-kueue-x-k8s-io-v1beta2-workload', ['kueue.x-k8s.io'], ['workloads']),
    ],
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'validating-webhook-configuration' },
    webhooks: [
      hook('vpod.kb.io', '/validate--v1-pod', [''], ['pods']),
      hook('vrayjob.kb.io', '/validate-ray-io-v1-rayjob', ['ray.io'], ['rayjobs']),
    ],
  },
]
  .map((d) => stringify(d))
  .join('---\n');
const TARGET = { name: 'e2e-kueue', port: 40123, caPem: 'PEM', namespaces: ['ns-a', 'ns-b'] };

describe('isKeptRule', () => {
  it.each([
    { apiGroups: [''], resources: ['pods'], kept: true },
    { apiGroups: ['kueue.x-k8s.io'], resources: ['clusterqueues'], kept: true },
    { apiGroups: ['batch'], resources: ['jobs'], kept: false },
    { apiGroups: [''], resources: ['services'], kept: false },
    { apiGroups: ['', 'batch'], resources: ['pods'], kept: false },
    { apiGroups: [], resources: ['pods'], kept: false },
  ])('$apiGroups $resources -> $kept', ({ apiGroups, resources, kept }) => {
    expect(isKeptRule({ apiGroups, resources, apiVersions: ['v1'], operations: ['CREATE'] })).toBe(kept);
  });
});

describe('loopbackWebhookConfigurations', () => {
  const { mutating, validating } = loopbackWebhookConfigurations(MANIFEST, TARGET);

  it('keeps the pod and kueue.x-k8s.io webhooks only, in unique configurations', () => {
    expect(mutating.metadata?.name).toBe('e2e-kueue-mutating');
    expect(validating.metadata?.name).toBe('e2e-kueue-validating');
    expect(mutating.webhooks?.map((w) => w.name)).toEqual(['mpod.kb.io', 'mworkload.kb.io']);
    expect(validating.webhooks?.map((w) => w.name)).toEqual(['vpod.kb.io']);
  });

  it('calls the loopback server at the webhook path, trusting the given CA', () => {
    expect(mutating.webhooks?.[0].clientConfig).toEqual({
      url: 'https://127.0.0.1:40123/mutate--v1-pod',
      caBundle: Buffer.from('PEM').toString('base64'),
    });
    expect(validating.webhooks?.[0].clientConfig.url).toBe('https://127.0.0.1:40123/validate--v1-pod');
  });

  it('limits every kept webhook to the given namespaces and keeps its failure policy', () => {
    for (const w of [...(mutating.webhooks ?? []), ...(validating.webhooks ?? [])]) {
      expect(w.namespaceSelector).toEqual({
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ns-a', 'ns-b'] }],
      });
      expect(w.failurePolicy).toBe('Fail');
    }
  });

  it.each([
    { name: 'no namespaces', manifest: MANIFEST, namespaces: [], error: /namespaces must not be empty/ },
    {
      name: 'no validating configuration',
      manifest: stringify({ kind: 'MutatingWebhookConfiguration', webhooks: [] }),
      namespaces: ['ns'],
      error: /has no ValidatingWebhookConfiguration/,
    },
    {
      name: 'a webhook without a service path',
      manifest: stringify({
        kind: 'MutatingWebhookConfiguration',
        webhooks: [{ ...hook('mpod.kb.io', '', [''], ['pods']), clientConfig: { url: 'https://x' } }],
      }),
      namespaces: ['ns'],
      error: /mpod\.kb\.io has no clientConfig\.service\.path/,
    },
  ])('fails clearly on $name', ({ manifest, namespaces, error }) => {
    expect(() => loopbackWebhookConfigurations(manifest, { ...TARGET, namespaces })).toThrow(error);
  });
});

describe('kueueConfiguration', () => {
  it('serves on loopback with its own certificate, the pod framework only, in the given namespaces', () => {
    const c = kueueConfiguration({
      webhookPort: 1,
      healthPort: 2,
      certDir: '/certs',
      namespace: 'kueue-system',
      namespaces: ['ns-a'],
    });
    expect(c).toMatchObject({
      apiVersion: 'config.kueue.x-k8s.io/v1beta2',
      webhook: { port: 1, host: '127.0.0.1', certDir: '/certs' },
      health: { healthProbeBindAddress: '127.0.0.1:2' },
      internalCertManagement: { enable: false },
      leaderElection: { leaderElect: false },
      integrations: { frameworks: ['pod'] },
      managedJobsNamespaceSelector: {
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ns-a'] }],
      },
    });
  });
});
