import { writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { HISTORY_FORMAT } from '../src/race/history.js';
import { burstInTabs, openTabs, type DemoTab } from './harness.js';

// Twelve updates per tab, 100 ms between a handler's read of the session and
// its write. Chromium opens at most six connections per host over HTTP/1.1,
// so up to six requests overlap at the server at once, and at least two
// always do: in naive mode the loss does not depend on luck.
const BURST = 12;
const DELAY_MS = 100;
const MODES = ['naive', 'lock', 'lanes'] as const;

let tabs: DemoTab[] = [];

// Chromium logs every 4xx answer to fetch as a console error: the lanes, now
// Web Locks shared by the tabs, spare every tab its 412s, so not one may show.
test.afterEach(async () => {
  expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
  tabs = [];
});

test('one Burst runs the same burst in the three columns, each in its own session, each drawn by the race kit renderer', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 1, DELAY_MS);
  const { page } = tabs[0]!;
  await page.evaluate(() => window.demo.reset());
  await page.getByTestId('burst-size').fill(String(BURST));
  await page.getByTestId('burst').click();
  await page.locator('[data-testid=burst-status][data-state=done]').waitFor({ timeout: 60_000 });

  const results = await page.evaluate(() => window.demo.lastBurst!);
  for (const mode of MODES) {
    const column = page.getByTestId(`column-${mode}`);
    await expect(column.getByTestId('status')).toHaveText('done');
    expect(results[mode]).toMatchObject({ mode, acknowledged: expect.any(Array) });
    expect(results[mode]!.acknowledged).toHaveLength(BURST);
    // Its own session: the column's session holds its own mode's items, none of another column's.
    const state = await page.evaluate((mode) => window.demo.state(mode), mode);
    const items = [...state.cart, ...state.wishlist, ...state.recent];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item.startsWith(`${mode}·`)).toBe(true);
    // One renderer, one history format: the race kit's SVG, one bar per update of the burst, over its history.
    const history = await page.evaluate((mode) => window.demo.history(mode), mode);
    expect(history.format).toBe(HISTORY_FORMAT);
    expect(history.operations.map((operation) => operation.key).sort()).toEqual(Array.from({ length: BURST }, (_, index) => ['cart', 'wishlist', 'recent'][index % 3]).sort());
    await expect(column.locator('[data-testid=timeline] svg rect[data-operation]')).toHaveCount(BURST);
    await expect(column.getByTestId('conflicts-note')).toContainText('412');
  }
  // Naive: six requests at the server at once, each saving the whole session it loaded: updates are lost, and outlined.
  expect(results.naive!.lost).toBeGreaterThan(0);
  await expect(page.getByTestId('column-naive').getByTestId('lost')).toHaveText(String(results.naive!.lost));
  await expect(page.getByTestId('column-naive').locator('svg rect[data-operation][stroke="#d50000"]')).toHaveCount(results.naive!.lost);
  for (const mode of ['lock', 'lanes'] as const) {
    expect(results[mode]).toMatchObject({ stored: results[mode]!.acknowledged, lost: 0, conflicts: 0, retries: 0 });
    await expect(page.getByTestId(`column-${mode}`).getByTestId('lost')).toHaveText('0');
    await expect(page.getByTestId(`column-${mode}`).locator('svg rect[data-operation][stroke="#d50000"]')).toHaveCount(0);
  }
  // One lock per session: twelve handlers of DELAY_MS one after another; lanes: four deep per key, so at least four.
  expect(results.lock!.durationMs).toBeGreaterThanOrEqual(BURST * DELAY_MS);
  expect(results.lanes!.durationMs).toBeGreaterThanOrEqual((BURST / 3) * DELAY_MS);

  // The devtools panel, on the lanes column's client, shows the keys the burst wrote with their versions.
  const devtools = page.getByTestId('devtools');
  for (const key of ['cart', 'wishlist', 'recent']) await expect(devtools.locator(`[data-testid=devtools-key][data-key=${key}] [data-testid=devtools-version]`)).toHaveText(/^v\d+$/);

  const shot = await page.getByTestId('columns').screenshot();
  await writeFile(testInfo.outputPath('columns.png'), shot);
  await testInfo.attach('columns', { body: shot, contentType: 'image/png' });
});

test('naive mode: a burst from three tabs loses acknowledged updates', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 3, DELAY_MS);
  const tally = await burstInTabs(tabs, 'naive', BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally.acknowledged).toBe(3 * BURST);
  expect(tally.lost).toBeGreaterThan(0);
  await expect(tabs[0]!.page.getByTestId('column-naive').getByTestId('lost')).not.toHaveText('0');
});

test('lock mode, three tabs: one lock per session loses none, and runs the whole burst one request at a time', async ({ context, baseURL }) => {
  tabs = await openTabs(context, baseURL!, 3, DELAY_MS);
  const tally = await burstInTabs(tabs, 'lock', BURST);

  expect(tally).toMatchObject({ acknowledged: 3 * BURST, stored: 3 * BURST, lost: 0 });
  // Every handler sleeps DELAY_MS under the session's lock: 36 of them cannot take less than 36 delays.
  expect(tally.durationMs).toBeGreaterThanOrEqual(3 * BURST * DELAY_MS);
  await expect(tabs[0]!.page.getByTestId('column-lock').getByTestId('lost')).toHaveText('0');
});

test('session-lanes mode, one tab: the burst loses none, its lanes spare it every 412, and only same-key writes queue', async ({ context, baseURL }) => {
  tabs = await openTabs(context, baseURL!, 1, DELAY_MS);
  const tally = await burstInTabs(tabs, 'lanes', BURST);

  expect(tally).toMatchObject({ acknowledged: BURST, stored: BURST, lost: 0, conflicts: 0, retries: 0 });
  // Twelve updates over three keys: each key's lane runs four deep, so at least four delays, never one per update.
  expect(tally.durationMs).toBeGreaterThanOrEqual((BURST / 3) * DELAY_MS);
  const column = tabs[0]!.page.getByTestId('column-lanes');
  await expect(column.getByTestId('lost')).toHaveText('0');
  // Only the burst is drawn: the page's own first requests (state, visit) are not on the timeline.
  await expect(column.locator('[data-testid=timeline] svg rect[data-operation]')).toHaveCount(BURST);
  // The lanes: no two updates of one key at the server at once.
  const history = await tabs[0]!.page.evaluate(() => window.demo.history('lanes'));
  for (const key of ['cart', 'wishlist', 'recent']) {
    const spans = history.operations.filter((operation) => operation.key === key).map((operation) => [operation.sentAt, operation.answeredAt!] as const).sort((a, b) => a[0] - b[0]);
    for (let index = 1; index < spans.length; index += 1) expect(spans[index]![0]).toBeGreaterThanOrEqual(spans[index - 1]![1]);
  }
});

test('session-lanes mode, three tabs: the same burst loses none, and the cross-tab lanes spare them every 412', async ({ context, baseURL }, testInfo) => {
  tabs = await openTabs(context, baseURL!, 3, DELAY_MS);
  const tally = await burstInTabs(tabs, 'lanes', BURST);
  testInfo.annotations.push({ type: 'tally', description: JSON.stringify({ ...tally, results: undefined }) });

  expect(tally).toMatchObject({ acknowledged: 3 * BURST, conflicts: 0, retries: 0 });
  expect(tally.stored).toBe(3 * BURST);
  expect(tally.lost).toBe(0);
  for (const { page } of tabs) await expect(page.getByTestId('column-lanes').getByTestId('lost')).toHaveText('0');

  // The timeline is the test's artifact: one look shows the lanes.
  const timeline = await tabs[0]!.page.getByTestId('column-lanes').screenshot();
  await writeFile(testInfo.outputPath('timeline.png'), timeline);
  await testInfo.attach('timeline', { body: timeline, contentType: 'image/png' });
});
