/**
 * Try the operator without a cluster: `npm run dev:cluster` (= `npx tsx scripts/dev-cluster.ts`) starts the
 * test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler; build them first with
 * scripts/controlplane-build.sh), a node harness with NODES nodes (default 2) that runs pods as local
 * processes, installs the CRD and runs the operator with this checkout's `jcl worker`. It prints the
 * KUBECONFIG and kubectl to use from another terminal, then stays in the foreground until Ctrl-C, which
 * stops everything (and removes the plane's and the nodes' directories):
 *   kubectl apply -f manifests/examples/jcljob-tiny-synthetic.yaml
 *   kubectl get jcljob -w
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, startControlPlane } from '../test/harness/control-plane.ts';
import { NodeHarness } from '../test/harness/node-harness.ts';
import { installCrd, startOperator } from '../operator/src/testing/e2e-kit.ts';

const nodes = Number(process.env.NODES ?? '2');
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
  console.error(`dev-cluster: NODES must be an integer from 1 to 16 (got '${process.env.NODES}')`);
  process.exit(2);
}

const started = Date.now();
const plane = await startControlPlane();
const stops: (() => Promise<unknown>)[] = [() => plane.stop()];
const shutdown = async (code: number): Promise<never> => {
  for (const stop of stops.reverse()) await stop().catch((err) => console.error(`dev-cluster: ${err}`));
  process.exit(code);
};
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  await installCrd(plane.kubeConfig, plane.kubeconfigPath);
  // Pods that mount /tmp get paths under the OS temp dir rewritten; keep node roots elsewhere (as the e2e tests do).
  const rootDir = path.join(os.homedir(), '.cache', 'jcl-operator', 'dev-nodes', String(process.pid));
  mkdirSync(rootDir, { recursive: true });
  stops.push(() => rm(rootDir, { recursive: true, force: true })); // after the node stopped (stops run in reverse)
  const node = await NodeHarness.start({
    kubeConfig: plane.kubeConfig,
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `dev-node-${i}` })),
    rootDir,
    maxGraceMs: 5_000,
  });
  stops.push(() => node.stop());
  const operator = await startOperator(plane.kubeconfigPath, [
    '--worker-command',
    `node ${path.join(REPO_ROOT, 'bin/jcl.js')}`,
    '--poll-interval-ms',
    '2000',
  ]);
  stops.push(() => operator.stop());
  console.error(
    `dev-cluster: ready in ${((Date.now() - started) / 1000).toFixed(1)}s: plane ${plane.server}, ` +
      `nodes ${node.nodeNames.join(', ')} (pods run as local processes), operator log ${operator.logFile}`,
  );
  console.log(`export KUBECONFIG=${plane.kubeconfigPath}`);
  console.log(`export PATH=${plane.binDir}:$PATH   # kubectl ${path.join(plane.binDir, 'kubectl')}`);
  console.error('dev-cluster: in another shell, run the two lines above, then:');
  console.error('  kubectl apply -f manifests/examples/jcljob-tiny-synthetic.yaml && kubectl get jcljob -w');
  console.error('dev-cluster: Ctrl-C stops the operator, the node and the plane.');
} catch (err) {
  console.error(`dev-cluster: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`component logs:\n${plane.logTails(20)}`);
  await shutdown(1);
}
