import { expect, test } from '@playwright/test';
import { fixtureStats as stats, openFixtureTab as openTab, postTo as post } from './harness.js';

// `createSessionClient({ fetch: window.fetch })` in real Chromium, whose fetch
// refuses to be called as a method of another object ("Illegal invocation").

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

test('options.fetch = window.fetch: called without a receiver, with and without `session`', async ({ context }) => {
  const tab = await openTab(context);
  expect(await tab.page.evaluate(() => window.fixture.windowFetch())).toEqual([200, 200, 200]);
  expect((await stats(tab.page)).requests['/e2e/inc']).toBe(1);
});
