/**
 * Pieces shared by worker pods and evaluation Jobs: the Pod Security "restricted" contexts, the volumes
 * every JCL container mounts, and the container fields copied from spec.template.
 */
import type {
  V1Container,
  V1EnvVar,
  V1ObjectMeta,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  CHECKPOINT_MOUNT_PATH,
  CONFIG_MOUNT_PATH,
  TMP_MOUNT_PATH,
  TOKEN_KEY,
  TOKEN_MOUNT_PATH,
} from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { configMapName, secretName } from './names.ts';
import type { BuildOptions } from './options.ts';

/** Pod-level "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards). */
export function podSecurityContext(opts: BuildOptions): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: opts.runAsUser,
    runAsGroup: opts.runAsUser,
    // fsGroup makes a fresh checkpoint PVC writable by the non-root user.
    fsGroup: opts.runAsUser,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level "restricted" profile; the root filesystem is read-only, /tmp is an emptyDir. */
export function containerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Volumes: config, token (workers only), checkpoints, /tmp, the dataset claim, then the template's own.
 * The checkpoint claim backs /checkpoints only where `checkpointClaim` is set (rank 0, which alone
 * writes checkpoints, and the evaluation Jobs, which read them); the other ranks receive rank 0's state
 * by broadcast and get an emptyDir there, so a ReadWriteOnce claim works for a multi-node job (issue 18).
 */
export function jclVolumes(job: JCLTrainingJob, withToken: boolean, checkpointClaim = true): V1Volume[] {
  const name = job.metadata?.name ?? '';
  const { checkpoints, dataset, template } = job.spec;
  const volumes: V1Volume[] = [{ name: 'config', configMap: { name: configMapName(name) } }];
  if (withToken) {
    volumes.push({
      name: 'token',
      secret: {
        secretName: secretName(name),
        defaultMode: 0o440,
        items: [{ key: TOKEN_KEY, path: TOKEN_KEY }],
      },
    });
  }
  volumes.push(
    checkpoints.claimName && checkpointClaim
      ? { name: 'checkpoints', persistentVolumeClaim: { claimName: checkpoints.claimName } }
      : { name: 'checkpoints', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
  );
  if (dataset.claimName) {
    volumes.push({
      name: 'dataset',
      persistentVolumeClaim: { claimName: dataset.claimName, readOnly: true },
    });
  }
  return [...volumes, ...(template.volumes ?? [])];
}

export function jclVolumeMounts(job: JCLTrainingJob, withToken: boolean): V1VolumeMount[] {
  const mounts: V1VolumeMount[] = [{ name: 'config', mountPath: CONFIG_MOUNT_PATH, readOnly: true }];
  if (withToken) mounts.push({ name: 'token', mountPath: TOKEN_MOUNT_PATH, readOnly: true });
  mounts.push(
    { name: 'checkpoints', mountPath: CHECKPOINT_MOUNT_PATH },
    { name: 'tmp', mountPath: TMP_MOUNT_PATH },
  );
  if (job.spec.dataset.claimName)
    mounts.push({ name: 'dataset', mountPath: job.spec.dataset.mountPath, readOnly: true });
  return [...mounts, ...(job.spec.template.volumeMounts ?? [])];
}

/**
 * The object-storage credentials of spec.checkpoints.s3.credentialsSecret as the AWS SDK's standard env,
 * for the containers that touch checkpoints (rank 0 and the evaluation Jobs; the other ranks never read
 * or write them, so they never see the keys). Empty without a Secret: the SDK then uses the pod's web
 * identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as EKS/GKE inject them) or its other sources.
 */
export function checkpointCredentialsEnv(job: JCLTrainingJob): V1EnvVar[] {
  const secret = job.spec.checkpoints.s3?.credentialsSecret;
  if (!job.spec.checkpoints.uri || !secret) return [];
  const ref = (key: string, optional?: boolean) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional } : {}) } },
  });
  return [ref('AWS_ACCESS_KEY_ID'), ref('AWS_SECRET_ACCESS_KEY'), ref('AWS_SESSION_TOKEN', true)];
}

/** Container fields common to workers and evaluators (the caller adds name, command, env, ports). */
export function baseContainer(job: JCLTrainingJob, opts: BuildOptions, withToken: boolean): V1Container {
  const t = job.spec.template;
  const c: V1Container = {
    name: 'jcl',
    image: t.image ?? opts.workerImage,
    volumeMounts: jclVolumeMounts(job, withToken),
    securityContext: containerSecurityContext(),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (t.imagePullPolicy) c.imagePullPolicy = t.imagePullPolicy;
  if (t.resources) c.resources = structuredClone(t.resources);
  if (t.envFrom) c.envFrom = structuredClone(t.envFrom);
  return c;
}

/**
 * A user's init container or sidecar with the restricted container context filled in where it leaves a
 * field unset, so that the pod still passes Pod Security "restricted" (a field it sets is kept: the
 * apiserver's admission judges it).
 */
export function userContainer(c: V1Container): V1Container {
  const out = structuredClone(c);
  out.securityContext = { ...containerSecurityContext(), ...(c.securityContext ?? {}) };
  return out;
}

/** Pod-spec fields copied from the template (scheduling) plus the fixed hardening. */
export function basePodSpec(job: JCLTrainingJob, opts: BuildOptions): Omit<V1PodSpec, 'containers'> {
  const t = job.spec.template;
  const spec: Omit<V1PodSpec, 'containers'> = {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { ...podSecurityContext(opts), ...(t.podSecurityContext ?? {}) },
  };
  if (t.serviceAccountName) spec.serviceAccountName = t.serviceAccountName;
  if (t.priorityClassName) spec.priorityClassName = t.priorityClassName;
  if (t.nodeSelector) spec.nodeSelector = { ...t.nodeSelector };
  if (t.tolerations) spec.tolerations = structuredClone(t.tolerations);
  if (t.affinity) spec.affinity = structuredClone(t.affinity);
  if (t.runtimeClassName) spec.runtimeClassName = t.runtimeClassName;
  if (t.imagePullSecrets) spec.imagePullSecrets = structuredClone(t.imagePullSecrets);
  return spec;
}

/** Pod metadata from the template: its labels under the operator's (which win) and its annotations. */
export function podMetadata(job: JCLTrainingJob, labels: Record<string, string>): V1ObjectMeta {
  const t = job.spec.template;
  const meta: V1ObjectMeta = { labels: { ...(t.labels ?? {}), ...labels } };
  if (t.annotations) meta.annotations = { ...t.annotations };
  return meta;
}
