/**
 * What a node harness (node-harness.ts) is started with: its Nodes, the namespaces it serves, who binds
 * pods, and how it runs them; plus the fault rule type of `preventStart`.
 */
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';

/** One Node of a harness (`nodes` option). */
export interface HarnessNode {
  name: string;
  /** Merged over the harness's `allocatable`. */
  allocatable?: Record<string, string>;
  labels?: Record<string, string>;
}

/** Options of {@link NodeHarness.start}. */
export interface NodeHarnessOptions {
  kubeConfig: KubeConfig;
  /** Name of the single node (and of the pool); ignored for the nodes when `nodes` is given. */
  nodeName?: string;
  /** Several Nodes served by this harness (one hosts file: pods on different nodes resolve each other). */
  nodes?: HarnessNode[];
  /**
   * Only run pods of these namespaces (lets several harnesses share a plane). With the scheduler binding,
   * the harness's nodes form a pool (label + NoSchedule taint `node.jcl.dev/pool=<nodeName>`) and these
   * namespaces are annotated so that admission gives their pods the pool's node selector and toleration.
   * Default: all namespaces, nodes without a pool.
   */
  namespaces?: string[];
  /**
   * Who binds pending pods: the plane's kube-scheduler (default), or the harness itself (every
   * `default-scheduler` pod of `namespaces` to the first node; for a plane without a scheduler).
   */
  binder?: 'scheduler' | 'harness';
  /** Default: a fresh dir under the OS temp dir, removed by stop(). */
  rootDir?: string;
  cacheDir?: string;
  /** Node allocatable/capacity. Default: cpu 8, memory 32Gi, pods 110, nvidia.com/gpu 4. */
  allocatable?: Record<string, string>;
  labels?: Record<string, string>;
  /** image -> argv for containers without `command` (the image's ENTRYPOINT). */
  entrypoints?: Record<string, string[]>;
  /** argv[0] -> replacement prefix, e.g. `{ jcl: ['node', '/repo/bin/jcl.js'] }`. */
  commandMap?: Record<string, string[]>;
  /** Extra environment for every pod process (below the pod's own env). */
  extraEnv?: Record<string, string>;
  /** Upper bound on a deleted pod's grace period. Default 10 s. */
  maxGraceMs?: number;
  pollIntervalMs?: number;
  restartBackoffMs?: number;
}

/** Fault: pods matching are bound but never start (stay Pending, container waiting with `reason`). */
export interface NeverStartRule {
  match: (pod: V1Pod) => boolean;
  reason: string;
}
