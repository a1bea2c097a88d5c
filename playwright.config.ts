import { defineConfig, devices } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/harness.js';

// The e2e suite: the demo, served by Vite on a fixed port, driven in real
// Chromium with several tabs. Small on purpose: one worker, a few tests.
// SESSION_LANES_E2E_PORT lets several checkouts run their e2e suites side by side.
const PORT = Number(process.env.SESSION_LANES_E2E_PORT ?? 5179);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  fullyParallel: false,
  // The tests measure races; two at once on two cores would measure each other.
  workers: 1,
  retries: 0,
  timeout: 60_000,
  forbidOnly: Boolean(process.env.CI),
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: { ...devices['Desktop Chrome'], viewport: { width: 1200, height: 900 }, launchOptions: chromiumLaunchOptions() },
    },
  ],
  webServer: {
    command: `node node_modules/vite/bin/vite.js --config demo/vite.config.ts --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    env: { SESSION_LANES_DEMO_WATCH: '0' },
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
