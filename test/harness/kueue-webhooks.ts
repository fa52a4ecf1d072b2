/**
 * Kueue's webhook configurations (the module's config/components/webhook/manifests.yaml), rewritten for a
 * manager running on loopback: each kept webhook calls `https://127.0.0.1:<port><path>` with the given CA
 * as caBundle instead of the in-cluster Service, and sees only the given namespaces. Kept: the webhooks
 * of the pod framework and of Kueue's own kinds (kueue.x-k8s.io); the other frameworks' (Job, JobSet,
 * Kubeflow, Ray...) are dropped, as their integrations are not enabled. Pure.
 */
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Where the manager serves and whom it admits. */
export interface LoopbackWebhookTarget {
  /** Prefix of the two configurations' names (they are cluster-scoped: make it unique per run). */
  name: string;
  port: number;
  /** PEM of the CA that signed the manager's serving certificate. */
  caPem: string;
  namespaces: readonly string[];
}

/** Whether a webhook's rules are all about pods or Kueue's own kinds. */
export function isKeptRule(rule: V1RuleWithOperations): boolean {
  const groups = rule.apiGroups ?? [];
  const resources = rule.resources ?? [];
  const pods = groups.every((g) => g === '') && resources.every((r) => r === 'pods' || r === 'pods/status');
  const kueue = groups.every((g) => g === 'kueue.x-k8s.io');
  return groups.length > 0 && (pods || kueue);
}

function retarget<W extends V1MutatingWebhook | V1ValidatingWebhook>(
  webhook: W,
  target: LoopbackWebhookTarget,
): W {
  const servicePath = webhook.clientConfig.service?.path;
  if (!servicePath) throw new Error(`Kueue webhook ${webhook.name} has no clientConfig.service.path`);
  return {
    ...webhook,
    clientConfig: {
      url: `https://127.0.0.1:${target.port}${servicePath}`,
      caBundle: Buffer.from(target.caPem).toString('base64'),
    },
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'In', values: [...target.namespaces] },
      ],
    },
    timeoutSeconds: 10,
  };
}

/** The mutating and validating configurations to create for `manifest` (the YAML text). */
export function loopbackWebhookConfigurations(
  manifest: string,
  target: LoopbackWebhookTarget,
): { mutating: V1MutatingWebhookConfiguration; validating: V1ValidatingWebhookConfiguration } {
  if (target.namespaces.length === 0) throw new Error('Kueue webhooks: namespaces must not be empty');
  const docs = parseAllDocuments(manifest).map((d) => d.toJS() as Record<string, unknown> | null);
  const of = <W extends V1MutatingWebhook | V1ValidatingWebhook>(kind: string): W[] => {
    const doc = docs.find((d) => d?.kind === kind);
    if (!doc) throw new Error(`Kueue webhook manifest has no ${kind}`);
    return ((doc.webhooks ?? []) as W[])
      .filter((w) => (w.rules ?? []).length > 0 && (w.rules ?? []).every(isKeptRule))
      .map((w) => retarget(w, target));
  };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `${target.name}-mutating` },
      webhooks: of<V1MutatingWebhook>('MutatingWebhookConfiguration'),
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `${target.name}-validating` },
      webhooks: of<V1ValidatingWebhook>('ValidatingWebhookConfiguration'),
    },
  };
}

/** Kueue's Configuration (config.kueue.x-k8s.io/v1beta2) for a manager on loopback. */
export function kueueConfiguration(opts: {
  webhookPort: number;
  healthPort: number;
  certDir: string;
  namespace: string;
  namespaces: readonly string[];
}): Record<string, unknown> {
  return {
    apiVersion: 'config.kueue.x-k8s.io/v1beta2',
    kind: 'Configuration',
    namespace: opts.namespace,
    health: { healthProbeBindAddress: `127.0.0.1:${opts.healthPort}` },
    metrics: { bindAddress: '0' },
    webhook: { port: opts.webhookPort, host: '127.0.0.1', certDir: opts.certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
    manageJobsWithoutQueueName: false,
    managedJobsNamespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'In', values: [...opts.namespaces] },
      ],
    },
    integrations: { frameworks: ['pod'] },
    // The on-demand visibility API would be one more server (and an APIService) the tests do not use.
    featureGates: { VisibilityOnDemand: false },
  };
}
