import { defineConfig, devices } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/harness.js';

// The e2e suite: the demo and the fixture pages, built and served by Vite, driven in real Chromium with several tabs.
// SESSION_LANES_E2E_PORT lets several checkouts run their e2e suites side by side: the suite uses
// that port and the next ones, one per worker (SESSION_LANES_E2E_WORKERS, 2 by default).
const PORT = Number(process.env.SESSION_LANES_E2E_PORT ?? 5179);
const WORKERS = Number(process.env.SESSION_LANES_E2E_WORKERS ?? 2);
// Each worker has a demo server of its own: the fixture's /e2e/reset, /e2e/stats and gate are one set per server,
// so two tests at once must not share one. Playwright loads this file again in each worker process, with
// TEST_PARALLEL_INDEX (0 … workers − 1) set: worker i talks to PORT + i. Unset in the runner process itself.
const parallelIndex = Number(process.env.TEST_PARALLEL_INDEX ?? 0);
if (parallelIndex >= WORKERS) {
  throw new Error(`e2e worker ${parallelIndex} has no demo server: run with SESSION_LANES_E2E_WORKERS=${parallelIndex + 1} rather than --workers`);
}
const portOf = (index: number) => PORT + index;
// Where the e2e pages are built: one directory per port, so that checkouts and runs side by side never share one.
const PAGES = `test-results/e2e-pages-${PORT}`;

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  // Tests, not files, are spread over the workers: no test reads what another test of its file left (each resets
  // the fixture's counters, and has its own browser context), and the slow files would otherwise end the run alone.
  fullyParallel: true,
  // Two at once on two cores: the specs assert what the servers saw (counts, overlaps, lower bounds on a burst's
  // duration), never an upper bound on time, so a neighbour's load slows a test without changing what it checks.
  workers: WORKERS,
  retries: 0,
  timeout: 60_000,
  forbidOnly: Boolean(process.env.CI),
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://localhost:${portOf(parallelIndex)}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: { ...devices['Desktop Chrome'], viewport: { width: 1200, height: 900 }, launchOptions: chromiumLaunchOptions() },
    },
  ],
  // The pages are built once (vite build, e2e/vite.config.ts) by the first server, and each server serves them with
  // `vite preview`, the demo's and the fixture's routes mounted as on the dev server (scripts/e2e-server.mjs): a page
  // loads in a few requests rather than one per module, each transformed on demand. Playwright starts these entries
  // one after another, each once its URL answers, so the pages are there before the next server starts.
  webServer: Array.from({ length: WORKERS }, (_, index) => ({
    command: `node scripts/e2e-server.mjs --port ${portOf(index)} --pages ${PAGES}${index === 0 ? ' --build' : ''}`,
    url: `http://localhost:${portOf(index)}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
  })),
});
