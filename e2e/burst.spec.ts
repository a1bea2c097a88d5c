import { writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { burstInTabs, openTabs, type DemoTab } from './harness.js';

// Three tabs of one browser, twelve updates each, 100 ms between a handler's
// read of the session and its write. Chromium opens at most six connections
// per host over HTTP/1.1, so at least six requests overlap at the server at
// once: in naive mode the loss does not depend on luck.
const TABS = 3;
const BURST = 12;
const DELAY_MS = 100;

let tabs: DemoTab[] = [];

test.afterEach(async () => {
  // No console errors, no uncaught exceptions, in any tab, in either mode.
  expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
  tabs = [];
});

test('naive mode: a burst from several tabs loses acknowledged updates', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 'naive', TABS, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally.acknowledged).toBe(TABS * BURST);
  expect(tally.lost).toBeGreaterThan(0);
  await expect(tabs[0]!.page.getByTestId('lost')).not.toHaveText('0');
});

test('session-lanes mode: the same burst loses none', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 'lanes', TABS, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally.acknowledged).toBe(TABS * BURST);
  expect(tally.stored).toBe(TABS * BURST);
  expect(tally.lost).toBe(0);
  for (const { page } of tabs) await expect(page.getByTestId('lost')).toHaveText('0');

  // The timeline is the test's artifact: one look shows the lanes.
  const timeline = await tabs[0]!.page.getByTestId('timeline-panel').screenshot();
  await writeFile(testInfo.outputPath('timeline.png'), timeline);
  await testInfo.attach('timeline', { body: timeline, contentType: 'image/png' });
});
