// The shared version cache (fake-indexeddb) and the Web Locks lanes (fake-tabs.ts), tab against tab in one process.
import 'fake-indexeddb/auto';
import { expect, test, vi } from 'vitest';
import { createSessionClient, memoryVersionCache } from '../../src/client/index.js';
import { sharedVersionCache } from '../../src/client/shared-cache.js';
import { idbStorage } from '../../src/client/storage.js';
import { webLocksLanes } from '../../src/client/web-locks.js';
import { fakeBrowser } from './fake-tabs.js';

let databases = 0;
const tick = (ms = 10) => new Promise((resolve) => setTimeout(resolve, ms));

test('shared cache: what one tab learned, the next lane holder reads (sync) before any broadcast; a new epoch voids it in every tab', async () => {
  const browser = fakeBrowser();
  const use = idbStorage((error) => expect.unreachable(String(error)), `cache-test-${++databases}`);
  const left: string[] = [];
  const [a, b] = ['A', 'B'].map((tab) => sharedVersionCache(use, browser.channel(tab), (epoch) => left.push(`${tab}:${epoch}`)));
  await a!.learn(undefined, 'E1', [['n', { version: 1, known: false }]]);
  // B asks IndexedDB itself: no broadcast needed.
  await b!.sync();
  expect(b!.epoch()).toBe('E1');
  expect(b!.versions()).toEqual({ n: 1 });
  await b!.learn('E1', 'E1', [['n', { version: 2, known: true, value: 5 }]]);
  await a!.sync();
  expect(a!.get('n')).toEqual({ version: 2, known: true, value: 5 });
  // A version never moves back, even from a late answer of another tab.
  await a!.learn('E1', 'E1', [['n', { version: 1, known: false }]]);
  expect(b!.versions()).toEqual({ n: 2 });

  // Versions survive a reload: a new cache on the same database.
  const reloaded = sharedVersionCache(use, browser.channel('R'), () => {});
  await reloaded.sync();
  expect(reloaded.versions()).toEqual({ n: 2 });

  // Logout in A (the answer's epoch is ''): B hears it by broadcast, and both say the session E1 ended.
  await a!.learn('E1', '', [['n', { version: 0, known: true }]]);
  await vi.waitFor(() => expect(b!.epoch()).toBe(''));
  expect(b!.versions()).toEqual({}); // no session: nothing known, in every mode
  expect(left.sort()).toEqual(['A:E1', 'B:E1']);
});

test('shared cache: an answer that teaches nothing new (most reads) writes nothing to IndexedDB; one that does, does', async () => {
  const browser = fakeBrowser();
  const use = idbStorage((error) => expect.unreachable(String(error)), `cache-test-${++databases}`);
  const cache = sharedVersionCache(use, browser.channel('A'), () => {});
  let puts = 0;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
    puts++;
    return put.apply(this, args);
  };
  try {
    await cache.learn(undefined, 'E1', [['n', { version: 1, known: false }]]);
    expect(puts).toBe(1);
    await cache.learn('E1', 'E1', [['n', { version: 1, known: false }]]);
    await cache.learn('E1', 'E1', [['n', { version: 0, known: false }]]); // older: never moves back
    expect(puts).toBe(1);
    // The same version with its value is news (a 412 body), and so is a newer version.
    await cache.learn('E1', 'E1', [['n', { version: 1, known: true, value: 'v' }]]);
    await cache.learn('E1', 'E1', [['n', { version: 2, known: false }]]);
    expect(puts).toBe(3);
    const reloaded = sharedVersionCache(use, browser.channel('R'), () => {});
    await reloaded.sync();
    expect(reloaded.versions()).toEqual({ n: 2 });
  } finally {
    IDBObjectStore.prototype.put = put;
  }
});

test('Web Locks lanes: one lock per key, shared reads, exclusive writes, taken in sorted order; an abort releases a waiting request', async () => {
  const browser = fakeBrowser();
  const [a, b] = ['A', 'B'].map((tab) => webLocksLanes(browser.locks(tab), 'k:'));
  const order: string[] = [];
  const releaseA = await a!.acquire([
    { key: 'y', write: true },
    { key: 'x', write: false },
  ]);
  expect(browser.held().sort()).toEqual(['k:x', 'k:y']);
  // A reader of x shares it; a writer of y waits.
  const readX = await b!.acquire([{ key: 'x', write: false }]);
  const writeY = b!.acquire([{ key: 'y', write: true }]).then((release) => (order.push('B writes y'), release));
  // Declared y then x, taken x then y: it waits for x, which two readers hold, holding nothing yet.
  const controller = new AbortController();
  const aborted = b!.acquire([{ key: 'y', write: true }, { key: 'x', write: true }], controller.signal);
  await tick();
  expect(order).toEqual([]);
  controller.abort(new Error('gone'));
  await expect(aborted).rejects.toThrow('gone');
  readX();
  releaseA();
  (await writeY)();
  expect(order).toEqual(['B writes y']);
  await tick();
  expect(browser.held()).toEqual([]);
});

test('Web Locks lanes: tryAcquire takes free lanes at once, or none; a reader never passes a queued writer', async () => {
  const browser = fakeBrowser();
  const [a, b, c] = ['A', 'B', 'C'].map((tab) => webLocksLanes(browser.locks(tab), 'k:'));
  const order: string[] = [];
  const free = await a!.tryAcquire!([{ key: 'w', write: true }, { key: '', write: false }]);
  expect(browser.held().sort()).toEqual(['k:', 'k:w']);
  free!();
  const releaseY = await a!.acquire([{ key: 'y', write: true }]);
  // B finds y taken: it holds nothing, then climbs x, y in order and waits on y holding x.
  expect(await b!.tryAcquire!([{ key: 'y', write: true }, { key: 'x', write: true }])).toBeUndefined();
  await tick();
  expect(browser.held()).toEqual(['k:y']);
  const writeXY = b!.acquire([{ key: 'y', write: true }, { key: 'x', write: true }]).then((release) => (order.push('B holds x, y'), release));
  await tick();
  expect(browser.held().sort()).toEqual(['k:x', 'k:y']);
  const writeX = c!.acquire([{ key: 'x', write: true }]).then((release) => (order.push('C holds x'), release));
  releaseY();
  (await writeXY)();
  (await writeX)();
  expect(order).toEqual(['B holds x, y', 'C holds x']);

  // A reader of z shares it; B's writer queues; C's reader arrives after it and must wait its turn.
  const readZ = await a!.acquire([{ key: 'z', write: false }]);
  const writeZ = b!.acquire([{ key: 'z', write: true }]).then((release) => (order.push('B writes z'), release));
  await tick();
  expect(await c!.tryAcquire!([{ key: 'z', write: false }])).toBeUndefined();
  const laterRead = c!.acquire([{ key: 'z', write: false }]).then((release) => (order.push('C reads z'), release));
  await tick();
  expect(order.slice(2)).toEqual([]);
  readZ();
  (await writeZ)();
  (await laterRead)();
  expect(order.slice(2)).toEqual(['B writes z', 'C reads z']);
  await tick();
  expect(browser.held()).toEqual([]);
});


test('client on Web Locks lanes: a write aborted while its free lanes are being taken rejects with the reason, unsent, and leaves no lock held', async () => {
  const browser = fakeBrowser();
  const cache = memoryVersionCache();
  await cache.learn(undefined, 'E1', []);
  let sent = 0;
  const fetch = async () => (sent++, new Response('{}', { headers: { 'session-epoch': '"E1"', 'session-versions': '"n";v=1' } }));
  const client = createSessionClient({ lanes: webLocksLanes(browser.locks('A'), 'k:'), cache, fetch });
  const controller = new AbortController();
  const writing = client.fetch('http://x/n', { method: 'POST', signal: controller.signal, session: { writes: ['n'] } });
  controller.abort(new Error('left the page'));
  await expect(writing).rejects.toThrow('left the page');
  expect(sent).toBe(0);
  await tick();
  expect(browser.held()).toEqual([]);
});
