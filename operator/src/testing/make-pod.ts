/** Fluent worker-pod fixtures: makePod('demo', rank).generation(1).running().ready().obj(). */
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_JOB_NAME, LABEL_RANK, LABEL_RESTART_GENERATION } from '../api/constants.ts';

export class PodWrapper {
  private readonly pod: V1Pod;

  constructor(job: string, rank: number) {
    this.pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${job}-worker-${rank}`,
        namespace: 'ns',
        labels: {
          [LABEL_JOB_NAME]: job,
          'app.kubernetes.io/component': 'worker',
          [LABEL_RANK]: String(rank),
          [LABEL_RESTART_GENERATION]: '0',
        },
      },
      status: { phase: 'Pending' },
    };
  }
  generation(g: number): this {
    this.pod.metadata!.labels![LABEL_RESTART_GENERATION] = String(g);
    return this;
  }
  running(): this {
    this.pod.status = { ...this.pod.status, phase: 'Running', podIP: '10.0.0.1' };
    return this;
  }
  ready(): this {
    this.pod.status = { ...this.pod.status, conditions: [{ type: 'Ready', status: 'True' }] };
    return this;
  }
  /** Created at `iso` (the schedule timeout counts from the oldest unplaced pod). */
  createdAt(iso: string): this {
    this.pod.metadata!.creationTimestamp = new Date(iso);
    return this;
  }
  /** Pending and not bound, with the scheduler's PodScheduled=False reason and message. */
  unschedulable(
    reason = 'Unschedulable',
    message = '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
  ): this {
    this.pod.status = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason, message }],
    };
    return this;
  }
  /** Bound to `node` (spec.nodeName), as the scheduler leaves it. */
  bound(node = 'node-1'): this {
    this.pod.spec = { ...this.pod.spec, containers: this.pod.spec?.containers ?? [], nodeName: node };
    return this;
  }
  annotate(annotations: Record<string, string>): this {
    this.pod.metadata!.annotations = { ...this.pod.metadata!.annotations, ...annotations };
    return this;
  }
  /** Being deleted (deletionTimestamp set; a finalizer, e.g. Kueue's, holds it). */
  terminating(): this {
    this.pod.metadata!.deletionTimestamp = new Date('2026-01-01T00:09:30Z');
    return this;
  }
  succeeded(): this {
    return this.terminated('Succeeded', 0, '');
  }
  /** A failed worker: exit code and termination message as the kubelet reports them. */
  failed(exitCode: number, message = ''): this {
    return this.terminated('Failed', exitCode, message);
  }
  evicted(): this {
    this.pod.status = {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    };
    return this;
  }
  private terminated(phase: 'Succeeded' | 'Failed', exitCode: number, message: string): this {
    this.pod.status = {
      phase,
      containerStatuses: [
        {
          name: 'worker',
          image: 'jcl',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode,
              message: message || undefined,
              reason: exitCode === 0 ? 'Completed' : 'Error',
            },
          },
        },
      ],
    };
    return this;
  }
  obj(): V1Pod {
    return structuredClone(this.pod);
  }
}

export const makePod = (job: string, rank: number): PodWrapper => new PodWrapper(job, rank);
