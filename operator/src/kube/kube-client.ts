/**
 * The operator's Kubernetes writes and point reads, behind an interface so the reconciler can be tested
 * with an in-memory fake. The implementation uses @kubernetes/client-node's typed APIs (object-style
 * parameters); every call is counted in jcl_operator_api_requests_total for the per-job request budget.
 */
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Job,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, KIND, MANAGER_NAME, PLURAL, TOKEN_KEY, VERSION, API_VERSION } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import type { JobEvent } from '../status/observed.ts';

export interface KubeClient {
  /** Create any object the operator owns; throws the API error (409 AlreadyExists included). */
  create(obj: KubernetesObject): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  /** Merge these annotations into a pod's (a JSON merge patch of metadata.annotations). */
  annotatePod(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Delete a job (TTL after finish); the uid precondition never deletes a re-created namesake. */
  deleteTrainingJob(namespace: string, name: string, uid: string): Promise<void>;
  /** PUT the status subresource; the job's resourceVersion makes a stale write fail with 409. */
  replaceStatus(job: JCLTrainingJob): Promise<JCLTrainingJob>;
  readToken(namespace: string, secretName: string): Promise<string | undefined>;
  createEvent(job: JCLTrainingJob, event: JobEvent, now: Date): Promise<void>;
}

/** Counts requests by verb and resource (injected so kube/ does not import the metrics registry). */
export type RequestCounter = (verb: string, resource: string) => void;

export class ClientNodeKube implements KubeClient {
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  private readonly net: NetworkingV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(
    kc: KubeConfig,
    private readonly count: RequestCounter = () => {},
    private readonly instance = MANAGER_NAME,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.net = kc.makeApiClient(NetworkingV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  async create(obj: KubernetesObject): Promise<void> {
    const namespace = obj.metadata?.namespace ?? 'default';
    this.count('create', obj.kind ?? 'unknown');
    switch (obj.kind) {
      case 'Pod':
        await this.core.createNamespacedPod({ namespace, body: obj as V1Pod });
        return;
      case 'Service':
        await this.core.createNamespacedService({ namespace, body: obj as V1Service });
        return;
      case 'ConfigMap':
        await this.core.createNamespacedConfigMap({ namespace, body: obj as V1ConfigMap });
        return;
      case 'Secret':
        await this.core.createNamespacedSecret({ namespace, body: obj as V1Secret });
        return;
      case 'NetworkPolicy':
        await this.net.createNamespacedNetworkPolicy({ namespace, body: obj as V1NetworkPolicy });
        return;
      case 'Job':
        await this.batch.createNamespacedJob({ namespace, body: obj as V1Job });
        return;
      case 'PodGroup': {
        // scheduling.volcano.sh/v1beta1 or scheduling.x-k8s.io/v1alpha1 (desired/gang.ts)
        const [group, version] = (obj.apiVersion ?? '').split('/');
        await this.custom.createNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'podgroups',
          body: obj,
        });
        return;
      }
      default:
        throw new Error(
          `create: unsupported kind ${obj.kind} (expected Pod, Service, ConfigMap, Secret, NetworkPolicy, Job or PodGroup)`,
        );
    }
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    this.count('delete', 'Pod');
    await this.core.deleteNamespacedPod({ namespace, name });
  }

  async annotatePod(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    this.count('patch', 'Pod');
    await this.core.patchNamespacedPod(
      { namespace, name, body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async deleteTrainingJob(namespace: string, name: string, uid: string): Promise<void> {
    this.count('delete', KIND);
    await this.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
      propagationPolicy: 'Background',
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
    });
  }

  async replaceStatus(job: JCLTrainingJob): Promise<JCLTrainingJob> {
    this.count('update', `${KIND}/status`);
    const body = { ...job, apiVersion: API_VERSION, kind: KIND };
    return (await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: job.metadata?.namespace ?? '',
      name: job.metadata?.name ?? '',
      body,
    })) as JCLTrainingJob;
  }

  async readToken(namespace: string, secretName: string): Promise<string | undefined> {
    this.count('get', 'Secret');
    const secret = await this.core.readNamespacedSecret({ namespace, name: secretName });
    const b64 = secret.data?.[TOKEN_KEY];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  }

  async createEvent(job: JCLTrainingJob, event: JobEvent, now: Date): Promise<void> {
    const namespace = job.metadata?.namespace ?? 'default';
    this.count('create', 'Event');
    const body: CoreV1Event = {
      metadata: { generateName: `${job.metadata?.name}.`, namespace },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: KIND,
        name: job.metadata?.name,
        namespace,
        uid: job.metadata?.uid,
        resourceVersion: job.metadata?.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: MANAGER_NAME },
      reportingComponent: `${GROUP}/${MANAGER_NAME}`,
      reportingInstance: this.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.core.createNamespacedEvent({ namespace, body });
  }
}
