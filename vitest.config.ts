import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The client's source, as tsconfig.json's `paths` maps it for tsc and tsx (its package exports the built dist/).
  resolve: { alias: { '@orchex/client': fileURLToPath(new URL('packages/client/src/index.ts', import.meta.url)) } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files use their own queue prefixes and databases, so they may run side by side.
    fileParallelism: true,
    // `npm run coverage`: V8's own counters, so no instrumented copy of the code runs. Only code loaded by the test
    // processes is counted; the API, worker and CLI processes that tests spawn are not.
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**', 'apps/*/src/**', 'scripts/**'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
    },
  },
});
