/**
 * Names shared by the CRD, the desired-object builders and the reconcile loop. Changing any of these is an
 * API change: existing jobs' objects are found by these labels after an operator upgrade.
 */

export const GROUP = 'training.jcl.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'JCLTrainingJob';
export const PLURAL = 'jcltrainingjobs';
export const SINGULAR = 'jcltrainingjob';
export const SHORT_NAMES = ['jcljob'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** Our own labels: which job, which rank, which gang generation (bumped on every gang restart). */
export const LABEL_JOB_NAME = `${GROUP}/job-name`;
export const LABEL_RANK = `${GROUP}/rank`;
export const LABEL_RESTART_GENERATION = `${GROUP}/restart-generation`;
export const LABEL_EVAL_KIND = `${GROUP}/eval-kind`;
/** Worker pod annotation: a hash of the spec.template the pod was built from (spec changes not yet applied). */
export const ANNOTATION_TEMPLATE_HASH = `${GROUP}/template-hash`;

export const APP_NAME = 'jcl';
export const MANAGER_NAME = 'jcl-operator';

/**
 * Worker-to-worker gRPC (rendezvous; the data plane when JCL_DATA_PLANE=grpc), rank 0's status endpoint,
 * and the raw TCP data plane (the default) (docs/ARCHITECTURE.md, the worker contract).
 */
export const GRPC_PORT = 29500;
export const STATUS_PORT = 29501;
export const DATA_PORT = 29502;

/** Mount points inside a worker pod. */
export const CONFIG_MOUNT_PATH = '/etc/jcl/config';
export const TOKEN_MOUNT_PATH = '/etc/jcl/token';
export const CHECKPOINT_MOUNT_PATH = '/checkpoints';
export const TMP_MOUNT_PATH = '/tmp';
/** ConfigMap keys: the first start, and restarts (which resume from the run directory's latest checkpoint). */
export const CONFIG_KEY_INITIAL = 'training.json';
export const CONFIG_KEY_RESTART = 'training-restart.json';
export const TOKEN_KEY = 'token';

/** Default worker command: the image's jcl entrypoint (bin/jcl.js loads the TypeScript via tsx). */
export const DEFAULT_WORKER_COMMAND: readonly string[] = ['node', '/app/bin/jcl.js'];
