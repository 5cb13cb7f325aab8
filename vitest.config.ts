import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/smoke/**', 'node_modules/**'],
    // Each file gets its own process: uWS apps, undici pools and mock servers never leak between files.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
