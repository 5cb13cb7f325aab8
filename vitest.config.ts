import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/smoke/**', 'node_modules/**'],
    // Each file gets its own process: uWS apps, undici pools and mock servers never leak between files.
    pool: 'forks',
    // Two files at a time: vitest's default is one fewer worker than cores, which on a 2-core CI
    // machine runs the files one after another (most of their time is waiting on sockets and timers).
    maxWorkers: 2,
    // The dashboard (/ui) is served from dist/ui: built once before the files run.
    globalSetup: ['test/browser/build-ui.setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
