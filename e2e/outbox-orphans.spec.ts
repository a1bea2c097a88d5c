import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { FIXTURE, fixtureStats as stats, openObserver, postTo as post } from './harness.js';

// A closed tab's queued writes are replayed, whatever way they were declared (issue 20 §1), in real Chromium
// against the real validator (demo/server/fixture.ts). Two pages: FIXTURE, whose client tags its calls from the
// route table, and CALLS, whose client has no table (every call declares its keys at the call site). A write
// that its tab queued and never sent has no session headers yet: the tab that adopts it judges it from the
// declaration stored with it. Each test asserts what the server applied and what the tabs said, never timing.

const CALLS = '/e2e/fixture/calls.html';

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

interface Tab {
  page: Page;
  errors: string[];
}

/** Opens a page of the fixture (`FIXTURE` or `CALLS`), once its client is there; both drive one client. */
async function open(context: BrowserContext, url: string): Promise<Tab> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.fixture !== undefined || window.calls !== undefined);
  return { page, errors };
}

/** The driver of either page: the table's (`window.fixture`) or the call sites' (`window.calls`). */
const log = (tab: Tab, item: string, gated = false) => tab.page.evaluate(([item, gated]) => (window.fixture ?? window.calls).log(item, gated), [item, gated] as const);
const state = (tab: Tab) => tab.page.evaluate(() => (window.fixture ?? window.calls).state());
const dropped = (tab: Tab) => tab.page.evaluate(() => (window.fixture ?? window.calls).events.filter((event) => event.type === 'dropped'));
/** Every tab's outbox entries, as [Idempotency-Key, sent]. */
const stored = (tab: Tab) =>
  tab.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('session-lanes');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const all = await new Promise<{ key: string; sent: boolean }[]>((resolve, reject) => {
      const request = db.transaction('kv').objectStore('kv').getAll();
      request.onsuccess = () => resolve(request.result.filter((value) => value && typeof value === 'object' && 'tab' in value));
      request.onerror = () => reject(request.error);
    });
    db.close();
    return all.map((entry) => [entry.key, entry.sent] as const);
  });

test('no route table: 12 queued appends whose answers take 300 ms, the tab closed after 700 ms: a fresh tab lands all 12, each once', async ({ context }) => {
  // Every answer of /e2e/log comes 300 ms after the request (the request waits before it goes on).
  await context.route(
    (url) => url.pathname === '/e2e/log',
    async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue().catch(() => {}); // the tab closed meanwhile
    },
  );
  const closing = await open(context, CALLS);
  await closing.page.evaluate(() => {
    for (let i = 0; i < 12; i += 1) void window.calls.log(`w${i}`);
  });
  await closing.page.waitForTimeout(700);
  await closing.page.close();

  const later = await open(context, CALLS);
  const expected = Array.from({ length: 12 }, (_, i) => `w${i}`);
  await expect.poll(async () => [...(await state(later)).log].sort(), { timeout: 30_000 }).toEqual([...expected].sort());
  await expect.poll(() => stored(later)).toEqual([]);
  expect(await dropped(later)).toEqual([]);
  // Exactly once: the log keeps duplicates, and holds each write once.
  expect((await state(later)).log).toHaveLength(12);
  expect(later.errors).toEqual([]);
});

for (const [declared, url] of [
  ['the route table', FIXTURE],
  ['the call site (no route table)', CALLS],
] as const) {
  for (const remaining of [0, 2]) {
    const how = remaining ? 'two tabs that stay open adopt them (three tabs)' : 'a tab opened later adopts them (one tab at a time)';
    test(`declared at ${declared}: one sent and four never-sent writes of a closed tab land once each; ${how}`, async ({ context }) => {
      const closing = await open(context, url);
      expect(await log(closing, 'first')).toBe(200); // a session
      const others = [];
      for (let i = 0; i < remaining; i += 1) others.push(await open(context, url));
      await post(closing.page, '/e2e/gate/close');
      // The first append reaches the handler and waits at the gate; the other four wait for its lane, stored and never sent.
      void closing.page.evaluate(() => {
        for (let i = 0; i < 5; i += 1) void (window.fixture ?? window.calls).log(`w${i}`, true);
      });
      await expect.poll(async () => (await stats(closing.page)).waiting).toBe(1);
      await expect.poll(async () => (await stored(closing)).length).toBe(5);
      const entries = await stored(closing);
      expect(entries.filter(([, sent]) => sent)).toHaveLength(1);
      await closing.page.close();
      // The sent one commits; its answer goes to no tab.
      const observer = await openObserver(context);
      await post(observer, '/e2e/gate/open');
      await expect.poll(async () => (await stats(observer)).finished).toBe(2);

      const adopters = remaining ? others : [await open(context, url)];
      const reader = adopters[0]!;
      const expected = ['first', ...Array.from({ length: 5 }, (_, i) => `w${i}`)];
      await expect.poll(async () => [...(await state(reader)).log].sort(), { timeout: 30_000 }).toEqual([...expected].sort());
      await expect.poll(() => stored(reader)).toEqual([]);
      for (const tab of adopters) expect(await dropped(tab)).toEqual([]);
      const seen = await stats(reader.page);
      // Each never-sent one: one send. The sent one: its first attempt and its replay, answered from the server's record
      // (a tab that stayed open replays it at once, while the first attempt still waits at the gate: a 409 in progress, then resent).
      for (const [key, sent] of entries) {
        if (sent) expect(seen.keys[key], key).toBeGreaterThanOrEqual(2);
        else expect(seen.keys[key], key).toBe(1);
      }
      expect((await state(reader)).log).toHaveLength(6);
      expect([closing, ...adopters].flatMap((tab) => tab.errors)).toEqual([]);
    });
  }
}

/** What a script of the origin writes: outbox entries under ['outbox', key], shaped as the client shapes them. */
async function plant(page: Page, entries: Record<string, unknown>[]): Promise<void> {
  await page.evaluate(async (entries) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('session-lanes');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const transaction = db.transaction('kv', 'readwrite');
    for (const entry of entries) transaction.objectStore('kv').put(entry, ['outbox', entry.key as string]);
    await new Promise((resolve, reject) => ((transaction.oncomplete = resolve), (transaction.onerror = () => reject(transaction.error))));
    db.close();
  }, entries);
}

/** A never-sent append of `item`, as this release stores it (with rotates and ends), made while no epoch was known. */
const append = (origin: string, item: string, fields: Record<string, unknown> = {}) => {
  const key = crypto.randomUUID();
  return {
    key,
    epoch: undefined,
    reads: [],
    writes: ['log'],
    blind: true,
    rebase: false,
    rotates: false,
    ends: false,
    at: Date.now() - 1_000,
    tab: 'gone-tab',
    url: `${origin}/e2e/log`,
    method: 'POST',
    headers: [['content-type', 'application/json']],
    body: JSON.stringify({ item }),
    sent: false,
    ...fields,
  };
};

test('no route table: a never-sent orphan is judged from its stored declaration, in the shape of this release or of 0.1.0', async ({ context, baseURL }) => {
  const first = await open(context, CALLS);
  expect(await log(first, 'first')).toBe(200);
  const origin = new URL(baseURL!).origin;
  const fine = append(origin, 'new-shape');
  const { rotates: _r, ends: _e, ...old } = append(origin, 'old-shape');
  const invalid = {
    // Declares no write: the session-write header it carries is not what the client judges.
    declaresNothing: append(origin, 'x1', { writes: [], headers: [['content-type', 'application/json'], ['session-write', '"log"']] }),
    readMethod: append(origin, 'x2', { method: 'GET', body: undefined }),
    crossOrigin: append(origin, 'x3', { url: `${origin.replace('localhost', '127.0.0.1')}/e2e/log` }),
    mistyped: append(origin, 'x4', { rotates: 'yes' }),
  };
  await plant(first.page, [fine, old, ...Object.values(invalid)]);
  await first.page.close();

  const later = await open(context, CALLS);
  await expect.poll(async () => [...(await state(later)).log].sort(), { timeout: 30_000 }).toEqual(['first', 'new-shape', 'old-shape']);
  await expect.poll(() => stored(later)).toEqual([]);
  const reasons = Object.fromEntries((await dropped(later)).map((event) => [event.key, event.reason]));
  for (const [name, entry] of Object.entries(invalid)) expect(reasons[entry.key], name).toBe('invalid');
  expect(Object.keys(reasons)).toHaveLength(Object.keys(invalid).length);
  const seen = await stats(later.page);
  expect([seen.keys[fine.key], seen.keys[old.key]]).toEqual([1, 1]);
  for (const entry of Object.values(invalid)) expect(seen.keys[entry.key]).toBeUndefined();
});

for (const [declared, url] of [
  ['the route table', FIXTURE],
  ['the call site (no route table)', CALLS],
] as const) {
  test(`declared at ${declared}: a never-sent orphan that knows no epoch is sent within the 120 s replay window of its queueing, dropped as expired past it`, async ({ context, baseURL }) => {
    const first = await open(context, url);
    expect(await log(first, 'first')).toBe(200);
    const origin = new URL(baseURL!).origin;
    const recent = append(origin, 'recent', { at: Date.now() - 60_000 });
    const old = append(origin, 'old', { at: Date.now() - 121_000 });
    const known = append(origin, 'old-but-known', { at: Date.now() - 121_000, epoch: await first.page.evaluate(() => (window.fixture ?? window.calls).epoch()) });
    await plant(first.page, [recent, old, known]);
    await first.page.close();

    const later = await open(context, url);
    await expect.poll(async () => [...(await state(later)).log].sort(), { timeout: 30_000 }).toEqual(['first', 'old-but-known', 'recent']);
    await expect.poll(() => stored(later)).toEqual([]);
    expect(await dropped(later)).toEqual([{ type: 'dropped', reason: 'expired', key: old.key }]);
    expect((await stats(later.page)).keys[old.key]).toBeUndefined();
  });
}

for (const [declared, url] of [
  ['the route table', FIXTURE],
  ['the call site (no route table)', CALLS],
] as const) {
  test(`declared at ${declared}: a first write waiting behind another tab's first write is stored before it waits; its tab closed, the other tab sends it`, async ({ context }) => {
    // No session yet: A's first write (to log) waits at the server's gate, holding the first-write lane.
    const a = await open(context, url);
    await post(a.page, '/e2e/gate/close');
    const first = log(a, 'first', true);
    await expect.poll(async () => (await stats(a.page)).waiting).toBe(1);
    // B's increment has its key lanes free, but knows no epoch: it waits for the first-write lane.
    const b = await open(context, url);
    void b.page.evaluate(() => (window.fixture ?? window.calls).inc()).catch(() => {}); // the tab closes under it
    await expect.poll(async () => (await stored(b)).filter(([, sent]) => !sent).length).toBe(1);
    await b.page.close();
    await post(a.page, '/e2e/gate/open');
    expect(await first).toBe(200);
    await expect.poll(async () => (await state(a)).n, { timeout: 30_000 }).toBe(1);
    await expect.poll(() => stored(a)).toEqual([]);
    expect((await state(a)).log).toEqual(['first']);
    expect(await dropped(a)).toEqual([]);
    expect(a.errors).toEqual([]);
  });
}

test('a login is not stored in the outbox, tagged from the table or declared at the call site; outbox: true at the call site stores it', async ({ context }) => {
  for (const [url, login, stores] of [
    [FIXTURE, () => window.fixture.login(), false],
    [CALLS, () => window.calls.login(), false],
    [CALLS, () => window.calls.login(true), true],
  ] as const) {
    const tab = await open(context, url);
    expect(await log(tab, 'first')).toBe(200);
    await post(tab.page, '/e2e/gate/close');
    // The gated append holds the session-wide lane (shared); the login queues behind it for that lane (exclusive).
    const append = log(tab, 'held', true);
    await expect.poll(async () => (await stats(tab.page)).waiting).toBe(1);
    const loggedIn = tab.page.evaluate(login);
    await expect.poll(() => tab.page.evaluate(async () => ((await navigator.locks.query()).pending ?? []).filter((lock) => lock.name === 'session-lanes:key:').length)).toBe(1);
    // What a queued write has stored by now (it is stored before it waits for its lanes).
    expect(await stored(tab), url).toHaveLength(stores ? 2 : 1);
    await post(tab.page, '/e2e/gate/open');
    expect([await append, await loggedIn]).toEqual([200, 200]);
    await expect.poll(() => stored(tab)).toEqual([]);
    await tab.page.close();
  }
});
