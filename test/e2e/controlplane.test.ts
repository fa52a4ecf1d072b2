/**
 * The real control plane (issue 5): what the operator's e2e tests rely on from the apiserver and the
 * controllers. Each test states one behaviour; the node harness has its own file (node-harness.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  VersionApi,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveBinDir } from '../harness/control-plane.ts';
import { useControlPlane, useTestNamespaces } from '../harness/e2e-context.ts';
import { createServiceAccountIdentity } from '../harness/restricted-identity.ts';
import { describeError, pollUntil } from '../harness/wait.ts';

const run = promisify(execFile);
const plane = useControlPlane();
const kc: KubeConfig = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const namespace = useTestNamespaces(kc);

/** The error a rejected API call carries: HTTP code and the Status message. */
async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    const parsed =
      typeof body === 'string'
        ? (JSON.parse(body) as { message?: string })
        : (body as { message?: string } | undefined);
    return { code: (err as { code?: number }).code ?? 0, message: parsed?.message ?? describeError(err) };
  }
  throw new Error('expected the API call to be rejected, but it succeeded');
}

describe('control plane', () => {
  it('serves the pinned Kubernetes release, started from the cache within the deadline', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.34.4');
    if (plane.startupMs > 0) expect(plane.startupMs).toBeLessThan(180_000);
  });

  it('is reachable with the built kubectl and helm through the admin kubeconfig', async () => {
    const bin = resolveBinDir();
    const kubectl = await run(path.join(bin, 'kubectl'), [
      '--kubeconfig',
      plane.kubeconfigPath,
      'get',
      'namespace',
      'kube-system',
      '-o',
      'name',
    ]);
    expect(kubectl.stdout.trim()).toBe('namespace/kube-system');
    const helm = await run(path.join(bin, 'helm'), [
      '--kubeconfig',
      plane.kubeconfigPath,
      'list',
      '--all-namespaces',
      '-o',
      'json',
    ]);
    expect(JSON.parse(helm.stdout)).toEqual([]);
  });

  it('rejects a custom resource with an invalid field and names the field', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const group = 'e2e.jcl.dev';
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: {
                        replicas: { type: 'integer', minimum: 1 },
                        mode: { type: 'string', _enum: ['fast', 'slow'] },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await pollUntil(
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
          ? true
          : undefined;
      },
      { timeoutMs: 60_000, description: 'CRD widgets Established' },
    );
    const ns = await namespace('crd');
    const objects = kc.makeApiClient(CustomObjectsApi);
    // A fresh CRD's endpoint is served a moment after Established.
    await pollUntil(
      () => objects.listNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets' }),
      {
        timeoutMs: 30_000,
        description: 'widgets endpoint served',
      },
    );
    const create = (spec: Record<string, unknown>) =>
      objects.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'widgets',
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec },
      });
    const bad = await rejection(create({ replicas: 0, mode: 'warp' }));
    expect(bad.code).toBe(422);
    expect(bad.message).toContain('spec.replicas');
    expect(bad.message).toContain('spec.mode');
    await create({ replicas: 2, mode: 'fast' });
  });

  it('enforces PodSecurity restricted: a privileged pod is rejected, a compliant one admitted', async () => {
    const ns = await namespace('psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const privileged: V1Pod = {
      metadata: { name: 'privileged' },
      spec: { containers: [{ name: 'main', image: 'busybox', securityContext: { privileged: true } }] },
    };
    const refused = await rejection(core.createNamespacedPod({ namespace: ns, body: privileged }));
    expect(refused.code).toBe(403);
    expect(refused.message).toContain('violates PodSecurity "restricted:latest"');
    expect(refused.message).toContain('privileged');
    const compliant: V1Pod = {
      metadata: { name: 'compliant' },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'main',
            image: 'busybox',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
    const admitted = await core.createNamespacedPod({ namespace: ns, body: compliant });
    expect(admitted.metadata?.uid).toBeTruthy();
  });

  it('garbage-collects dependents when their owner is deleted', async () => {
    const ns = await namespace('gc');
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' }, data: { a: '1' } },
    });
    const ownerReferences = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'owner',
        uid: owner.metadata?.uid ?? '',
        blockOwnerDeletion: true,
      },
    ];
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'child-1', ownerReferences }, data: {} },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'child-2', ownerReferences }, stringData: { k: 'v' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns, propagationPolicy: 'Background' });
    await pollUntil(
      async () => {
        const cms = await core.listNamespacedConfigMap({ namespace: ns });
        const secrets = await core.listNamespacedSecret({ namespace: ns });
        const left = [...cms.items, ...secrets.items]
          .map((o) => o.metadata?.name)
          .filter((n) => n?.startsWith('child-'));
        return left.length === 0 ? true : undefined;
      },
      {
        timeoutMs: 90_000,
        description: 'garbage collector deleting child-1 and child-2',
        diagnose: () => plane.logTails(),
      },
    );
  });

  it('refuses a restricted ServiceAccount what RBAC does not grant', async () => {
    const ns = await namespace('rbac');
    const reader = await createServiceAccountIdentity(kc, {
      namespace: ns,
      name: 'reader',
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    });
    const asReader = reader.kubeConfig.makeApiClient(CoreV1Api);
    const listed = await pollUntil(() => asReader.listNamespacedConfigMap({ namespace: ns }), {
      timeoutMs: 30_000,
      description: 'reader can list configmaps',
    });
    expect(listed.items.some((c) => c.metadata?.name === 'kube-root-ca.crt')).toBe(true);
    const secrets = await rejection(asReader.listNamespacedSecret({ namespace: ns }));
    expect(secrets.code).toBe(403);
    expect(secrets.message).toContain(`User "${reader.username}" cannot list resource "secrets"`);
    const write = await rejection(
      asReader.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } }),
    );
    expect(write.code).toBe(403);
    const otherNs = await rejection(asReader.listNamespacedConfigMap({ namespace: 'default' }));
    expect(otherNs.code).toBe(403);
  });
});
