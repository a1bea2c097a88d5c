import { expect, test, type Page } from '@playwright/test';
import { fixtureStats as stats, openFixtureTab as openTab, postTo as post } from './harness.js';

// When the browser lacks a part (IndexedDB, Web Locks) the client keeps its
// contract within the tab and reports the fallback once; and an abort
// releases a request waiting for another tab's Web Lock. Real Chromium, the
// real validator (demo/server/fixture.ts), the client's public API; each
// test asserts on what the server saw and on events, never on timing.

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

const fallbacks = (page: Page) => page.evaluate(() => window.fixture.events.filter((event) => event.type === 'fallback'));

/**
 * In one tab: closes the gate, starts `count` concurrent static increments
 * through it (the first one also makes the session), opens the gate once the
 * first waits there, and expects every one to commit, one at a time at the
 * server (overlap 1 on n), without a 412.
 */
async function incrementsInOneTab(page: Page, count: number): Promise<void> {
  await post(page, '/e2e/gate/close');
  const results = page.evaluate((count) => Promise.all(Array.from({ length: count }, () => window.fixture.inc(true))), count);
  await expect.poll(async () => (await stats(page)).waiting).toBe(1);
  await post(page, '/e2e/gate/open');
  expect(await results).toEqual(Array(count).fill(200));
  const seen = await stats(page);
  expect(seen.maxActive['/e2e/inc']).toBe(1);
  expect(seen.statuses[412] ?? 0).toBe(0);
}

const storageGone = {
  'IndexedDB missing (indexedDB removed)': () => {
    delete (window as { indexedDB?: IDBFactory }).indexedDB;
  },
  'IndexedDB failing (indexedDB.open throws)': () => {
    IDBFactory.prototype.open = () => {
      throw new DOMException('IndexedDB is not available here', 'InvalidStateError');
    };
  },
};

for (const [name, init] of Object.entries(storageGone)) {
  test(`${name}: writes commit in memory, the lanes hold in the tab, one storage fallback`, async ({ context }) => {
    const tab = await openTab(context, init);
    if (name.includes('missing')) expect(await tab.page.evaluate(() => typeof indexedDB)).toBe('undefined');
    await incrementsInOneTab(tab.page, 10);
    // The versions live in memory: the tab's next static increment sends the right base.
    expect(await tab.page.evaluate(() => window.fixture.inc())).toBe(200);
    expect(await tab.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 11 });
    expect(await tab.page.evaluate(() => window.fixture.versions())).toMatchObject({ n: 11 });
    expect((await stats(tab.page)).statuses[412] ?? 0).toBe(0);
    const reported = await fallbacks(tab.page);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ part: 'storage' });
    if (name.includes('failing')) expect(reported[0]).toMatchObject({ error: 'InvalidStateError' });
    expect(tab.errors).toEqual([]);
  });
}

test('IndexedDB failing mid-life (a database closed under the client): writes go on in memory, one storage fallback', async ({ context }) => {
  const tab = await openTab(context);
  expect(await tab.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect(await tab.page.evaluate(() => window.fixture.outbox())).toEqual([]); // IndexedDB works so far
  await tab.page.evaluate(() => {
    IDBDatabase.prototype.transaction = () => {
      throw new DOMException('The database connection is closing.', 'InvalidStateError');
    };
  });
  await incrementsInOneTab(tab.page, 10);
  expect(await tab.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 11 });
  const reported = await fallbacks(tab.page);
  expect(reported).toEqual([{ type: 'fallback', part: 'storage', error: 'InvalidStateError' }]);
  expect(tab.errors).toEqual([]);
});

test('navigator.locks missing: in-tab lanes serialize one tab’s conflicting writes (overlap 1), one locks fallback', async ({ context }) => {
  const tab = await openTab(context, () => {
    delete (Navigator.prototype as { locks?: LockManager }).locks;
  });
  expect(await tab.page.evaluate(() => 'locks' in navigator)).toBe(false);
  await incrementsInOneTab(tab.page, 10);
  expect(await tab.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 10 });
  // Lanes and the first write both fell back: reported once.
  expect(await fallbacks(tab.page)).toEqual([{ type: 'fallback', part: 'locks' }]);
  expect(tab.errors).toEqual([]);
});

test('an abort while waiting for a Web Lock held by another tab: AbortError, never sent, and no lock left held', async ({ context }) => {
  const [holder, waiter] = [await openTab(context), await openTab(context)];
  expect(await holder.page.evaluate(() => window.fixture.inc())).toBe(200); // n = 1
  await post(holder.page, '/e2e/gate/close');
  // The holder's write is in flight: it holds n's lock.
  const inFlight = holder.page.evaluate(() => window.fixture.inc(true));
  await expect.poll(async () => (await stats(holder.page)).waiting).toBe(1);
  // In the other tab: one write waits for n; another holds log (sorted first) and waits for n.
  const aborted = [waiter.page.evaluate(() => window.fixture.incAbortable('a')), waiter.page.evaluate(() => window.fixture.incAbortable('b', ['log']))];
  await expect.poll(() => holder.page.evaluate(() => window.fixture.waitingLanes())).toBe(2);
  expect((await holder.page.evaluate(() => window.fixture.heldLanes())).sort()).toEqual(['log', 'n']);
  const keys = (await waiter.page.evaluate(() => window.fixture.outbox())).filter(([, sent]) => !sent).map(([key]) => key);
  expect(keys).toHaveLength(2);

  await waiter.page.evaluate(() => {
    window.fixture.abort('a');
    window.fixture.abort('b');
  });
  expect(await Promise.all(aborted)).toEqual(['AbortError', 'AbortError']);
  expect(await holder.page.evaluate(() => window.fixture.waitingLanes())).toBe(0);
  expect(await holder.page.evaluate(() => window.fixture.heldLanes())).toEqual(['n']); // log let go
  // The holder's later requests proceed: a write of log now, while n is still held; then n, once its write is done.
  expect(await holder.page.evaluate(() => window.fixture.log('x'))).toBe(200);
  await post(holder.page, '/e2e/gate/open');
  expect(await inFlight).toBe(200);
  expect(await holder.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect(await waiter.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect(await holder.page.evaluate(() => window.fixture.heldLanes())).toEqual([]);

  const seen = await stats(holder.page);
  for (const key of keys) expect(seen.keys[key], key).toBeUndefined(); // never sent
  expect(seen.requests['/e2e/inc']).toBe(4);
  expect(seen.statuses[412] ?? 0).toBe(0);
  expect(await waiter.page.evaluate(() => window.fixture.outbox())).toEqual([]);
  expect(await holder.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 4, log: ['x'] });
});
