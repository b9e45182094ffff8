import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real processes and inotify: keep parallelism modest on a 2-core machine.
    maxWorkers: 2,
    pool: 'forks',
    // One TMPDIR per run, removed at its end (test/helpers/global-tmp.ts).
    globalSetup: ['test/helpers/global-tmp.ts'],
  },
});
