/**
 * Pure construction of the pod status a kubelet would report: phase, the four standard conditions and
 * container statuses, from the harness's record of what its processes did. Also the pure decisions of the
 * runtime: pod phase after exits, restart or not, and the termination reason.
 */
import type { V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/** What the harness knows about one container. */
export interface ContainerRecord {
  name: string;
  image: string;
  state: 'waiting' | 'running' | 'terminated';
  /** waiting: ContainerCreating, ImagePullBackOff, CreateContainerConfigError, CrashLoopBackOff; terminated: Completed, Error, OOMKilled. */
  reason?: string;
  message?: string;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  signal?: number;
  restartCount: number;
  containerID?: string;
  /** An init container with restartPolicy Always (a native sidecar): it runs beside the containers. */
  sidecar?: boolean;
  lastTerminated?: {
    exitCode: number;
    reason: string;
    message?: string;
    startedAt?: Date;
    finishedAt?: Date;
    containerID?: string;
  };
}

/** What the harness knows about one pod. */
export interface PodRecord {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  podIP?: string;
  hostIP: string;
  startTime: Date;
  initContainers: ContainerRecord[];
  containers: ContainerRecord[];
  reason?: string;
  message?: string;
}

/** Restart policies of pods (per container, only Always: a native sidecar, see ContainerRecord.sidecar). */
export type RestartPolicy = 'Never' | 'OnFailure' | 'Always';

/** Whether a container that exited with `exitCode` is started again. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Reason of a terminated container: OOMKilled for an unexplained SIGKILL (the kernel OOM killer's signal). */
export function terminationReason(exitCode: number, killedByHarness: boolean, signal: string | null): string {
  if (exitCode === 0) return 'Completed';
  if (signal === 'SIGKILL' && !killedByHarness) return 'OOMKilled';
  return 'Error';
}

/** Phase once every container of a pod that is not restarted has terminated. */
export function terminalPhase(containers: readonly ContainerRecord[]): 'Succeeded' | 'Failed' {
  return containers.every((c) => c.state === 'terminated' && c.exitCode === 0) ? 'Succeeded' : 'Failed';
}

function containerStatus(c: ContainerRecord): V1ContainerStatus {
  const status: V1ContainerStatus = {
    name: c.name,
    image: c.image,
    imageID: `harness://${c.image}`,
    ready: c.state === 'running',
    started: c.state === 'running',
    restartCount: c.restartCount,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    state:
      c.state === 'running'
        ? { running: { startedAt: c.startedAt } }
        : c.state === 'terminated'
          ? {
              terminated: {
                exitCode: c.exitCode ?? 0,
                ...(c.signal ? { signal: c.signal } : {}),
                reason: c.reason,
                ...(c.message ? { message: c.message } : {}),
                startedAt: c.startedAt,
                finishedAt: c.finishedAt,
                containerID: c.containerID,
              },
            }
          : {
              waiting: {
                reason: c.reason ?? 'ContainerCreating',
                ...(c.message ? { message: c.message } : {}),
              },
            },
  };
  if (c.lastTerminated) status.lastState = { terminated: { ...c.lastTerminated } };
  return status;
}

function condition(type: string, ok: boolean, now: Date, reason?: string): V1PodCondition {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: now,
    lastProbeTime: undefined,
    ...(!ok && reason ? { reason } : {}),
  };
}

/** The full status subresource body for `record` at time `now`. */
export function buildPodStatus(record: PodRecord, now: Date): V1PodStatus {
  const terminal = record.phase === 'Succeeded' || record.phase === 'Failed';
  // Initialized: every init container completed, every native sidecar started (as the kubelet has it).
  const initialized = record.initContainers.every((c) =>
    c.sidecar ? c.state !== 'waiting' : c.state === 'terminated' && c.exitCode === 0,
  );
  const allRunning =
    record.containers.length > 0 &&
    [...record.containers, ...record.initContainers.filter((c) => c.sidecar)].every(
      (c) => c.state === 'running',
    );
  const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  return {
    phase: record.phase,
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.message ? { message: record.message } : {}),
    hostIP: record.hostIP,
    hostIPs: [{ ip: record.hostIP }],
    ...(record.podIP ? { podIP: record.podIP, podIPs: [{ ip: record.podIP }] } : {}),
    startTime: record.startTime,
    conditions: [
      condition('PodReadyToStartContainers', record.podIP !== undefined, now),
      condition('Initialized', initialized, now, terminal ? 'PodCompleted' : 'ContainersNotInitialized'),
      condition('Ready', allRunning && !terminal, now, notReadyReason),
      condition('ContainersReady', allRunning && !terminal, now, notReadyReason),
      condition('PodScheduled', true, now),
    ],
    ...(record.initContainers.length > 0
      ? { initContainerStatuses: record.initContainers.map(containerStatus) }
      : {}),
    containerStatuses: record.containers.map(containerStatus),
  };
}
