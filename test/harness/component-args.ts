/**
 * Command lines of the control-plane components: pure functions from ports and file paths to argv, kept
 * apart from process management so the flags (the part worth reviewing) read in one place.
 */
import type { ControlPlanePki } from './certs.ts';

/** Ports chosen for one plane, all on 127.0.0.1. */
export interface PlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

/** Service-account issuer and audience; in-cluster clients expect exactly this issuer. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Service CIDR; the `kubernetes` Service gets 10.0.0.1 (also a SAN of the serving certificate). */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

/**
 * Controllers the tests need. Everything else (scheduler-facing, node lifecycle, cloud, CSR signing) is off:
 * there are no real nodes, and the node-lifecycle controller would taint the fake node.
 */
export const DEFAULT_CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'job-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  // Aggregates the built-in admin/edit/view ClusterRoles, which tests bind to restricted identities.
  'clusterrole-aggregation-controller',
  'ttl-after-finished-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'replicaset-controller',
  'deployment-controller',
  'statefulset-controller',
  'resourcequota-controller',
  'disruption-controller',
  // Force-deletes pods left on a Node that no longer exists (a stopped NodeHarness), so namespaces can finish deleting.
  'pod-garbage-collector-controller',
] as const;

/** Admission plugins enabled on top of the defaults (PodSecurity is default-on; listed to make it explicit). */
export const ADMISSION_PLUGINS = [
  'NamespaceLifecycle',
  'LimitRanger',
  'ServiceAccount',
  'PodSecurity',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'MutatingAdmissionWebhook',
  'ValidatingAdmissionWebhook',
  'ValidatingAdmissionPolicy',
  'ResourceQuota',
  // Per-namespace node selector and default tolerations (namespace annotations): how a NodeHarness keeps the
  // scheduler from placing one test file's pods on another file's nodes (node-harness.ts, pool isolation).
  'PodNodeSelector',
  'PodTolerationRestriction',
] as const;

/** etcd: single member, in a throwaway data dir; fsync off because the data dies with the test run. */
export function buildEtcdArgs(dataDir: string, ports: PlanePorts): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=jcl-e2e',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=jcl-e2e=${peer}`,
    '--initial-cluster-state=new',
    '--unsafe-no-fsync=true',
    '--quota-backend-bytes=4294967296',
    '--log-level=warn',
  ];
}

/** kube-apiserver with RBAC, the admission chain above, client-cert auth and the TokenRequest API. */
export function buildApiserverArgs(
  pki: ControlPlanePki,
  ports: PlanePorts,
  certDir: string,
  extra: string[] = [],
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    // A loopback advertise address is accepted and becomes the endpoint of the `kubernetes` Service.
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${certDir}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    // Without a request-header CA the controller manager logs an error per second; no front proxy uses it.
    `--requestheader-client-ca-file=${pki.caCert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--authorization-mode=RBAC',
    `--enable-admission-plugins=${ADMISSION_PLUGINS.join(',')}`,
    // Privileged pods are allowed by the apiserver so that PodSecurity admission is what refuses them.
    '--allow-privileged=true',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-max-token-expiration=48h',
    '--storage-backend=etcd3',
    '--profiling=false',
    // Tests stop the plane right after use: no need to wait for load balancers to drain.
    '--shutdown-delay-duration=0s',
    '--shutdown-watch-termination-grace-period=0s',
    '--v=1',
    ...extra,
  ];
}

/** A component's /healthz server on loopback (self-signed certificate in certDir; delegated authn/authz). */
function securePortArgs(kubeconfigFile: string, port: number, certDir: string): string[] {
  return [
    `--authentication-kubeconfig=${kubeconfigFile}`,
    `--authorization-kubeconfig=${kubeconfigFile}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
  ];
}

/** kube-controller-manager running only `controllers`, each with its own service-account credentials. */
export function buildControllerManagerArgs(
  pki: ControlPlanePki,
  ports: PlanePorts,
  kubeconfigFile: string,
  certDir: string,
  controllers: readonly string[] = DEFAULT_CONTROLLERS,
  extra: string[] = [],
): string[] {
  return [
    `--kubeconfig=${kubeconfigFile}`,
    ...securePortArgs(kubeconfigFile, ports.controllerManager, certDir),
    `--controllers=${controllers.join(',')}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--leader-elect=false',
    // Short resyncs so garbage collection and namespace deletion converge quickly in tests.
    '--concurrent-gc-syncs=5',
    '--namespace-sync-period=10s',
    '--v=1',
    ...extra,
  ];
}

/** Scheduler retry timing for tests: an unschedulable pod is retried within seconds of capacity freeing up. */
export const SCHEDULER_BACKOFF = { podInitialBackoffSeconds: 1, podMaxBackoffSeconds: 2 } as const;

/**
 * Volume plugins of the default profile that are off: the node harness maps every persistentVolumeClaim to
 * a shared directory and nothing provisions or binds PersistentVolumes, so these would hold every pod with
 * a claim (e.g. manifests/examples/jcljob-tiny-synthetic.yaml) as "unbound immediate PersistentVolumeClaims".
 */
export const DISABLED_SCHEDULER_PLUGINS = [
  'VolumeBinding',
  'VolumeZone',
  'VolumeRestrictions',
  'NodeVolumeLimits',
] as const;

/**
 * The KubeSchedulerConfiguration (YAML) of the test plane: the default profile (`default-scheduler`, the
 * in-tree plugins: NodeResourcesFit counts extended resources such as nvidia.com/gpu) minus the volume
 * plugins above, no leader election, short backoff.
 */
export function renderSchedulerConfig(kubeconfigFile: string): string {
  return [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfigFile)}`,
    'leaderElection:',
    '  leaderElect: false',
    `podInitialBackoffSeconds: ${SCHEDULER_BACKOFF.podInitialBackoffSeconds}`,
    `podMaxBackoffSeconds: ${SCHEDULER_BACKOFF.podMaxBackoffSeconds}`,
    'profiles:',
    '  - schedulerName: default-scheduler',
    '    plugins:',
    '      multiPoint:',
    '        disabled:',
    ...DISABLED_SCHEDULER_PLUGINS.map((name) => `          - name: ${name}`),
    '',
  ].join('\n');
}

/** kube-scheduler reading `configFile` (renderSchedulerConfig), serving /healthz on `ports.scheduler`. */
export function buildSchedulerArgs(
  ports: PlanePorts,
  configFile: string,
  kubeconfigFile: string,
  certDir: string,
  extra: string[] = [],
): string[] {
  return [
    `--config=${configFile}`,
    ...securePortArgs(kubeconfigFile, ports.scheduler, certDir),
    '--v=1',
    ...extra,
  ];
}
