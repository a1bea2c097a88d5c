import { expect, test, type Page } from '@playwright/test';
import { FIXTURE, fixtureStats as stats, openFixtureTab as openTab, openObserver, postTo as post, type FixtureTab as Tab } from './harness.js';

// Cross-tab lanes, the shared version cache and the durable outbox, in real
// Chromium: several tabs of one browser context (one cookie jar, one origin)
// against the real validator (demo/server/fixture.ts). Each test asserts on
// what the server saw: counts, never timing.

test.beforeEach(async ({ page }) => {
  await page.goto(FIXTURE);
  await post(page, '/e2e/reset');
  await page.close();
});

test('3 tabs × 100 concurrent increments declaring their bases: 300, and not one 412', async ({ context }) => {
  const tabs = [await openTab(context), await openTab(context), await openTab(context)];
  const results = await Promise.all(tabs.map(({ page }) => page.evaluate(() => Promise.all(Array.from({ length: 100 }, () => window.fixture.inc())))));

  expect(results.flat()).toEqual(Array(300).fill(200));
  expect(await tabs[0]!.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 300 });
  const seen = await stats(tabs[0]!.page);
  expect(seen.statuses[412] ?? 0).toBe(0);
  expect(seen.requests['/e2e/inc']).toBe(300);
  // Every tab knows the last version: each read it from the shared cache, or a broadcast.
  for (const { page } of tabs) await expect.poll(() => page.evaluate(() => window.fixture.versions())).toMatchObject({ n: 300 });
  expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
});

/**
 * In `tab`, after a first write made the session: closes the gate and starts
 * 3 blind appends and 3 static increments through it, without waiting for
 * them. Returns once the first of each is in flight (waiting at the gate) and
 * all six are in the outbox: [Idempotency-Key, sent] of each.
 */
async function startGatedWrites(tab: Tab): Promise<(readonly [string, boolean])[]> {
  const { page } = tab;
  expect(await page.evaluate(() => window.fixture.inc())).toBe(200);
  await post(page, '/e2e/gate/close');
  await page.evaluate(() => {
    for (const item of ['a1', 'a2', 'a3']) void window.fixture.log(item, true);
    for (let i = 0; i < 3; i++) void window.fixture.inc(true);
  });
  await expect.poll(async () => (await stats(page)).waiting).toBe(2);
  const outbox = await page.evaluate(() => window.fixture.outbox());
  expect(outbox).toHaveLength(6);
  expect(outbox.filter(([, sent]) => sent)).toHaveLength(2);
  return outbox;
}

/** Once the outbox is empty, every write started is in the session exactly once. */
async function expectAppliedOnce(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.fixture.outbox()), { timeout: 20_000 }).toEqual([]);
  const state = await page.evaluate(() => window.fixture.state());
  expect(state.n).toBe(4);
  expect([...state.log].sort()).toEqual(['a1', 'a2', 'a3']);
}

test('a tab closed with writes in flight and queued: the tab that remains replays them, each applied once', async ({ context }) => {
  const [closing, remaining] = [await openTab(context), await openTab(context)];
  await startGatedWrites(closing);
  await closing.page.close();
  await post(remaining.page, '/e2e/gate/open');

  await expectAppliedOnce(remaining.page);
  expect((await stats(remaining.page)).statuses[412] ?? 0).toBe(0);
  expect(remaining.errors.filter((error) => error.startsWith('uncaught'))).toEqual([]);
});

test('a tab closed with writes in flight and queued: a tab opened later replays them, each once', async ({ context }) => {
  const closing = await openTab(context);
  const outbox = await startGatedWrites(closing);
  await closing.page.close();
  const observer = await openObserver(context);
  await post(observer, '/e2e/gate/open');
  // The two in flight finish at the server: their replays must get the recorded answers.
  await expect.poll(async () => (await stats(observer)).finished).toBe(1 + 2);

  const later = await openTab(context);
  await expectAppliedOnce(later.page);
  const seen = await stats(later.page);
  // Sent ones: the first attempt and one replay; never-sent ones: one send.
  for (const [key, sent] of outbox) expect(seen.keys[key], key).toBe(sent ? 2 : 1);
  expect(seen.statuses[412] ?? 0).toBe(0);
});

test('two tabs starting at once with the same orphaned outbox replay each entry once', async ({ context }) => {
  const closing = await openTab(context);
  const outbox = await startGatedWrites(closing);
  await closing.page.close();
  const observer = await openObserver(context);
  await post(observer, '/e2e/gate/open');
  await expect.poll(async () => (await stats(observer)).finished).toBe(1 + 2);

  const [first] = await Promise.all([openTab(context), openTab(context)]);
  await expectAppliedOnce(first!.page);
  const seen = await stats(first!.page);
  for (const [key, sent] of outbox) expect(seen.keys[key], key).toBe(sent ? 2 : 1);
});

test('logout in one tab: the other tabs get sessionended and send none of their queued writes', async ({ context }) => {
  const [a, b, c] = [await openTab(context), await openTab(context), await openTab(context)];
  expect(await a.page.evaluate(() => window.fixture.inc())).toBe(200);
  await post(a.page, '/e2e/gate/close');
  const inFlight = a.page.evaluate(() => window.fixture.inc(true));
  await expect.poll(async () => (await stats(a.page)).waiting).toBe(1);
  const queued = [b, c].map(({ page }) => page.evaluate(() => Promise.all([window.fixture.inc(), window.fixture.inc()])));
  // Four writes wait for the lane of n, held by the one in flight.
  await expect.poll(() => a.page.evaluate(() => window.fixture.waitingLanes())).toBe(4);
  const before = await stats(a.page);

  expect(await a.page.evaluate(() => window.fixture.logout())).toBe(200);
  for (const { page } of [b, c]) await expect.poll(() => page.evaluate(() => window.fixture.events.filter((event) => event.type === 'sessionended').length)).toBe(1);
  await post(a.page, '/e2e/gate/open');

  expect(await inFlight).toBe('SessionEndedError'); // its commit found the session gone: 410
  for (const results of await Promise.all(queued)) expect(results).toEqual(['SessionEndedError', 'SessionEndedError']);
  const after = await stats(a.page);
  expect(after.requests['/e2e/inc']).toBe(before.requests['/e2e/inc']); // not one of the queued writes was sent
  expect(await a.page.evaluate(() => window.fixture.outbox())).toEqual([]);

  // The logout's answer cleared no cookie (a late one could drop the next session's): the next write, in any tab,
  // meets the dead cookie, whose 410 clears it, and is resent once as the new login; the other tabs join that session.
  expect(await b.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect(await c.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect(await a.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect((await stats(a.page)).requests['/e2e/inc']).toBe(after.requests['/e2e/inc']! + 4);
});
