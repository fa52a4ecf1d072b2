import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests against a real control plane (issue 5). test/harness/global-setup.ts starts etcd,
 * kube-apiserver and kube-controller-manager once for all files (build them first with
 * scripts/controlplane-build.sh). Files run one at a time: a 2-core CI runner hosts the plane, the node
 * harness's pod processes and the tests.
 */
export default defineConfig({
  test: {
    // test/harness/*.test.ts: unit tests of the harness's pure parts, run with the tests that rely on them.
    include: ['test/e2e/**/*.test.ts', 'test/harness/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
