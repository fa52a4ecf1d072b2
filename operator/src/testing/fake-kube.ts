/**
 * An in-memory apiserver for reconciler tests: KubeClient writes land in `objects`, and the same map is
 * the informer cache (ObjectCache), so "what the operator sees" and "what it wrote" are one state.
 */
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import type { KubeClient } from '../kube/kube-client.ts';
import type { ObjectCache } from '../reconcile/reconciler.ts';
import type { JobEvent } from '../status/observed.ts';

const apiError = (code: number, reason: string) =>
  Object.assign(new Error(reason), { code, body: { reason } });
const key = (kind: string | undefined, ns: string | undefined, name: string | undefined) =>
  `${kind}/${ns}/${name}`;

export class FakeKube implements KubeClient, ObjectCache {
  readonly objects = new Map<string, KubernetesObject>();
  readonly calls: string[] = [];
  readonly events: JobEvent[] = [];
  /** Make the next status write fail with 409 (a concurrent writer). */
  conflictNext = false;
  private rv = 1;

  addJob(job: JCLTrainingJob): void {
    this.objects.set(key('JCLTrainingJob', job.metadata?.namespace, job.metadata?.name), {
      ...job,
      metadata: { ...job.metadata, resourceVersion: String(this.rv++) },
    });
  }

  job(ns = 'ns', name = 'demo'): JCLTrainingJob {
    return this.objects.get(key('JCLTrainingJob', ns, name)) as JCLTrainingJob;
  }

  ofKind<T extends KubernetesObject>(kind: string): T[] {
    return [...this.objects.values()].filter((o) => o.kind === kind) as T[];
  }

  async create(obj: KubernetesObject): Promise<void> {
    this.calls.push(`create ${obj.kind} ${obj.metadata?.name}`);
    const k = key(obj.kind, obj.metadata?.namespace, obj.metadata?.name);
    if (this.objects.has(k)) throw apiError(409, 'AlreadyExists');
    this.objects.set(k, structuredClone(obj));
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    this.calls.push(`delete Pod ${name}`);
    if (!this.objects.delete(key('Pod', namespace, name))) throw apiError(404, 'NotFound');
  }

  async annotatePod(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    this.calls.push(`annotate Pod ${name} ${JSON.stringify(annotations)}`);
    const pod = this.objects.get(key('Pod', namespace, name)) as V1Pod | undefined;
    if (!pod) throw apiError(404, 'NotFound');
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } };
  }

  async deleteTrainingJob(namespace: string, name: string): Promise<void> {
    this.calls.push(`delete JCLTrainingJob ${name}`);
    if (!this.objects.delete(key('JCLTrainingJob', namespace, name))) throw apiError(404, 'NotFound');
  }

  async replaceStatus(job: JCLTrainingJob): Promise<JCLTrainingJob> {
    this.calls.push(`status ${job.metadata?.name} ${job.status?.phase}`);
    const stored = this.job(job.metadata?.namespace, job.metadata?.name);
    if (!stored) throw apiError(404, 'NotFound');
    if (this.conflictNext || stored.metadata?.resourceVersion !== job.metadata?.resourceVersion) {
      this.conflictNext = false;
      throw apiError(409, 'Conflict');
    }
    const next = {
      ...stored,
      status: structuredClone(job.status),
      metadata: { ...stored.metadata, resourceVersion: String(this.rv++) },
    };
    this.objects.set(key('JCLTrainingJob', job.metadata?.namespace, job.metadata?.name), next);
    return next;
  }

  async readToken(namespace: string, name: string): Promise<string | undefined> {
    return (
      this.objects.get(key('Secret', namespace, name)) as { stringData?: Record<string, string> } | undefined
    )?.stringData?.token;
  }

  async createEvent(_job: JCLTrainingJob, event: JobEvent): Promise<void> {
    this.events.push(event);
  }

  /** Let the fake kubelet move a pod. */
  setPod(name: string, status: V1Pod['status'], ns = 'ns'): void {
    const pod = this.objects.get(key('Pod', ns, name)) as V1Pod;
    pod.status = status;
  }

  getJob(namespace: string, name: string): JCLTrainingJob | undefined {
    return this.job(namespace, name);
  }
  listPods(namespace: string): V1Pod[] {
    return this.ofKind<V1Pod>('Pod').filter((p) => p.metadata?.namespace === namespace);
  }
  listBatchJobs(namespace: string): V1Job[] {
    return this.ofKind<V1Job>('Job').filter((p) => p.metadata?.namespace === namespace);
  }
  hasService(namespace: string, name: string): boolean {
    return this.objects.has(key('Service', namespace, name));
  }
}

export const silentLogger = () => pino({ level: 'silent' });
