/**
 * The node harness acting as kubelet (issue 5): what the operator's e2e tests rely on from it. Each test
 * states one behaviour of a pod's life on this node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { useControlPlane, useTestNamespaces, waitForPod as waitForPodIn } from '../harness/e2e-context.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { createServiceAccountIdentity } from '../harness/restricted-identity.ts';
import { pollUntil } from '../harness/wait.ts';
import { tailFile } from '../harness/managed-process.ts';

const plane = useControlPlane();
const kc: KubeConfig = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const namespace = useTestNamespaces(kc);

/** A pod (or Job template) container that runs `node -e script`. */
function nodeContainer(script: string, extra: Record<string, unknown> = {}) {
  return { name: 'main', image: 'jcl-e2e/node:local', command: ['node', '-e', script], ...extra };
}

/** A node script that stays up until it is stopped. */
const SLEEPER = 'setInterval(() => undefined, 1000);';

describe('node harness', () => {
  let ns: string;
  let node: NodeHarness;

  /** Create pod `name` running `node -e script`, restartPolicy Never unless `spec` says otherwise. */
  const createNodePod = (
    name: string,
    script: string,
    o: { spec?: Record<string, unknown>; container?: Record<string, unknown> } = {},
  ) =>
    core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [nodeContainer(script, o.container)], ...o.spec },
      },
    });

  beforeAll(async () => {
    ns = await namespace('node');
    node = await NodeHarness.start({
      kubeConfig: kc,
      namespaces: [ns],
      nodeName: `node-${ns}`,
      maxGraceMs: 5_000,
      restartBackoffMs: 200,
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  function podDiagnostics(name: string): string {
    const files = node.podLogFiles(ns, name);
    return `--- ${name} stdout ---\n${tailFile(files.stdout)}\n--- ${name} stderr ---\n${tailFile(files.stderr)}\n--- node harness ---\n${tailFile(node.logFile)}`;
  }

  function waitForPod(name: string, description: string, done: (pod: V1Pod) => boolean): Promise<V1Pod> {
    return waitForPodIn(kc, ns, name, description, done, { diagnose: () => podDiagnostics(name) });
  }

  it('registers a Ready node with cpu, memory, pods and nvidia.com/gpu', async () => {
    const n = await core.readNode({ name: node.nodeName });
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(n.status?.allocatable).toMatchObject({
      cpu: '8',
      memory: '32Gi',
      pods: '110',
      'nvidia.com/gpu': '4',
    });
  });

  it('runs a Job pod to completion and the Job controller marks the Job Complete', async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings' }, data: { greeting: 'hello', 'config.json': '{"lr":0.1}' } },
    });
    const script = [
      "const fs = require('node:fs');",
      "const cfg = fs.readFileSync('/etc/jcl/config.json', 'utf8');",
      "fs.writeFileSync('/run/out/result.txt', 'ok');",
      'fs.writeFileSync(process.env.JCL_TERMINATION_LOG, JSON.stringify({ pod: process.env.POD_NAME, ns: process.env.POD_NAMESPACE, ip: process.env.POD_IP, greeting: process.env.GREETING, rank: process.env.RANK, cfg, msg: process.env.MSG }));',
    ].join('\n');
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'hello' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { rank: '0' } },
            spec: {
              restartPolicy: 'Never',
              volumes: [
                { name: 'config', configMap: { name: 'settings' } },
                { name: 'out', emptyDir: {} },
              ],
              containers: [
                nodeContainer(script, {
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/jcl' },
                    { name: 'out', mountPath: '/run/out' },
                  ],
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    { name: 'RANK', valueFrom: { fieldRef: { fieldPath: "metadata.labels['rank']" } } },
                    {
                      name: 'GREETING',
                      valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } },
                    },
                    { name: 'MSG', value: '$(GREETING) from $(POD_NAMESPACE)' },
                  ],
                }),
              ],
            },
          },
        },
      },
    });
    const job = await pollUntil(
      async () => {
        const j = await batch.readNamespacedJob({ name: 'hello', namespace: ns });
        if (j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True'))
          throw new FatalJobError(`Job failed: ${JSON.stringify(j.status)}`);
        return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')
          ? j
          : undefined;
      },
      {
        timeoutMs: 180_000,
        description: 'Job hello Complete',
        diagnose: () => `${tailFile(node.logFile)}\n${plane.logTails(20)}`,
        fatal: (e) => e instanceof FatalJobError,
      },
    );
    expect(job.status?.succeeded).toBe(1);
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=hello' });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0];
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(JSON.parse(terminated?.message ?? '{}')).toEqual({
      pod: pod.metadata?.name,
      ns,
      ip: pod.status?.podIP,
      greeting: 'hello',
      rank: '0',
      cfg: '{"lr":0.1}',
      msg: `hello from ${ns}`,
    });
    expect(pod.status?.podIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(pod.status?.phase).toBe('Succeeded');
  });

  it('resolves headless-service pod hostnames to pod IPs and gives each pod its own listen address', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'ring' },
        spec: { clusterIP: 'None', selector: { app: 'ring' }, ports: [{ port: 29500 }] },
      },
    });
    const server =
      "require('node:net').createServer((s) => s.end(require('node:os').hostname())).listen(29500, () => console.log('listening'));";
    const client = [
      "const net = require('node:net'); const fs = require('node:fs');",
      'const names = ["ring-0.ring", "ring-1.ring", `ring-0.ring.${process.env.NS}.svc`, `ring-1.ring.${process.env.NS}.svc.cluster.local`];',
      'const ask = (host) => new Promise((ok, fail) => { const s = net.connect(29500, host); let d = ""; s.on("data", (c) => (d += c)); s.on("end", () => ok(d)); s.on("error", fail); });',
      'const retry = async (host) => { for (let i = 0; ; i++) { try { return await ask(host); } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 200)); } } };',
      'Promise.all(names.map(retry)).then((r) => fs.writeFileSync(process.env.JCL_TERMINATION_LOG, r.join(",")), (e) => { console.error(e); process.exit(3); });',
    ].join('\n');
    const mk = (
      name: string,
      script: string,
      labels: Record<string, string>,
      restartPolicy = 'Always',
    ): V1Pod => ({
      metadata: { name, labels },
      spec: {
        hostname: name,
        subdomain: 'ring',
        restartPolicy,
        containers: [nodeContainer(script, { env: [{ name: 'NS', value: ns }] })],
      },
    });
    for (const name of ['ring-0', 'ring-1'])
      await core.createNamespacedPod({ namespace: ns, body: mk(name, server, { app: 'ring' }) });
    await core.createNamespacedPod({ namespace: ns, body: mk('dialer', client, { app: 'dialer' }, 'Never') });
    const done = await waitForPod(
      'dialer',
      'Succeeded',
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    );
    expect(done.status?.phase, podDiagnostics('dialer')).toBe('Succeeded');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe(
      'ring-0,ring-1,ring-0,ring-1',
    );
    expect(node.podIP(ns, 'ring-0')).not.toBe(node.podIP(ns, 'ring-1'));
  });

  it('reports an injected kill, restarts under OnFailure, and holds a pod that never starts', async () => {
    await createNodePod('victim', SLEEPER);
    await waitForPod('victim', 'Running', (p) => p.status?.phase === 'Running');
    node.killPod(ns, 'victim', { reason: 'OOMKilled' });
    const killed = await waitForPod('victim', 'Failed', (p) => p.status?.phase === 'Failed');
    expect(killed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });

    const flaky =
      "const fs = require('node:fs'); const f = '/data/attempted'; if (!fs.existsSync(f)) { fs.writeFileSync(f, '1'); console.error('first attempt fails'); process.exit(75); }";
    await createNodePod('flaky', flaky, {
      spec: { restartPolicy: 'OnFailure', volumes: [{ name: 'data', emptyDir: {} }] },
      container: {
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        // Guaranteed QoS: the status writes must keep the apiserver's immutable qosClass.
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      },
    });
    const recovered = await waitForPod(
      'flaky',
      'Succeeded',
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    );
    expect(recovered.status?.phase).toBe('Succeeded');
    expect(recovered.status?.qosClass).toBe('Guaranteed');
    expect(recovered.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      lastState: { terminated: { exitCode: 75, reason: 'Error' } },
    });

    node.preventStart('stuck');
    await createNodePod('stuck', SLEEPER, { spec: { restartPolicy: 'Always' } });
    const stuck = await waitForPod(
      'stuck',
      'waiting ImagePullBackOff',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
    );
    expect(stuck.status?.phase).toBe('Pending');
  });

  it('waits for a Secret the pod references, as a kubelet does, then runs it', async () => {
    const script = 'require("node:fs").writeFileSync(process.env.JCL_TERMINATION_LOG, process.env.TOKEN);';
    await createNodePod('needs-secret', script, {
      container: { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'late', key: 'token' } } }] },
    });
    const waiting = await waitForPod(
      'needs-secret',
      'waiting for its Secret',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    expect(waiting.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(
      "secret 'late' key 'token' not found",
    );
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'late' }, stringData: { token: 's3cret' } },
    });
    const done = await waitForPod('needs-secret', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe('s3cret');
  });

  it('gives a pod its ServiceAccount identity through KUBECONFIG, with RBAC enforced', async () => {
    await createServiceAccountIdentity(kc, {
      namespace: ns,
      name: 'pod-lister',
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
    });
    const clientNode = pathToFileURL(
      path.join(REPO_ROOT, 'node_modules/@kubernetes/client-node/dist/index.js'),
    ).href;
    const script = [
      `import(${JSON.stringify(clientNode)}).then(async (k8s) => {`,
      '  const kc = new k8s.KubeConfig(); kc.loadFromDefault();',
      '  const core = kc.makeApiClient(k8s.CoreV1Api); const ns = kc.getContextObject(kc.getCurrentContext()).namespace;',
      '  const pods = await core.listNamespacedPod({ namespace: ns });',
      '  const secrets = await core.listNamespacedSecret({ namespace: ns }).then(() => 200, (e) => e.code);',
      "  require('node:fs').writeFileSync(process.env.JCL_TERMINATION_LOG, JSON.stringify({ pods: pods.items.length > 0, secrets }));",
      '}).catch((e) => { console.error(e); process.exit(2); });',
    ].join('\n');
    await createNodePod('in-cluster', script, { spec: { serviceAccountName: 'pod-lister' } });
    const done = await waitForPod(
      'in-cluster',
      'finished',
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    );
    expect(done.status?.phase, podDiagnostics('in-cluster')).toBe('Succeeded');
    expect(JSON.parse(done.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '{}')).toEqual({
      pods: true,
      secrets: 403,
    });
  });

  it('delays status while the node is paused and reports NotReady on demand', async () => {
    await createNodePod('stalled', SLEEPER);
    await waitForPod('stalled', 'Running', (p) => p.status?.phase === 'Running');
    node.pause();
    node.killPod(ns, 'stalled', { signal: 'SIGTERM' });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await core.readNamespacedPod({ name: 'stalled', namespace: ns })).status?.phase).toBe('Running');
    node.resume();
    const failed = await waitForPod('stalled', 'Failed after resume', (p) => p.status?.phase === 'Failed');
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 143,
      reason: 'Error',
    });

    await node.setNodeReady('False');
    const notReady = await core.readNode({ name: node.nodeName });
    expect(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await node.setNodeReady('True');
  });

  it('stops a deleted pod with SIGTERM and removes it', async () => {
    const graceful =
      "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); setInterval(() => undefined, 1000);";
    await createNodePod('graceful', graceful);
    await waitForPod('graceful', 'Running', (p) => p.status?.phase === 'Running');
    const logs = node.podLogFiles(ns, 'graceful');
    await core.deleteNamespacedPod({ name: 'graceful', namespace: ns });
    await pollUntil(
      () =>
        core.readNamespacedPod({ name: 'graceful', namespace: ns }).then(
          () => undefined,
          (err) => ((err as { code?: number }).code === 404 ? true : undefined),
        ),
      { timeoutMs: 60_000, description: 'pod graceful deleted', diagnose: () => tailFile(node.logFile) },
    );
    expect(tailFile(logs.stdout)).toContain('got SIGTERM');
  });
});

class FatalJobError extends Error {}
