/**
 * The fake Node the harness registers: pure builders for the object and for a Ready status with the
 * allocatable resources tests schedule against (cpu, memory, pods and nvidia.com/gpu).
 */
import type { V1Node, V1NodeStatus, V1Taint, V1Toleration } from '@kubernetes/client-node';

/** Default capacity = allocatable of the fake node. */
export const DEFAULT_ALLOCATABLE: Readonly<Record<string, string>> = {
  cpu: '8',
  memory: '32Gi',
  pods: '110',
  'ephemeral-storage': '100Gi',
  'nvidia.com/gpu': '4',
};

/** The Node object as registered (status is written separately through the status subresource). */
export function buildNodeObject(
  name: string,
  allocatable: Record<string, string>,
  labels: Record<string, string>,
  taints: V1Taint[] = [],
): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.jcl.dev/harness': 'true',
        ...labels,
      },
    },
    spec: taints.length > 0 ? { taints } : {},
    status: buildReadyNodeStatus(allocatable, new Date()),
  };
}

/** Value of the node's Ready condition: True, or False/Unknown to simulate a failing node. */
export type NodeReadiness = 'True' | 'False' | 'Unknown';

/** A node status (Ready unless `ready` says otherwise) with a fresh heartbeat. */
export function buildReadyNodeStatus(
  allocatable: Record<string, string>,
  now: Date,
  ready: NodeReadiness = 'True',
): V1NodeStatus {
  const ok = (type: string, reason: string, message: string) => ({
    type,
    status: 'False',
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    capacity: { ...allocatable },
    allocatable: { ...allocatable },
    conditions: [
      ok('MemoryPressure', 'KubeletHasSufficientMemory', 'node harness'),
      ok('DiskPressure', 'KubeletHasNoDiskPressure', 'node harness'),
      ok('PIDPressure', 'KubeletHasSufficientPID', 'node harness'),
      {
        type: 'Ready',
        status: ready,
        reason:
          ready === 'True' ? 'KubeletReady' : ready === 'False' ? 'KubeletNotReady' : 'NodeStatusUnknown',
        message:
          ready === 'True'
            ? 'node harness is posting ready status'
            : 'node harness: readiness set by the test',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: 'localhost' },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      architecture: 'amd64',
      bootID: 'jcl-node-harness',
      containerRuntimeVersion: 'harness://local-processes',
      kernelVersion: 'n/a',
      kubeProxyVersion: 'n/a',
      kubeletVersion: 'v1.34.4',
      machineID: 'jcl-node-harness',
      operatingSystem: 'linux',
      osImage: 'jcl-operator node harness',
      systemUUID: 'jcl-node-harness',
    },
  };
}

/** Label and taint key of a harness node pool (the nodes of one NodeHarness that serves `namespaces`). */
export const POOL_KEY = 'node.jcl.dev/pool';
/** Namespace annotation read by the PodNodeSelector admission plugin. */
export const NODE_SELECTOR_ANNOTATION = 'scheduler.alpha.kubernetes.io/node-selector';
/** Namespace annotation read by the PodTolerationRestriction admission plugin. */
export const DEFAULT_TOLERATIONS_ANNOTATION = 'scheduler.alpha.kubernetes.io/defaultTolerations';

/** The taint that keeps every pod without the pool's toleration off a pool node. */
export function poolTaint(pool: string): V1Taint {
  return { key: POOL_KEY, value: pool, effect: 'NoSchedule' };
}

/**
 * Annotations that make admission give every new pod of a namespace the pool's node selector and toleration,
 * so the real scheduler places them on this pool's nodes only (and other namespaces' pods never land there).
 */
export function poolNamespaceAnnotations(pool: string): Record<string, string> {
  const toleration: V1Toleration = { key: POOL_KEY, operator: 'Equal', value: pool, effect: 'NoSchedule' };
  return {
    [NODE_SELECTOR_ANNOTATION]: `${POOL_KEY}=${pool}`,
    [DEFAULT_TOLERATIONS_ANNOTATION]: JSON.stringify([toleration]),
  };
}
