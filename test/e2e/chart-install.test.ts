/**
 * The chart as a user installs it (issue 7): `helm install` into the real control plane with a namespace
 * list (a Role per namespace; nothing cluster-wide, so other test files' namespaces stay untouched). The
 * chart's Deployment is run by the node harness as a local `node bin/jcl.js operator` process whose API
 * identity is the pod's bound ServiceAccount token: the operator holds only what the chart granted. It must
 * reconcile JCLTrainingJobs in a namespace enforcing Pod Security "restricted": first with stand-in workers
 * (objects, ownership, admission), then manifests/examples/jcljob-tiny-synthetic.yaml with real `jcl worker`
 * processes through training and the k-NN follow-up. The plain manifests and every example are validated
 * by server-side dry run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  NetworkingV1Api,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { Jobs, kubectlApply } from '../../operator/src/testing/e2e-kit.ts';
import { helmPath } from '../../scripts/check-chart.ts';
import { REPO_ROOT, resolveBinDir } from '../harness/control-plane.ts';
import {
  createTestNamespace,
  deleteTestNamespace,
  useControlPlane,
  waitForPod,
} from '../harness/e2e-context.ts';
import { tailFile } from '../harness/managed-process.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { pollUntil } from '../harness/wait.ts';

const run = promisify(execFile);
const plane = useControlPlane();
const kc = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);

const OPERATOR_IMAGE = 'jcl-e2e/jcl-operator:chart';
const RELEASE = 'jcl';
const FULLNAME = 'jcl-jcl-operator';
/** The stand-in worker: runs until deleted. */
const IDLE_WORKER = 'setInterval(() => {}, 1000)';

let opNs: string;
let jobNs: string;
let node: NodeHarness;
let helmHome: string;
let installOutput = '';

const helmEnv = () => ({
  ...process.env,
  KUBECONFIG: plane.kubeconfigPath,
  HELM_CACHE_HOME: path.join(helmHome, 'cache'),
  HELM_CONFIG_HOME: path.join(helmHome, 'config'),
  HELM_DATA_HOME: path.join(helmHome, 'data'),
});
const helm = async (args: string[]) => {
  try {
    return (await run(helmPath(), args, { cwd: REPO_ROOT, env: helmEnv() })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')}:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
};

async function operatorPodName(): Promise<string> {
  return pollUntil(
    async () =>
      (
        await core.listNamespacedPod({
          namespace: opNs,
          labelSelector: `app.kubernetes.io/instance=${RELEASE}`,
        })
      ).items[0]?.metadata?.name,
    {
      timeoutMs: 60_000,
      description: `a pod of deployment ${opNs}/${FULLNAME} (deployment + replicaset controllers)`,
    },
  );
}

/** Sync diagnostics for waits: the operator pod's log tail and the node harness's. */
const diagnose = (operatorPod: string) => () =>
  `--- operator pod ${operatorPod} ---\n${tailFile(node.podLogFiles(opNs, operatorPod).stdout, 30)}\n${tailFile(node.podLogFiles(opNs, operatorPod).stderr, 10)}\n--- node ---\n${tailFile(node.logFile, 20)}`;

beforeAll(async () => {
  helmHome = mkdtempSync(path.join(os.tmpdir(), 'jcl-helm-'));
  const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' };
  opNs = await createTestNamespace(kc, 'jcl-chart-sys', restricted);
  jobNs = await createTestNamespace(kc, 'jcl-chart', restricted);
  node = await NodeHarness.start({
    kubeConfig: kc,
    namespaces: [opNs, jobNs],
    nodeName: `node-${opNs}`,
    // Workaround (harness, as test/e2e/operator-training.test.ts): a pod that mounts /tmp (the operator and the
    // workers do: read-only root) gets paths under the OS temp dir rewritten twice; keep the node root elsewhere.
    rootDir: path.join(os.homedir(), '.cache', 'jcl-operator', 'e2e-nodes', opNs),
    maxGraceMs: 2_000,
    // The image's ENTRYPOINT (operator/Dockerfile), from this checkout.
    entrypoints: { [OPERATOR_IMAGE]: ['node', path.join(REPO_ROOT, 'bin/jcl.js'), 'operator'] },
  });
  const [repository, tag] = OPERATOR_IMAGE.split(':');
  installOutput = await helm([
    'install',
    RELEASE,
    'charts/jcl-operator',
    '--namespace',
    opNs,
    '--set',
    `image.repository=${repository}`,
    '--set',
    `image.tag=${tag}`,
    '--set',
    `watchNamespaces={${jobNs}}`,
    '--set',
    `worker.command=node ${path.join(REPO_ROOT, 'bin/jcl.js')}`,
    '--set',
    'logLevel=debug',
    // Workaround: the node harness reports status.qosClass BestEffort for every pod (test/harness/pod-status.ts),
    // which the apiserver refuses for the chart's Burstable default; without resources the pod is BestEffort.
    '--set',
    'resources=null',
    '--set',
    'extraArgs={--poll-interval-ms=1000,--resync-ms=2000}',
  ]);
  // Then wait like `helm install --wait`, but with the operator's and the node's logs on a timeout.
  const pod = await operatorPodName();
  await waitForPod(
    kc,
    opNs,
    pod,
    'Ready',
    (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    {
      timeoutMs: 120_000,
      diagnose: diagnose(pod),
    },
  );
}, 300_000);

afterAll(async () => {
  if (helmHome && opNs)
    await helm(['uninstall', RELEASE, '--namespace', opNs, '--wait', '--timeout', '60s']).catch(
      () => undefined,
    );
  await node?.stop();
  if (node) rmSync(node.rootDir, { recursive: true, force: true });
  for (const ns of [jobNs, opNs]) if (ns) await deleteTestNamespace(kc, ns);
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
});

describe('helm install charts/jcl-operator', () => {
  it('installs the operator, admitted by Pod Security "restricted", under the chart ServiceAccount, and prints how to start', async () => {
    expect(installOutput).toContain('STATUS: deployed');
    expect(installOutput).toContain(`kubectl apply -n ${jobNs} -f`);
    expect(installOutput).toContain('kubectl get jcljob -w');
    const dep = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: FULLNAME, namespace: opNs });
    expect(dep.status?.readyReplicas).toBe(1);
    const pod = await core.readNamespacedPod({ name: await operatorPodName(), namespace: opNs });
    expect(pod.spec?.serviceAccountName).toBe(FULLNAME);
    expect(pod.status?.phase).toBe('Running');
    // It leads: the Lease in the release namespace is held by this pod (chart's leader-election Role).
    const lease = await pollUntil(
      async () => {
        const l = await kc
          .makeApiClient(CoordinationV1Api)
          .readNamespacedLease({ name: `${FULLNAME}-leader`, namespace: opNs })
          .catch(() => undefined);
        return l?.spec?.holderIdentity ? l : undefined;
      },
      { timeoutMs: 60_000, description: 'leader Lease held', diagnose: diagnose(pod.metadata?.name ?? '') },
    );
    expect(lease.spec?.holderIdentity).toContain(pod.metadata?.name);
  });

  it('grants the ServiceAccount only the watched namespace (SubjectAccessReview on the real apiserver)', async () => {
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const user = `system:serviceaccount:${opNs}:${FULLNAME}`;
    const can = async (verb: string, resource: string, namespace: string, group = '') =>
      (
        await authz.createSubjectAccessReview({
          body: { spec: { user, resourceAttributes: { verb, resource, namespace, group } } },
        })
      ).status?.allowed ?? false;
    expect(await can('create', 'pods', jobNs)).toBe(true);
    expect(await can('watch', 'jcltrainingjobs', jobNs, 'training.jcl.dev')).toBe(true);
    expect(await can('get', 'secrets', jobNs)).toBe(true);
    expect(await can('list', 'secrets', jobNs)).toBe(false);
    expect(await can('create', 'pods', 'default')).toBe(false);
    expect(await can('get', 'secrets', opNs)).toBe(false);
    expect(await can('update', 'leases', opNs, 'coordination.k8s.io')).toBe(true);
    expect(await can('update', 'leases', jobNs, 'coordination.k8s.io')).toBe(false);
    expect(await can('create', 'pods/exec', jobNs)).toBe(false);
  });

  it('reconciles a JCLTrainingJob: worker pods admitted and running, token Secret and NetworkPolicy owned by the job', async () => {
    const jobs = new Jobs(kc, jobNs);
    const created = await jobs.create('via-chart', {
      workers: 2,
      template: { image: 'jcl-e2e/node:local', command: ['node', '-e', IDLE_WORKER] },
      training: {
        model: { arch: 'resnet-tiny' },
        optim: { batchSize: 8, epochs: 1 },
        jcl: { queueSize: 64 },
      },
    });
    const diag = diagnose(await operatorPodName());
    const running = await jobs.waitFor(
      'via-chart',
      'Running 2/2',
      (j) => j.status?.phase === 'Running' && j.status?.ready === '2/2',
      120_000,
      diag,
    );
    expect(running.status).toMatchObject({ workers: 2, workersReady: 2, restarts: 0 });

    const owner: V1OwnerReference = expect.objectContaining({
      kind: 'JCLTrainingJob',
      name: 'via-chart',
      uid: created.metadata?.uid,
      controller: true,
    });
    for (const rank of [0, 1]) {
      const pod = await waitForPod(
        kc,
        jobNs,
        `via-chart-worker-${rank}`,
        'running',
        (p) => p.status?.phase === 'Running',
      );
      expect(pod.metadata?.ownerReferences).toEqual([owner]);
      expect(pod.spec?.automountServiceAccountToken).toBe(false);
      // ServiceAccount admission added no token volume.
      expect(pod.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).toBe(
        false,
      );
      expect(pod.spec?.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    const secret = await core.readNamespacedSecret({ name: 'via-chart-token', namespace: jobNs });
    expect(secret.metadata?.ownerReferences).toEqual([owner]);
    const np = await kc
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ name: 'via-chart-workers', namespace: jobNs });
    expect(np.metadata?.ownerReferences).toEqual([owner]);
    // The NetworkPolicy admits the chart's operator pods (their labels, their namespace) to the status port.
    const operatorPeer = np.spec?.ingress
      ?.flatMap((r) => r._from ?? [])
      .find((p) => p.namespaceSelector?.matchLabels);
    expect(operatorPeer).toEqual({
      podSelector: {
        matchLabels: { 'app.kubernetes.io/name': 'jcl-operator', 'app.kubernetes.io/instance': RELEASE },
      },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opNs } },
    });
  });

  it('trains manifests/examples/jcljob-tiny-synthetic.yaml to Succeeded with real workers, evaluation included', async () => {
    const docs = parseAllDocuments(
      readFileSync(path.join(REPO_ROOT, 'manifests/examples/jcljob-tiny-synthetic.yaml'), 'utf8'),
    ).map((d) => d.toJS());
    for (const doc of docs) {
      doc.metadata.namespace = jobNs;
      // Workaround (see the install above): the node harness reports every pod as BestEffort.
      if (doc.kind === 'JCLTrainingJob') delete doc.spec.template.resources;
    }
    await kubectlApply(plane.kubeconfigPath, docs.map((d) => stringify(d)).join('---\n'));
    const diag = diagnose(await operatorPodName());
    const logsOf = (pod: string) => `--- ${pod} ---\n${tailFile(node.podLogFiles(jobNs, pod).stdout, 15)}`;
    const done = await new Jobs(kc, jobNs).waitFor(
      'tiny-synthetic',
      'trained and evaluated',
      (j) =>
        j.status?.phase === 'Failed' ||
        ['Succeeded', 'Failed'].includes(j.status?.evaluation?.results?.[0]?.phase ?? ''),
      300_000,
      () => `${diag()}\n${logsOf('tiny-synthetic-worker-0')}`,
    );
    expect(done.status?.phase, diag()).toBe('Succeeded');
    expect(done.status?.progress?.epoch).toBeGreaterThanOrEqual(1);
    expect(done.status?.evaluation?.results?.[0]).toMatchObject({ kind: 'knn', phase: 'Succeeded' });
  }, 360_000);

  it('validates the plain manifests (kubectl kustomize manifests/) by server-side dry run', async () => {
    const kubectl = path.join(resolveBinDir(), 'kubectl');
    const env = { ...process.env, KUBECONFIG: plane.kubeconfigPath };
    const built = (await run(kubectl, ['kustomize', path.join(REPO_ROOT, 'manifests')], { env })).stdout;
    // jcl-system does not exist on the test plane: validate the namespaced objects in this test's namespace.
    const docs = parseAllDocuments(built)
      .map((d) => d.toJS())
      .filter((o) => o.kind !== 'Namespace');
    for (const o of docs) if (o.metadata.namespace) o.metadata.namespace = opNs;
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        kubectl,
        ['apply', '--dry-run=server', '-f', '-'],
        { env },
        (err, stdout, stderr) => (err ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout)),
      );
      child.stdin?.end(docs.map((d) => stringify(d)).join('---\n'));
    });
    const accepted = out
      .trim()
      .split('\n')
      .map((l) => l.replace(/ (created|configured|unchanged) \(server dry run\)$/, ' ok'))
      .sort();
    expect(accepted).toEqual([
      'clusterrole.rbac.authorization.k8s.io/jcl-operator ok',
      'clusterrolebinding.rbac.authorization.k8s.io/jcl-operator ok',
      'customresourcedefinition.apiextensions.k8s.io/jcltrainingjobs.training.jcl.dev ok',
      'deployment.apps/jcl-operator ok',
      'role.rbac.authorization.k8s.io/jcl-operator-leader-election ok',
      'rolebinding.rbac.authorization.k8s.io/jcl-operator-leader-election ok',
      'service/jcl-operator-metrics ok',
      'serviceaccount/jcl-operator ok',
    ]);
  });

  it('admits every example job (server-side dry run against the installed CRD)', async () => {
    const dir = path.join(REPO_ROOT, 'manifests/examples');
    const kubectl = path.join(resolveBinDir(), 'kubectl');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const docs = readFileSync(path.join(dir, file), 'utf8');
      expect(docs, file).toContain('kind: JCLTrainingJob');
      const { stdout } = await run(
        kubectl,
        ['apply', '--dry-run=server', '--namespace', jobNs, '-f', path.join(dir, file)],
        {
          env: { ...process.env, KUBECONFIG: plane.kubeconfigPath },
        },
      ).catch((err: { stdout?: string; stderr?: string }) => {
        throw new Error(`${file} is not valid against the CRD:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
      });
      expect(stdout, file).toMatch(
        /jcltrainingjob\.training\.jcl\.dev\/\S+ (created|configured|unchanged) \(server dry run\)/,
      );
    }
    // And a wrong one is refused with the field named (the dry run really validates).
    const bad = parse(readFileSync(path.join(dir, 'jcljob-imagenet-resnet50.yaml'), 'utf8'));
    bad.spec.training.jcl.temperature = -1;
    const rejected = await new Promise<string>((resolve) => {
      const child = execFile(
        kubectl,
        ['apply', '--dry-run=server', '--namespace', jobNs, '-f', '-'],
        { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath } },
        (err, out, errOut) => resolve(err ? `${out}${errOut}` : 'accepted'),
      );
      child.stdin?.end(stringify(bad));
    });
    expect(rejected).toContain('spec.training.jcl.temperature');
  });
});
