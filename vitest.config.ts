import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // The CLI tests among them spawn the shipped binary: build it once first.
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-cli.ts'],
          // Several unit tests run whole sandbox cutovers in process; on a busy 2-core machine one can take
          // longer than vitest's default 5 s without anything being wrong.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          // Minute-tick scenarios wait for the real CronJob controller: files run side by side, each in
          // its own namespaces, so the suite takes a few minutes rather than the sum of its scenarios.
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: true,
          maxWorkers: 8,
          globalSetup: ['test/support/lab-global-setup.ts'],
        },
      },
    ],
  },
});
