import { defineConfig } from 'vitest/config';

// The benchmark smoke test runs on its own after the main suite: it loads both cores for ~30 s.
export default defineConfig({
  test: {
    include: ['test/smoke/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
  },
});
