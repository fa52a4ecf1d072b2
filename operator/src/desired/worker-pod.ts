/**
 * One worker pod per rank (like jobset's constructJob: spec in, object out, no I/O). The pod is the
 * worker contract of docs/ARCHITECTURE.md made concrete: env, mounted config and token, stable DNS name.
 */
import { createHash } from 'node:crypto';
import type { V1EnvVar, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import {
  CONFIG_KEY_INITIAL,
  CONFIG_KEY_RESTART,
  CONFIG_MOUNT_PATH,
  CHECKPOINT_MOUNT_PATH,
  DATA_PORT,
  GRPC_PORT,
  ANNOTATION_TEMPLATE_HASH,
  LABEL_RANK,
  LABEL_RESTART_GENERATION,
  STATUS_PORT,
  TOKEN_KEY,
  TOKEN_MOUNT_PATH,
} from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { withGangScheduling } from './gang.ts';
import { firstRank, procsPerWorker, worldSize } from './procs.ts';
import { ownedMetadata } from './labels.ts';
import { coordinatorAddress, runDir, serviceName, workerPodName } from './names.ts';
import type { BuildOptions } from './options.ts';
import {
  baseContainer,
  basePodSpec,
  checkpointCredentialsEnv,
  jclVolumes,
  podMetadata,
} from './pod-parts.ts';
import { datasetPath } from './training-config.ts';
import { templateInitContainers, withInitContainers } from './template-containers.ts';

/**
 * The contract's env; user env from the template comes first so that these always win. JCL_TERMINATION_LOG
 * is left to the worker's default (/dev/termination-log, the pod's terminationMessagePath).
 */
export function workerEnv(job: JCLTrainingJob, rank: number, generation: number): V1EnvVar[] {
  const name = job.metadata?.name ?? '';
  const ns = job.metadata?.namespace ?? 'default';
  const configKey = generation === 0 ? CONFIG_KEY_INITIAL : CONFIG_KEY_RESTART;
  return [
    ...(job.spec.template.env ?? []),
    { name: 'JCL_RANK', value: String(firstRank(job, rank)) },
    { name: 'JCL_WORLD_SIZE', value: String(worldSize(job)) },
    ...(procsPerWorker(job) > 1
      ? [{ name: 'JCL_PROCS_PER_WORKER', value: String(procsPerWorker(job)) }]
      : []),
    { name: 'JCL_COORDINATOR', value: coordinatorAddress(name, ns, GRPC_PORT) },
    { name: 'JCL_PORT', value: String(GRPC_PORT) },
    // Peers reach each other by pod IP; the coordinator must not guess it from the connection's source.
    { name: 'JCL_ADVERTISE_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'JCL_STATUS_PORT', value: String(STATUS_PORT) },
    { name: 'JCL_DATA_PORT', value: String(DATA_PORT) },
    { name: 'JCL_CONFIG_FILE', value: `${CONFIG_MOUNT_PATH}/${configKey}` },
    { name: 'JCL_RUN_DIR', value: runDir(CHECKPOINT_MOUNT_PATH, name) },
    // The dataset's path in the pod, as the config file names it: a node that remaps mounts rewrites env.
    ...(datasetPath(job) ? [{ name: 'JCL_DATA_PATH', value: datasetPath(job) }] : []),
    { name: 'JCL_TOKEN_FILE', value: `${TOKEN_MOUNT_PATH}/${TOKEN_KEY}` },
    { name: 'JCL_JOB_NAME', value: name },
    { name: 'JCL_RESTART_GENERATION', value: String(generation) },
    ...(rank === 0 ? checkpointCredentialsEnv(job) : []),
  ];
}

/** A short hash of spec.template: a worker pod whose annotation differs predates a template change. */
export function templateHash(job: JCLTrainingJob): string {
  return createHash('sha256')
    .update(JSON.stringify(job.spec.template ?? {}))
    .digest('hex')
    .slice(0, 16);
}

/** The pod of `rank` in gang generation `generation` (0 = first start, +1 per gang restart). */
export function buildWorkerPod(
  job: JCLTrainingJob,
  rank: number,
  generation: number,
  opts: BuildOptions,
): V1Pod {
  const name = job.metadata?.name ?? '';
  const podName = workerPodName(name, rank);
  const base = withTemplateMetadata(
    job,
    ownedMetadata(job, podName, 'worker', {
      [LABEL_RANK]: String(rank),
      [LABEL_RESTART_GENERATION]: String(generation),
    }),
  );
  const metadata = {
    ...base,
    annotations: { ...base.annotations, [ANNOTATION_TEMPLATE_HASH]: templateHash(job) },
  };
  return withGangScheduling(job, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      ...basePodSpec(job, opts),
      hostname: podName,
      subdomain: serviceName(name),
      containers: [
        {
          ...baseContainer(job, opts, true),
          name: 'worker',
          command: [...(job.spec.template.command ?? opts.workerCommand), 'worker'],
          env: workerEnv(job, rank, generation),
          ports: [
            { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
            { name: 'status', containerPort: STATUS_PORT, protocol: 'TCP' },
            { name: 'data', containerPort: DATA_PORT, protocol: 'TCP' },
          ],
        },
      ],
      ...withInitContainers(templateInitContainers(job)),
      volumes: jclVolumes(job, true, rank === 0),
    },
  });
}

/** The owned metadata with the template's labels (below the operator's) and annotations. */
function withTemplateMetadata(job: JCLTrainingJob, owned: V1ObjectMeta): V1ObjectMeta {
  const { labels, annotations } = podMetadata(job, owned.labels ?? {});
  return { ...owned, labels, ...(annotations ? { annotations } : {}) };
}
