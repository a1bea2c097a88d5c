// What `list()` says of every tab's outbox entries (`client.outbox()`), on fake-indexeddb with tabs simulated in
// one process (fake-tabs.ts): whose each entry is, whether its tab lives, and that an entry deleted while it waits
// its turn in a claim is not replayed. In Chromium: e2e/devtools.spec.ts.
import 'fake-indexeddb/auto';
import { expect, test } from 'vitest';
import { outbox } from '../../src/client/outbox.js';
import { memoryPendingWrites, type PendingWrite } from '../../src/client/pending.js';
import { idbStorage } from '../../src/client/storage.js';
import { fakeBrowser } from './fake-tabs.js';
import { latch } from './http-harness.js';

let databases = 0;
const storage = () => idbStorage((error) => expect.unreachable(String(error)), `outbox-listing-test-${++databases}`);

const write = (key: string, more: Partial<PendingWrite> = {}): PendingWrite => ({
  key,
  epoch: 'E1',
  input: 'https://app.example/api/n',
  reads: [],
  writes: ['n'],
  blind: false,
  rebase: false,
  at: Date.now(),
  init: { method: 'POST', body: `{"key":"${key}"}`, headers: { 'content-type': 'application/json' } },
  ...more,
});

/** Each listed entry as [key, tab, live, mine]. */
const summary = async (box: ReturnType<typeof outbox>) => (await box.list()).map((entry) => [entry.key, entry.tab, entry.live, entry.mine]);

const until = async (check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 400 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await check()).toBe(true);
};

test("every tab's entries, in the order queued, as pending writes: this tab's, a live tab's, a closed tab's", async () => {
  const browser = fakeBrowser();
  const use = storage();
  const a = outbox(use, browser.locks('A'), browser.channel('A'), 'A');
  const b = outbox(use, browser.locks('B'), browser.channel('B'), 'B');
  await a.put(write('k1', { at: 1 }));
  await b.put(write('k2', { at: 2 }));
  await a.put({ ...write('k3', { at: 3 }), sent: { method: 'POST', headers: [['session-write', '"n";v=1']], body: 'sent body' } });
  expect(await summary(b)).toEqual([
    ['k1', 'A', true, false],
    ['k2', 'B', true, true],
    ['k3', 'A', true, false],
  ]);
  const [first, , third] = await b.list();
  expect(first).toMatchObject({ input: 'https://app.example/api/n', writes: ['n'], epoch: 'E1', at: 1, init: { method: 'POST', body: '{"key":"k1"}' } });
  expect(first!.sent).toBeUndefined();
  expect(third!.sent).toEqual({ method: 'POST', headers: [['session-write', '"n";v=1']], body: 'sent body' });

  // A is gone and B adopts nothing (it never called adopt): A's entries wait for a tab to adopt them.
  browser.close('A');
  expect(await summary(b)).toEqual([
    ['k1', 'A', false, false],
    ['k2', 'B', true, true],
    ['k3', 'A', false, false],
  ]);
  // Deleted from another tab's outbox: gone from every listing.
  await b.delete('k1');
  expect((await b.list()).map((entry) => entry.key)).toEqual(['k2', 'k3']);
});

test("while a tab replays a closed tab's entries: the one it replays is its own, the next waits; one deleted meanwhile is not replayed", async () => {
  const browser = fakeBrowser();
  const use = storage();
  const a = outbox(use, browser.locks('A'), browser.channel('A'), 'A');
  await a.put(write('k1', { at: 1 }));
  await a.put(write('k2', { at: 2 }));
  await a.put(write('k3', { at: 3 }));
  browser.close('A');
  const b = outbox(use, browser.locks('B'), browser.channel('B'), 'B');
  const c = outbox(use, browser.locks('C'), browser.channel('C'), 'C');
  const gate = latch();
  const replayed: string[] = [];
  b.adopt(async (entry) => {
    replayed.push(entry.key);
    if (entry.key === 'k1') await gate.wait;
    await b.delete(entry.key);
  });
  await until(() => replayed.length === 1);
  expect(await summary(b)).toEqual([
    ['k1', 'A', false, true],
    ['k2', 'A', false, false],
    ['k3', 'A', false, false],
  ]);
  // In another tab: a live tab (B, claiming) holds them.
  expect((await c.list()).map((entry) => entry.live)).toEqual([true, true, true]);
  await c.delete('k2');
  gate.open();
  await until(async () => (await b.list()).length === 0);
  expect(replayed).toEqual(['k1', 'k3']);
});

test('memory pending writes list their own entries, all of this live tab', async () => {
  const pending = memoryPendingWrites();
  expect(await pending.list!()).toEqual([]);
  pending.put(write('k1'));
  pending.put(write('k2'));
  pending.put({ ...write('k1'), sent: { method: 'POST', body: 'sent' } });
  const listed = await pending.list!();
  expect(listed.map((entry) => [entry.key, entry.live, entry.mine, entry.sent?.body])).toEqual([
    ['k1', true, true, 'sent'],
    ['k2', true, true, undefined],
  ]);
  expect(listed[0]!.tab).toBe(listed[1]!.tab);
  pending.delete('k1');
  expect((await pending.list!()).map((entry) => entry.key)).toEqual(['k2']);
});
