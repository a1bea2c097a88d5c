import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // e2e/ belongs to Playwright.
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Most files wait on real sockets, Redis, PostgreSQL and timers, not on a core: vitest's default on a
    // 2-core machine (cores − 1 = one file at a time) left the CPU idle half the run. Store tests use
    // their own key prefixes and table prefixes (or private servers), so files may share Redis and PG.
    maxWorkers: 6,
  },
});
