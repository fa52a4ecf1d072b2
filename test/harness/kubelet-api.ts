/**
 * The API calls a kubelet makes, for the node harness: register the Node and post its Ready status, bind a
 * pod (the scheduler's step, when the harness binds instead of kube-scheduler), annotate a namespace, read what a pod's env and volumes reference, request
 * service-account tokens, write the pod status subresource, and confirm a deletion.
 */
import type { CoreV1Api, V1Node, V1Pod, V1PodStatus, V1Taint } from '@kubernetes/client-node';
import { buildNodeObject, buildReadyNodeStatus, type NodeReadiness } from './node-object.ts';
import type { ReferencedData } from './pod-env.ts';
import type { VolumeSources } from './pod-volumes.ts';

/** Pod conditions the harness owns; others (DisruptionTarget from the Job controller, ...) are preserved. */
const OWN_CONDITIONS = new Set([
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
]);

/** (Re)creates the Node and posts a Ready status. */
export async function registerNode(
  core: CoreV1Api,
  name: string,
  allocatable: Record<string, string>,
  labels: Record<string, string>,
  taints: V1Taint[] = [],
): Promise<void> {
  await core.deleteNode({ name }).catch(() => undefined);
  await core.createNode({ body: buildNodeObject(name, allocatable, labels, taints) });
  await postNodeStatus(core, name, allocatable);
}

/** Posts the node status with a fresh heartbeat (and lifts the taints admission adds at creation). */
export async function postNodeStatus(
  core: CoreV1Api,
  name: string,
  allocatable: Record<string, string>,
  ready: NodeReadiness = 'True',
): Promise<void> {
  const node: V1Node = await core.readNode({ name });
  // TaintNodesByCondition admission adds not-ready taints at creation; no node-lifecycle controller lifts them.
  if (node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'))) {
    node.spec.taints = node.spec.taints.filter((t) => !t.key.startsWith('node.kubernetes.io/'));
    const updated = await core.replaceNode({ name, body: node });
    node.metadata = updated.metadata;
  }
  node.status = buildReadyNodeStatus(allocatable, new Date(), ready);
  await core.replaceNodeStatus({ name, body: node });
}

/** Merges `annotations` into a namespace's metadata (a JSON merge patch). */
export async function annotateNamespace(
  core: CoreV1Api,
  name: string,
  annotations: Record<string, string>,
): Promise<void> {
  const ns = await core.readNamespace({ name });
  ns.metadata = { ...ns.metadata, annotations: { ...ns.metadata?.annotations, ...annotations } };
  await core.replaceNamespace({ name, body: ns });
}

/** Binds `pod` to `nodeName` through the binding subresource (409 when someone else bound it first). */
export async function bindPod(core: CoreV1Api, pod: V1Pod, nodeName: string): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  await core.createNamespacedPodBinding({
    name,
    namespace,
    body: {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    },
  });
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!data) return undefined;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** ConfigMaps, Secrets (decoded) and bound tokens (TokenRequest with the pod as bound object), from the API. */
export function buildVolumeSources(core: CoreV1Api): VolumeSources {
  return {
    configMap: async (namespace, name) =>
      (await core.readNamespacedConfigMap({ name, namespace }).catch(() => undefined))?.data ?? undefined,
    secret: async (namespace, name) =>
      decodeSecret((await core.readNamespacedSecret({ name, namespace }).catch(() => undefined))?.data),
    serviceAccountToken: async (namespace, serviceAccount, audience, expirationSeconds, pod) => {
      const request = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: {
          spec: {
            audiences: audience ? [audience] : [],
            expirationSeconds,
            boundObjectRef: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: pod.metadata?.name,
              uid: pod.metadata?.uid,
            },
          },
        },
      });
      return request.status?.token ?? '';
    },
  };
}

/** Loads every ConfigMap/Secret referenced by the env/envFrom of the pod's containers; missing ones are left out. */
export async function loadReferencedData(sources: VolumeSources, pod: V1Pod): Promise<ReferencedData> {
  const ns = pod.metadata?.namespace ?? 'default';
  const data: ReferencedData = { configMaps: new Map(), secrets: new Map() };
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const configMaps = [
      ...(c.env ?? []).map((e) => e.valueFrom?.configMapKeyRef?.name),
      ...(c.envFrom ?? []).map((e) => e.configMapRef?.name),
    ];
    const secrets = [
      ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
      ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
    ];
    for (const name of configMaps) {
      if (!name || data.configMaps.has(name)) continue;
      const value = await sources.configMap(ns, name);
      if (value) data.configMaps.set(name, value);
    }
    for (const name of secrets) {
      if (!name || data.secrets.has(name)) continue;
      const value = await sources.secret(ns, name);
      if (value) data.secrets.set(name, value);
    }
  }
  return data;
}

/** Replaces the pod's status (read-modify-write, retried on conflict); a vanished or re-created pod is left alone. */
export async function writePodStatus(core: CoreV1Api, pod: V1Pod, status: V1PodStatus): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  for (let attempt = 0; attempt < 10; attempt += 1) {
    let current: V1Pod;
    try {
      current = await core.readNamespacedPodStatus({ name, namespace });
    } catch {
      return; // gone
    }
    if (current.metadata?.uid !== pod.metadata?.uid) return;
    const foreign = (current.status?.conditions ?? []).filter((c) => !OWN_CONDITIONS.has(c.type));
    // qosClass is set by the apiserver at creation from the resources and is immutable: keep it.
    current.status = {
      ...status,
      qosClass: current.status?.qosClass,
      conditions: [...(status.conditions ?? []), ...foreign],
    };
    try {
      await core.replaceNamespacedPodStatus({ name, namespace, body: current });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  throw new Error(`status of ${namespace}/${name}: still conflicting after 10 attempts`);
}

/** The kubelet's final delete (grace 0, uid precondition) once the pod's processes are gone. */
export async function confirmPodDeletion(core: CoreV1Api, pod: V1Pod): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  const uid = pod.metadata?.uid ?? '';
  await core.deleteNamespacedPod({
    name,
    namespace,
    gracePeriodSeconds: 0,
    body: { gracePeriodSeconds: 0, preconditions: { uid } },
  });
}
