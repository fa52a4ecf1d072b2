/**
 * `jcl operator` flags → a validated, frozen OperatorConfig (parsed once at start-up, passed down).
 * Every problem is reported with the flag and the value that arrived.
 */
import { hostname } from 'node:os';

export interface OperatorConfig {
  readonly kubeconfig?: string;
  /** undefined = all namespaces. */
  readonly namespaces?: readonly string[];
  readonly metricsPort: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
  readonly workerImage: string;
  readonly workerCommand: readonly string[];
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Jobs reconciled at the same time. */
  readonly concurrentReconciles: number;
  readonly operatorNamespace: string;
  readonly operatorPodLabels: Readonly<Record<string, string>>;
  readonly pollIntervalMs: number;
  readonly watchStallMs: number;
  readonly resyncMs: number;
}

export const OPERATOR_USAGE = `jcl operator [flags]
  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespaces a,b|all       namespaces to watch (default all)
  --metrics-port N           /metrics, /healthz, /readyz port (default 8080; 0 = off)
  --leader-elect             run leader election on a Lease (for 2+ replicas)
  --lease-namespace NS       Lease namespace (default: $POD_NAMESPACE or default)
  --lease-name NAME          Lease name (default jcl-operator-leader)
  --identity ID              leader-election identity (default: $POD_NAME-<pid>)
  --operator-namespace NS    namespace of the operator's pods, for the NetworkPolicy (default: $POD_NAMESPACE)
  --worker-image IMAGE       image for jobs without spec.template.image
  --worker-command "node /app/bin/jcl.js"   entrypoint before 'worker' / 'eval'
  --log-level LEVEL          trace|debug|info|warn|error (default info)
  --concurrent-reconciles N  jobs reconciled at once (default 16)
  --operator-pod-labels k=v,...   labels of operator pods for the NetworkPolicy
  --poll-interval-ms N       progress polling of running jobs (default 10000)
  --watch-stall-ms N         relist a silent watch after N ms (default 300000)
  --resync-ms N              reconcile every job at least every N ms (default 60000)
  --help                     this text`;

/** The flags OPERATOR_USAGE documents: the only ones parseOperatorConfig accepts (one list, issue 19). */
export const OPERATOR_FLAGS: readonly string[] = [...OPERATOR_USAGE.matchAll(/^ {2}--([a-z-]+)/gm)].map(
  (m) => m[1],
);

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** Parse argv (flags after `jcl operator`) and env; throws one Error listing every problem. */
export function parseOperatorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OperatorConfig {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      problems.push(`${arg}: unexpected argument (flags start with --)`);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (arg === '--leader-elect' || arg === '--help') flags.set(arg.slice(2), 'true');
    else if (i + 1 < argv.length) flags.set(arg.slice(2), argv[++i]);
    else problems.push(`${arg}: needs a value`);
  }
  const known = new Set(OPERATOR_FLAGS);
  for (const k of flags.keys())
    if (!known.has(k)) problems.push(`--${k}: unknown flag (see jcl operator --help)`);
  const int = (flag: string, def: number, min: number, max: number): number => {
    const raw = flags.get(flag);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`--${flag}: must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    return n;
  };
  const level = flags.get('log-level') ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level))
    problems.push(`--log-level: must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const nsRaw = flags.get('namespaces') ?? 'all';
  const namespaces =
    nsRaw === 'all'
      ? undefined
      : nsRaw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const ns of namespaces ?? [])
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns))
      problems.push(`--namespaces: ${JSON.stringify(ns)} is not a namespace name`);
  const labels: Record<string, string> = {};
  for (const pair of (flags.get('operator-pod-labels') ?? 'app.kubernetes.io/name=jcl-operator')
    .split(',')
    .filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined)
      problems.push(`--operator-pod-labels: expected key=value, got ${JSON.stringify(pair)}`);
    else labels[k] = v;
  }
  const cfg: OperatorConfig = {
    kubeconfig: flags.get('kubeconfig'),
    namespaces,
    metricsPort: int('metrics-port', 8080, 0, 65535),
    leaderElect: flags.get('leader-elect') === 'true',
    leaseNamespace: flags.get('lease-namespace') ?? env.POD_NAMESPACE ?? 'default',
    leaseName: flags.get('lease-name') ?? 'jcl-operator-leader',
    identity: flags.get('identity') ?? `${env.POD_NAME ?? hostname()}-${process.pid}`,
    workerImage: flags.get('worker-image') ?? env.JCL_WORKER_IMAGE ?? 'ghcr.io/jcl-operator/jcl:latest',
    workerCommand: (flags.get('worker-command') ?? 'node /app/bin/jcl.js').split(' ').filter(Boolean),
    logLevel: level as OperatorConfig['logLevel'],
    concurrentReconciles: int('concurrent-reconciles', 16, 1, 256),
    operatorNamespace: flags.get('operator-namespace') ?? env.POD_NAMESPACE ?? '',
    operatorPodLabels: labels,
    pollIntervalMs: int('poll-interval-ms', 10_000, 100, 3_600_000),
    watchStallMs: int('watch-stall-ms', 300_000, 100, 86_400_000),
    resyncMs: int('resync-ms', 60_000, 100, 86_400_000),
  };
  if (problems.length > 0) throw new Error(`invalid operator flags:\n  ${problems.join('\n  ')}`);
  return Object.freeze(cfg);
}

export const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');
