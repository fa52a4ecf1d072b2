import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'worker/**/*.test.ts',
      'operator/**/*.test.ts',
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/harness/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files run side by side on few cores: one wasm thread each (load-wasm-threaded.test.ts and
    // cpu-budget.test.ts cover the threaded build and the default thread count).
    env: { JCL_WASM_THREADS: '1' },
  },
});
