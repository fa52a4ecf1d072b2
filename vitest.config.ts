import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'worker/**/*.test.ts',
      'operator/**/*.test.ts',
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/harness/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
