import { expect, test, type Page } from '@playwright/test';
import { fixtureStats as stats, openFixtureTab as openTab, openObserver, postTo as post } from './harness.js';

// The outbox's drops, in real Chromium against the real validator
// (demo/server/fixture.ts): a write left by a closed tab that cannot be
// replayed safely is dropped with a `dropped` event, and never sent (again).
// Each test asserts on what the server saw and on events, never on timing.

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

/** The `dropped` events of the page's client, as [reason, Idempotency-Key]. */
const dropped = (page: Page) => page.evaluate(() => window.fixture.events.flatMap((event) => (event.type === 'dropped' ? [[event.reason, event.key] as const] : [])));
const outbox = (page: Page) => page.evaluate(() => window.fixture.outbox());

test('stale: a write sent by a closed tab, replayed as sent after its key moved, meets a 412 and is dropped, never resent', async ({ context }) => {
  const closing = await openTab(context);
  expect(await closing.page.evaluate(() => window.fixture.inc())).toBe(200); // n = 1
  await post(closing.page, '/e2e/gate/close');
  // Sent with base n@1: the handler read n = 1 and waits at the gate.
  void closing.page.evaluate(() => void window.fixture.inc(true));
  await expect.poll(async () => (await stats(closing.page)).waiting).toBe(1);
  const [[key, sent]] = (await outbox(closing.page)) as [[string, boolean]];
  expect(sent).toBe(true);
  await closing.page.close();

  // Meanwhile another request moves n (a blind increment: n = 2), from a page that runs no client.
  const observer = await openObserver(context);
  const blind = { 'session-write': '"n"', 'idempotency-key': `"${crypto.randomUUID()}"` };
  expect(await observer.evaluate((headers) => fetch('/e2e/inc', { method: 'POST', headers }).then((response) => response.status), blind)).toBe(200);
  await post(observer, '/e2e/gate/open');
  // The first attempt's commit finds n moved: 412, nothing applied, and its answer goes to no tab.
  await expect.poll(async () => (await stats(observer)).statuses[412] ?? 0).toBe(1);

  // A tab opened later adopts the write, replays it exactly as sent (base n@1): 412, so its body was stale.
  const later = await openTab(context);
  await expect.poll(() => dropped(later.page)).toEqual([['stale', key]]);
  await expect.poll(() => outbox(later.page)).toEqual([]);
  const seen = await stats(later.page);
  expect(seen.keys[key]).toBe(2); // the first attempt and one replay: not resent blindly
  expect(seen.statuses[412]).toBe(2);
  expect(await later.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 2 }); // unchanged by it
  // The replay learned n's version from its 412: the tab's next static increment goes through at once.
  expect(await later.page.evaluate(() => window.fixture.inc())).toBe(200);
  expect((await stats(later.page)).statuses[412]).toBe(2);
  expect(later.errors.filter((error) => error.startsWith('uncaught'))).toEqual([]);
});

test('rebase: a never-sent write whose body rebase builds, left by a closed tab, is dropped and never sent', async ({ context }) => {
  const [remaining, closing] = [await openTab(context), await openTab(context)];
  expect(await remaining.page.evaluate(() => window.fixture.inc())).toBe(200); // n = 1
  await post(remaining.page, '/e2e/gate/close');
  // The remaining tab holds n's lane with a write in flight; the closing tab's rebase write waits for it, stored, never sent.
  const inFlight = remaining.page.evaluate(() => window.fixture.inc(true));
  await expect.poll(async () => (await stats(remaining.page)).waiting).toBe(1);
  void closing.page.evaluate(() => void window.fixture.incRebase());
  await expect.poll(() => remaining.page.evaluate(() => window.fixture.waitingLanes())).toBe(1);
  const entries = await outbox(closing.page);
  const [key] = entries.find(([, sent]) => !sent)!;
  await closing.page.close();

  // The remaining tab adopts it at once: it cannot be built without its tab.
  await expect.poll(() => dropped(remaining.page)).toEqual([['rebase', key]]);
  await post(remaining.page, '/e2e/gate/open');
  expect(await inFlight).toBe(200);
  await expect.poll(() => outbox(remaining.page)).toEqual([]);
  const seen = await stats(remaining.page);
  expect(seen.keys[key]).toBeUndefined(); // never sent
  expect(seen.requests['/e2e/inc']).toBe(2);
  expect(await remaining.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 2 });
});

test('expired: entries queued longer ago than maxAge, sent or not, are dropped and never sent (again)', async ({ context }) => {
  const closing = await openTab(context);
  expect(await closing.page.evaluate(() => window.fixture.inc())).toBe(200); // n = 1
  await post(closing.page, '/e2e/gate/close');
  // One sent (waiting at the gate), one queued behind it, never sent.
  void closing.page.evaluate(() => {
    void window.fixture.inc(true);
    void window.fixture.inc(true);
  });
  await expect.poll(async () => (await stats(closing.page)).waiting).toBe(1);
  await expect.poll(async () => (await outbox(closing.page)).length).toBe(2);
  const entries = await outbox(closing.page);
  await closing.page.close();
  const observer = await openObserver(context);
  await post(observer, '/e2e/gate/open');
  await expect.poll(async () => (await stats(observer)).finished).toBe(2); // the sent one committed: n = 2

  // As if both had been queued 25 hours earlier, past the default maxAge of 24 h (`at` is the only change).
  await observer.evaluate(async (age) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('session-lanes');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const transaction = db.transaction('kv', 'readwrite');
    const request = transaction.objectStore('kv').openCursor();
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) return;
      if (Array.isArray(cursor.key)) cursor.update({ ...cursor.value, at: cursor.value.at - age });
      cursor.continue();
    };
    await new Promise((resolve, reject) => ((transaction.oncomplete = resolve), (transaction.onerror = () => reject(transaction.error))));
    db.close();
  }, 25 * 3600_000);

  const later = await openTab(context);
  await expect.poll(() => dropped(later.page)).toHaveLength(2);
  expect((await dropped(later.page)).map(([reason]) => reason)).toEqual(['expired', 'expired']);
  expect(new Set((await dropped(later.page)).map(([, key]) => key))).toEqual(new Set(entries.map(([key]) => key)));
  await expect.poll(() => outbox(later.page)).toEqual([]);
  const seen = await stats(later.page);
  for (const [key, sent] of entries) expect(seen.keys[key], key).toBe(sent ? 1 : undefined);
  expect(seen.requests['/e2e/inc']).toBe(2);
  expect(await later.page.evaluate(() => window.fixture.state())).toMatchObject({ n: 2 });
});
