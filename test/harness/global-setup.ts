/**
 * vitest globalSetup of vitest.e2e.config.ts: starts one control plane for every e2e test file and hands
 * its coordinates to the tests through `provide('controlPlane')` (read them with `useControlPlane()`).
 * Set JCL_E2E_KUBECONFIG to run the tests against a plane that is already up
 * (`npx tsx scripts/controlplane.ts up`) instead.
 */
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.ts';
import type { ControlPlaneInfo } from './e2e-context.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: ControlPlaneInfo;
  }
}

/** Starts the plane (or adopts JCL_E2E_KUBECONFIG) and returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.JCL_E2E_KUBECONFIG;
  if (existing) {
    project.provide('controlPlane', { kubeconfigPath: existing, startupMs: 0, logsDir: '' });
    return async () => undefined;
  }
  const started = Date.now();
  const plane = await startControlPlane();
  const startupMs = Date.now() - started;
  console.log(
    `[e2e] control plane ${plane.server} ready in ${(startupMs / 1000).toFixed(1)}s (logs: ${plane.rootDir}/logs)`,
  );
  project.provide('controlPlane', {
    kubeconfigPath: plane.kubeconfigPath,
    startupMs,
    logsDir: `${plane.rootDir}/logs`,
  });
  return async () => {
    await plane.stop();
  };
}
