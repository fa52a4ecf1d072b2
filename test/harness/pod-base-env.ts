/**
 * The environment every pod process of the node harness starts from (below the pod's own env): what a
 * container gets from its image and the kubelet (PATH, HOME, HOSTNAME, KUBERNETES_SERVICE_*), the preload
 * that serves cluster DNS from the harness's hosts file (pod-preload.cjs), and the JCL_HARNESS_* values that
 * preload reads. Pure.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pod-preload.cjs');

/** Where a pod runs, for {@link podBaseEnv}. */
export interface PodPlacement {
  pod: V1Pod;
  podIP: string;
  /** The pod's local directory (its HOME and TMPDIR are `<podDir>/tmp`). */
  podDir: string;
  /** The apiserver URL the pods reach (KUBERNETES_SERVICE_HOST/PORT). */
  server: string;
  hostsFile: string;
  /** The harness's extraEnv option. */
  extraEnv?: Record<string, string>;
}

/** The base environment of one pod's processes. */
export function podBaseEnv(p: PodPlacement): Record<string, string> {
  const server = new URL(p.server);
  const hostname = p.pod.spec?.hostname ?? p.pod.metadata?.name ?? '';
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: path.join(p.podDir, 'tmp'),
    TMPDIR: path.join(p.podDir, 'tmp'),
    LANG: 'C.UTF-8',
    HOSTNAME: hostname,
    KUBERNETES_SERVICE_HOST: server.hostname,
    KUBERNETES_SERVICE_PORT: server.port || '443',
    NODE_OPTIONS: `--require=${PRELOAD}`,
    // A kubelet confines each pod to its CPU limit with cgroups, which the workers' `auto` thread count
    // reads; this node runs every pod on the same 2 cores without them, so each pod gets one wasm thread.
    JCL_WASM_THREADS: '1',
    ...p.extraEnv,
    JCL_HARNESS_HOSTS_FILE: p.hostsFile,
    JCL_HARNESS_POD_IP: p.podIP,
    JCL_HARNESS_NAMESPACE: p.pod.metadata?.namespace ?? 'default',
    JCL_HARNESS_HOSTNAME: hostname,
    JCL_HARNESS_POD_DIR: p.podDir,
  };
}
