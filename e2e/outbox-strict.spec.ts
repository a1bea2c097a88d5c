import { expect, test, type Page } from '@playwright/test';
import { fixtureStats as stats, openFixtureTab as openTab, openObserver, postTo as post } from './harness.js';

// The outbox is no vault and no persistence vector (issue 11 §5), in real
// Chromium against the real validator. The attack: a script of the origin
// (an XSS, a compromised dependency) plants entries in IndexedDB, as the
// client stores them, to be replayed on every later page load — to another
// origin, with an Authorization header, forever (`at` in the future) — and
// posts a forged BroadcastChannel hello so that a live tab replays at once.

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

const dropped = (page: Page) => page.evaluate(() => window.fixture.events.flatMap((event) => (event.type === 'dropped' ? [[event.reason, event.key] as const] : [])));

/** What an attacker's script writes: an outbox entry under ['outbox', key], shaped as the client shapes them. */
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

test('replays a planted entry only if this client could have written it; every other one is dropped as invalid, never sent', async ({ context, baseURL }) => {
  const first = await openTab(context);
  expect(await first.page.evaluate(() => window.fixture.inc())).toBe(200); // a session, and the outbox database
  const origin = new URL(baseURL!).origin;
  const otherOrigin = origin.replace('localhost', '127.0.0.1');
  // Every request the browser makes, preflights included, whatever its origin.
  const wire: { url: string; method: string; headers: Record<string, string> }[] = [];
  context.on('request', (request) => wire.push({ url: request.url(), method: request.method(), headers: request.headers() }));

  const base = (key: string) => ({
    key,
    epoch: undefined,
    reads: [],
    writes: ['n'],
    blind: true,
    rebase: false,
    at: Date.now() - 1_000,
    tab: 'attacker-tab',
    url: `${origin}/e2e/inc`,
    method: 'POST',
    headers: [
      ['idempotency-key', `"${key}"`],
      ['session-write', '"n"'],
    ],
    sent: false,
  });
  const uuid = () => crypto.randomUUID();
  const fine = base(uuid());
  const attacks: Record<string, Record<string, unknown>> = {
    crossOrigin: { ...base(uuid()), url: `${otherOrigin}/e2e/inc` },
    elsewhere: { ...base(uuid()), url: 'https://attacker.example/collect' },
    authorization: { ...base(uuid()), headers: [...base('x').headers, ['authorization', 'Bearer stolen']] },
    offList: { ...base(uuid()), headers: [...base('x').headers, ['x-csrf-token', 'planted']] },
    future: { ...base(uuid()), at: Date.now() + 10 * 365 * 86_400_000 },
    extra: { ...base(uuid()), evil: true },
    missing: (({ method: _, ...rest }) => rest)(base(uuid())),
    mistyped: { ...base(uuid()), writes: 'n' },
    readMethod: { ...base(uuid()), method: 'GET' }, // GET /e2e/inc is no route of the table
    // The fixture's client has a route table: only its write routes are replayed.
    notARoute: { ...base(uuid()), url: `${origin}/e2e/reset` },
  };
  await plant(first.page, [fine, ...Object.values(attacks)]);
  await first.page.close();

  // The next page load adopts the "gone" attacker tab's entries.
  const later = await openTab(context);
  await expect.poll(async () => (await dropped(later.page)).length).toBe(Object.keys(attacks).length);
  const reasons = Object.fromEntries((await dropped(later.page)).map(([reason, key]) => [key, reason]));
  for (const [name, entry] of Object.entries(attacks)) expect(reasons[entry.key as string], name).toBe('invalid');
  // The one entry the client could have written goes out (the server answers it like any write), once.
  await expect.poll(async () => (await stats(later.page)).keys[fine.key]).toBe(1);
  expect(reasons[fine.key]).toBeUndefined();
  await expect.poll(() => later.page.evaluate(() => window.fixture.outbox())).toEqual([]);

  // Nothing of the attack reached the wire: no other origin, no Authorization, no planted header, no GET of it.
  expect(wire.filter((request) => !request.url.startsWith(origin))).toEqual([]);
  expect(wire.filter((request) => 'authorization' in request.headers || 'x-csrf-token' in request.headers)).toEqual([]);
  const attackKeys = new Set(Object.values(attacks).map((entry) => `"${entry.key as string}"`));
  expect(wire.filter((request) => attackKeys.has(request.headers['idempotency-key'] ?? ''))).toEqual([]);
  expect(later.errors.filter((error) => error.startsWith('uncaught'))).toEqual([]);
});

test('a forged hello for a tab that holds no entries triggers nothing: no lock taken, no hello back', async ({ context }) => {
  const live = await openTab(context);
  expect(await live.page.evaluate(() => window.fixture.inc())).toBe(200);
  const observer = await openObserver(context);
  const heard = await observer.evaluate(async () => {
    const listen = new BroadcastChannel('session-lanes:tabs');
    const messages: unknown[] = [];
    listen.onmessage = (event) => messages.push(event.data);
    new BroadcastChannel('session-lanes:tabs').postMessage('ghost-tab');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const locks = await navigator.locks.query();
    listen.close();
    // The listener hears the forged hello itself (another channel object of this page): any other message is a hello back.
    return { messages: messages.filter((message) => message !== 'ghost-tab'), ghostLocks: [...(locks.held ?? []), ...(locks.pending ?? [])].filter((lock) => lock.name === 'session-lanes:tab:ghost-tab').length };
  });
  expect(heard).toEqual({ messages: [], ghostLocks: 0 });
});

test('a write with outbox: false is never stored in IndexedDB, even while it is in flight', async ({ context }) => {
  const tab = await openTab(context);
  expect(await tab.page.evaluate(() => window.fixture.inc())).toBe(200);
  await post(tab.page, '/e2e/gate/close');
  const unstored = tab.page.evaluate(() => window.fixture.incUnstored(true));
  await expect.poll(async () => (await stats(tab.page)).waiting).toBe(1);
  expect(await tab.page.evaluate(() => window.fixture.outbox())).toEqual([]);
  // A stored write next to it, for contrast: it is in the outbox while in flight.
  const stored = tab.page.evaluate(() => window.fixture.log('kept', true));
  await expect.poll(async () => (await stats(tab.page)).waiting).toBe(2);
  expect(await tab.page.evaluate(() => window.fixture.outbox())).toHaveLength(1);
  await post(tab.page, '/e2e/gate/open');
  expect([await unstored, await stored]).toEqual([200, 200]);
});
