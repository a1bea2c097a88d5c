import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from '../../e2e/harness.js';

// The race kit's Playwright fixture, in real Chromium, against an app each spec starts on 127.0.0.1 itself:
// npx playwright test --config test/race/playwright.config.ts
export default defineConfig({
  testDir: '.',
  testMatch: '*.pw.ts',
  outputDir: '../../test-results/race',
  workers: 1,
  retries: 0,
  timeout: 30_000,
  reporter: 'list',
  use: { launchOptions: chromiumLaunchOptions() },
});
