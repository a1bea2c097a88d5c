import { writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { burstInTabs, openTabs, type DemoTab } from './harness.js';

// Twelve updates per tab, 100 ms between a handler's read of the session and
// its write. Chromium opens at most six connections per host over HTTP/1.1,
// so up to six requests overlap at the server at once, and at least two
// always do: in naive mode the loss does not depend on luck.
const BURST = 12;
const DELAY_MS = 100;

let tabs: DemoTab[] = [];

// Chromium logs every 4xx answer to fetch as a console error: the lanes, now
// Web Locks shared by the tabs, spare every tab its 412s, so not one may show.
test.afterEach(async () => {
  expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
  tabs = [];
});

test('naive mode: a burst from three tabs loses acknowledged updates', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 'naive', 3, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally.acknowledged).toBe(3 * BURST);
  expect(tally.lost).toBeGreaterThan(0);
  await expect(tabs[0]!.page.getByTestId('lost')).not.toHaveText('0');
});

test('lock mode, three tabs: one lock per session loses none, and runs the whole burst one request at a time', async ({ context, baseURL }) => {
  tabs = await openTabs(context, baseURL!, 'lock', 3, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);

  expect(tally).toMatchObject({ acknowledged: 3 * BURST, stored: 3 * BURST, lost: 0 });
  // Every handler sleeps DELAY_MS under the session's lock: 36 of them cannot take less than 36 delays.
  expect(tally.durationMs).toBeGreaterThanOrEqual(3 * BURST * DELAY_MS);
  await expect(tabs[0]!.page.getByTestId('lost')).toHaveText('0');
  await expect(tabs[0]!.page.locator('#burst-hint')).toContainText('One lock per session');
});

test('session-lanes mode, one tab: the burst loses none, its lanes spare it every 412, and only same-key writes queue', async ({ context, baseURL }) => {
  tabs = await openTabs(context, baseURL!, 'lanes', 1, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);

  expect(tally).toMatchObject({ acknowledged: BURST, stored: BURST, lost: 0, conflicts: 0, retries: 0 });
  // Twelve updates over three keys: each key's lane runs four deep, so at least four delays, never one per update.
  expect(tally.durationMs).toBeGreaterThanOrEqual((BURST / 3) * DELAY_MS);
  await expect(tabs[0]!.page.getByTestId('lost')).toHaveText('0');
  await expect(tabs[0]!.page.locator('#burst-hint')).toContainText('queue in that key');
  // Only the burst is drawn: the page's own first requests (state, visit) are not on the timeline.
  await expect(tabs[0]!.page.locator('#timeline g.tl-write')).toHaveCount(BURST);
});

test('session-lanes mode, three tabs: the same burst loses none, and the cross-tab lanes spare them every 412', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 'lanes', 3, DELAY_MS);
  const tally = await burstInTabs(tabs, BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally).toMatchObject({ acknowledged: 3 * BURST, conflicts: 0, retries: 0 });
  expect(tally.stored).toBe(3 * BURST);
  expect(tally.lost).toBe(0);
  for (const { page } of tabs) await expect(page.getByTestId('lost')).toHaveText('0');

  // The timeline is the test's artifact: one look shows the lanes.
  const timeline = await tabs[0]!.page.getByTestId('timeline-panel').screenshot();
  await writeFile(testInfo.outputPath('timeline.png'), timeline);
  await testInfo.attach('timeline', { body: timeline, contentType: 'image/png' });
});
