/**
 * The test control plane for people: `npx tsx scripts/controlplane.ts up|down|env`.
 *   up    builds nothing (run scripts/controlplane-build.sh first), starts etcd + kube-apiserver +
 *         kube-controller-manager in the background and prints the KUBECONFIG export
 *   env   prints `export KUBECONFIG=...` for the running plane (use: eval "$(npx tsx scripts/controlplane.ts env)")
 *   down  stops the plane started by `up` (and anything a crashed test run left behind)
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane } from '../test/harness/control-plane.ts';
import { cleanStaleRuns, resolveCacheDir, runDir } from '../test/harness/run-registry.ts';

const stateFile = path.join(runDir(resolveCacheDir()), 'dev-plane.state');

interface DevPlaneState {
  kubeconfigPath: string;
  server: string;
  rootDir: string;
}

function readState(): DevPlaneState | undefined {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as DevPlaneState) : undefined;
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && existsSync(existing.kubeconfigPath)) {
    console.log(`# already running: ${existing.server}\nexport KUBECONFIG=${existing.kubeconfigPath}`);
    return;
  }
  const started = Date.now();
  const plane = await startControlPlane({ persistent: true });
  const state: DevPlaneState = {
    kubeconfigPath: plane.kubeconfigPath,
    server: plane.server,
    rootDir: plane.rootDir,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.error(
    `control plane ready at ${plane.server} in ${((Date.now() - started) / 1000).toFixed(1)}s (logs: ${plane.rootDir}/logs)`,
  );
  console.log(`export KUBECONFIG=${plane.kubeconfigPath}`);
  console.error(`kubectl: ${plane.binDir}/kubectl`);
}

function down(): void {
  const cleaned = cleanStaleRuns(resolveCacheDir(), true);
  rmSync(stateFile, { force: true });
  console.error(cleaned.length > 0 ? `stopped: ${cleaned.join(', ')}` : 'nothing was running');
}

function env(): void {
  const state = readState();
  if (!state) {
    console.error('no control plane is running; start one with: npx tsx scripts/controlplane.ts up');
    process.exit(1);
  }
  console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
}

const command = process.argv[2];
switch (command) {
  case 'up':
    await up();
    process.exit(0);
    break;
  case 'down':
    down();
    break;
  case 'env':
    env();
    break;
  default:
    console.error(`usage: npx tsx scripts/controlplane.ts up|down|env (got '${command ?? ''}')`);
    process.exit(2);
}
