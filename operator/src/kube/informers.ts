/**
 * Informer caches (client-node makeInformer) for JCLTrainingJobs and the pods, Services and batch Jobs
 * the operator manages, per watched namespace (or cluster-wide), each under a supervisor that
 *  - restarts the informer after a watch error, with exponential backoff (1 s … 30 s);
 *  - relists when a watch has been silent for `stallMs`: client-node watches can stall without an
 *    error (a half-open connection after an apiserver restart or a LB idle timeout), so a silent
 *    informer is replaced by a fresh one. On a quiet cluster this doubles as the periodic relist.
 */
import {
  BatchV1Api, CoreV1Api, CustomObjectsApi, makeInformer,
  type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache as ClientCache, type V1Job, type V1Pod, type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, LABEL_MANAGED_BY, MANAGER_NAME, PLURAL, VERSION } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import type { RequestCounter } from './kube-client.ts';

type Handler<T> = (verb: 'add' | 'update' | 'delete', obj: T) => void;

export interface SupervisorOptions {
  stallMs: number;
  log: Logger;
  onRestart?: (name: string, why: string) => void;
}

/** One resource in one scope, re-created whenever its watch fails or stalls. */
export class SupervisedInformer<T extends KubernetesObject> {
  private current: (Informer<T> & ClientCache<T>) | undefined;
  private lastActivity = Date.now();
  private failures = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private synced!: Promise<void>;
  private markSynced: () => void = () => {};

  constructor(
    readonly name: string,
    private readonly make: () => Informer<T> & ClientCache<T>,
    private readonly handler: Handler<T>,
    private readonly opts: SupervisorOptions,
  ) {
    this.resetSynced();
  }

  private resetSynced(): void {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Resolves after the first successful list. */
  waitForSync(): Promise<void> {
    return this.synced;
  }

  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.launch();
    const check = Math.max(50, Math.min(this.opts.stallMs / 4, 30_000));
    this.timer = setInterval(() => {
      if (Date.now() - this.lastActivity > this.opts.stallMs) this.restart('no watch activity', 0);
    }, check);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.current?.stop();
  }

  private launch(): void {
    const inf = this.make();
    this.current = inf;
    const touch = () => {
      if (this.current === inf) this.lastActivity = Date.now();
    };
    inf.on('add', (o) => (touch(), this.handler('add', o)));
    inf.on('update', (o) => (touch(), this.handler('update', o)));
    inf.on('delete', (o) => (touch(), this.handler('delete', o)));
    inf.on('connect', touch);
    inf.on('error', (err) => {
      if (this.current !== inf || this.stopped) return;
      this.failures++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures - 1, 5));
      this.opts.log.warn({ informer: this.name, err: String(err?.message ?? err), retryInMs: delay }, 'watch failed; restarting');
      this.restart('watch error', delay);
    });
    this.lastActivity = Date.now();
    inf.start().then(
      () => {
        if (this.current !== inf) return;
        this.failures = 0;
        this.markSynced();
      },
      () => {},
    );
  }

  private restart(why: string, delayMs: number): void {
    if (this.stopped) return;
    const old = this.current;
    this.lastActivity = Date.now() + delayMs;
    this.opts.onRestart?.(this.name, why);
    if (why !== 'watch error') this.opts.log.info({ informer: this.name, why }, 'relisting');
    void old?.stop();
    setTimeout(() => !this.stopped && this.launch(), delayMs).unref();
  }
}

/** What the controller reacts to: a key to reconcile, or a job that is gone. */
export interface InformerEvents {
  onJobKey(key: string): void;
  onJobDeleted(job: JCLTrainingJob): void;
}

export interface InformerSetOptions {
  /** undefined = all namespaces. */
  namespaces?: readonly string[];
  stallMs: number;
  log: Logger;
  count: RequestCounter;
  onRestart?: (name: string, why: string) => void;
}

/** All informers of the operator, with lookups shaped for the reconciler's ObjectCache. */
export class InformerSet {
  readonly jobs: SupervisedInformer<JCLTrainingJob>[] = [];
  readonly pods: SupervisedInformer<V1Pod>[] = [];
  readonly services: SupervisedInformer<V1Service>[] = [];
  readonly batchJobs: SupervisedInformer<V1Job>[] = [];

  constructor(kc: KubeConfig, events: InformerEvents, o: InformerSetOptions) {
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const labelSelector = `${LABEL_MANAGED_BY}=${MANAGER_NAME}`;
    const sup = { stallMs: o.stallMs, log: o.log, onRestart: o.onRestart };
    const owned = (_verb: string, obj: KubernetesObject) => {
      const job = obj.metadata?.labels?.['training.jcl.dev/job-name'];
      if (job) events.onJobKey(`${obj.metadata?.namespace}/${job}`);
    };
    const counted = <T>(resource: string, fn: () => Promise<T>) => () => {
      o.count('list', resource);
      return fn();
    };
    for (const ns of o.namespaces ?? [undefined]) {
      const scope = ns ?? '*';
      const nsPath = ns ? `/namespaces/${ns}` : '';
      this.jobs.push(
        new SupervisedInformer<JCLTrainingJob>(
          `jcltrainingjobs@${scope}`,
          () =>
            makeInformer<JCLTrainingJob>(
              kc,
              `/apis/${GROUP}/${VERSION}${nsPath}/${PLURAL}`,
              counted('JCLTrainingJob', () =>
                (ns
                  ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
                  : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<KubernetesListObject<JCLTrainingJob>>,
              ),
            ),
          (verb, job) => (verb === 'delete' ? events.onJobDeleted(job) : events.onJobKey(`${job.metadata?.namespace}/${job.metadata?.name}`)),
          sup,
        ),
      );
      this.pods.push(
        new SupervisedInformer<V1Pod>(
          `pods@${scope}`,
          () => makeInformer<V1Pod>(kc, `/api/v1${nsPath}/pods`, counted('Pod', () => (ns ? core.listNamespacedPod({ namespace: ns, labelSelector }) : core.listPodForAllNamespaces({ labelSelector }))), labelSelector),
          owned,
          sup,
        ),
      );
      this.services.push(
        new SupervisedInformer<V1Service>(
          `services@${scope}`,
          () =>
            makeInformer<V1Service>(kc, `/api/v1${nsPath}/services`, counted('Service', () => (ns ? core.listNamespacedService({ namespace: ns, labelSelector }) : core.listServiceForAllNamespaces({ labelSelector }))), labelSelector),
          owned,
          sup,
        ),
      );
      this.batchJobs.push(
        new SupervisedInformer<V1Job>(
          `jobs.batch@${scope}`,
          () => makeInformer<V1Job>(kc, `/apis/batch/v1${nsPath}/jobs`, counted('Job', () => (ns ? batch.listNamespacedJob({ namespace: ns, labelSelector }) : batch.listJobForAllNamespaces({ labelSelector }))), labelSelector),
          owned,
          sup,
        ),
      );
    }
  }

  private all(): SupervisedInformer<KubernetesObject>[] {
    return [...this.jobs, ...this.pods, ...this.services, ...this.batchJobs] as SupervisedInformer<KubernetesObject>[];
  }

  async start(): Promise<void> {
    await Promise.all(this.all().map((i) => i.start()));
  }

  /** Resolves once every informer has listed once (the caches are complete). */
  async waitForSync(): Promise<void> {
    await Promise.all(this.all().map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }

  getJob(namespace: string, name: string): JCLTrainingJob | undefined {
    for (const inf of this.jobs) {
      const j = inf.get(name, namespace);
      if (j) return j;
    }
    return undefined;
  }

  listJobs(): JCLTrainingJob[] {
    return this.jobs.flatMap((i) => [...i.list()]);
  }

  listPods(namespace: string): V1Pod[] {
    return this.pods.flatMap((i) => [...i.list(namespace)]);
  }

  listBatchJobs(namespace: string): V1Job[] {
    return this.batchJobs.flatMap((i) => [...i.list(namespace)]);
  }

  hasService(namespace: string, name: string): boolean {
    return this.services.some((i) => i.get(name, namespace) !== undefined);
  }
}
