/**
 * The operator's informer caches: JCLTrainingJobs and the pods, Services and batch Jobs it manages (by
 * the managed-by label), per watched namespace or cluster-wide, each a SupervisedInformer (restarted on
 * watch errors and stalls), with lookups shaped for the reconciler's ObjectCache.
 */
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Job,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, LABEL_MANAGED_BY, MANAGER_NAME, PLURAL, VERSION } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import type { RequestCounter } from './kube-client.ts';
import { SupervisedInformer } from './supervised-informer.ts';

/** What the controller reacts to: a key to reconcile, or a job that is gone. */
export interface InformerEvents {
  onJobKey(key: string): void;
  onJobDeleted(job: JCLTrainingJob): void;
  /** An update that needs no reconcile (the operator's own status write coming back); default none. */
  ignoreJobUpdate?(job: JCLTrainingJob): boolean;
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
    const counted =
      <T>(resource: string, fn: () => Promise<T>) =>
      () => {
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
              counted(
                'JCLTrainingJob',
                () =>
                  (ns
                    ? custom.listNamespacedCustomObject({
                        group: GROUP,
                        version: VERSION,
                        namespace: ns,
                        plural: PLURAL,
                      })
                    : custom.listClusterCustomObject({
                        group: GROUP,
                        version: VERSION,
                        plural: PLURAL,
                      })) as Promise<KubernetesListObject<JCLTrainingJob>>,
              ),
            ),
          (verb, job) => {
            if (verb === 'delete') events.onJobDeleted(job);
            else if (verb === 'add' || !events.ignoreJobUpdate?.(job))
              events.onJobKey(`${job.metadata?.namespace}/${job.metadata?.name}`);
          },
          sup,
        ),
      );
      this.pods.push(
        new SupervisedInformer<V1Pod>(
          `pods@${scope}`,
          () =>
            makeInformer<V1Pod>(
              kc,
              `/api/v1${nsPath}/pods`,
              counted('Pod', () =>
                ns
                  ? core.listNamespacedPod({ namespace: ns, labelSelector })
                  : core.listPodForAllNamespaces({ labelSelector }),
              ),
              labelSelector,
            ),
          owned,
          sup,
        ),
      );
      this.services.push(
        new SupervisedInformer<V1Service>(
          `services@${scope}`,
          () =>
            makeInformer<V1Service>(
              kc,
              `/api/v1${nsPath}/services`,
              counted('Service', () =>
                ns
                  ? core.listNamespacedService({ namespace: ns, labelSelector })
                  : core.listServiceForAllNamespaces({ labelSelector }),
              ),
              labelSelector,
            ),
          owned,
          sup,
        ),
      );
      this.batchJobs.push(
        new SupervisedInformer<V1Job>(
          `jobs.batch@${scope}`,
          () =>
            makeInformer<V1Job>(
              kc,
              `/apis/batch/v1${nsPath}/jobs`,
              counted('Job', () =>
                ns
                  ? batch.listNamespacedJob({ namespace: ns, labelSelector })
                  : batch.listJobForAllNamespaces({ labelSelector }),
              ),
              labelSelector,
            ),
          owned,
          sup,
        ),
      );
    }
  }

  private all(): SupervisedInformer<KubernetesObject>[] {
    return [
      ...this.jobs,
      ...this.pods,
      ...this.services,
      ...this.batchJobs,
    ] as SupervisedInformer<KubernetesObject>[];
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
