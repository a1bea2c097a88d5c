// The durable outbox's state machine on fake-indexeddb, with tabs simulated in one process (fake-tabs.ts).
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { fromStored, orphanFate, outbox, toStored } from '../../src/client/outbox.js';
import type { PendingWrite } from '../../src/client/pending.js';
import { idbStorage } from '../../src/client/storage.js';
import { fakeBrowser } from './fake-tabs.js';

let databases = 0;
/** A fresh database per test, as a fresh origin would have. */
const storage = () => idbStorage((error) => expect.unreachable(String(error)), `outbox-test-${++databases}`);

const write = (key: string, more: Partial<PendingWrite> = {}): PendingWrite => ({
  key,
  epoch: 'E1',
  input: 'https://app.example/api/n?x=1',
  reads: [],
  writes: ['n'],
  blind: false,
  rebase: false,
  at: Date.now(),
  init: { method: 'POST', body: `{"key":"${key}"}`, headers: { 'content-type': 'application/json', authorization: 'Bearer secret' } },
  ...more,
});

describe('orphanFate (pure)', () => {
  const now = 100_000;
  test.each([
    [{ at: now - 10, rebase: false, sent: { body: 'b' } }, 'replay'],
    [{ at: now - 10, rebase: true, sent: { body: 'b' } }, 'replay'],
    [{ at: now - 10, rebase: false }, 'send'],
    [{ at: now - 10, rebase: true }, 'rebase'],
    [{ at: now - 2_000, rebase: false, sent: {} }, 'expired'],
    [{ at: now - 2_000, rebase: false }, 'expired'],
  ] as const)('%o → %s', (entry, fate) => {
    expect(orphanFate(entry, now, 1_000)).toBe(fate);
  });
});

describe('what is stored', () => {
  test('the URL made absolute, method and headers as sent, never Authorization; back as a pending write', () => {
    const sent = { method: 'POST', headers: new Headers({ 'session-write': '"n";v=3', 'idempotency-key': '"k1-k1-k1-k1-k1-k1"', authorization: 'x' }), body: 'rebased' };
    const stored = toStored(write('k1', { sent }), 'T1')!;
    expect(stored).toMatchObject({ key: 'k1', tab: 'T1', epoch: 'E1', url: 'https://app.example/api/n?x=1', method: 'POST', body: 'rebased', sent: true });
    expect(Object.fromEntries(stored.headers)).toEqual({ 'session-write': '"n";v=3', 'idempotency-key': '"k1-k1-k1-k1-k1-k1"' });
    const back = fromStored(stored);
    expect(back.input).toBe('https://app.example/api/n?x=1');
    expect(back.sent).toEqual({ method: 'POST', headers: stored.headers, body: 'rebased' });
    expect(toStored(write('k2'), 'T1')).toMatchObject({ sent: false, body: '{"key":"k2"}' });
    expect(fromStored(toStored(write('k2'), 'T1')!).sent).toBeUndefined();
  });

  test('strings, Blobs and buffers are stored; a FormData, URLSearchParams or stream body is not (that write is not durable)', () => {
    for (const body of ['s', new Blob(['b']), new ArrayBuffer(2), new Uint8Array(2), null]) {
      expect(toStored(write('k', { init: { method: 'POST', body } }), 'T')).toBeDefined();
    }
    for (const body of [new FormData(), new URLSearchParams('a=1'), new ReadableStream()]) {
      expect(toStored(write('k', { init: { method: 'POST', body } }), 'T')).toBeUndefined();
    }
  });
});

describe('outbox across tabs', () => {
  afterEach(() => vi.useRealTimers());

  /** A tab's outbox; `replayed` lists what it was handed to replay, and each replay deletes its entry, as the client does. */
  function tab(browser: ReturnType<typeof fakeBrowser>, use: ReturnType<typeof storage>, id: string) {
    const box = outbox(use, browser.locks(id), browser.channel(id), id);
    const replayed: string[] = [];
    const start = () =>
      box.adopt(async (entry) => {
        replayed.push(entry.key + (entry.sent ? ':sent' : ''));
        await new Promise((resolve) => setTimeout(resolve, 5));
        await box.delete(entry.key);
      });
    return { box, replayed, start };
  }
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(check()).toBe(true);
  };

  test('a live tab keeps its entries; once it is gone, two tabs starting at once hand each entry to one replay, in the order queued', async () => {
    const browser = fakeBrowser();
    const use = storage();
    const a = tab(browser, use, 'A');
    a.start();
    await a.box.put(write('k1', { at: 1 }));
    await a.box.put(write('k2', { at: 2 }));
    await a.box.put({ ...write('k2', { at: 2 }), sent: { method: 'POST', body: 'x' } });
    await a.box.put(write('k3', { at: 3 }));
    await a.box.delete('k3');
    // A lives: a tab that starts now leaves A's entries alone.
    const early = tab(browser, use, 'early');
    early.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(early.replayed).toEqual([]);

    browser.close('A');
    browser.close('early');
    const b = tab(browser, use, 'B');
    const c = tab(browser, use, 'C');
    b.start();
    c.start();
    await until(() => b.replayed.length + c.replayed.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([...b.replayed, ...c.replayed].sort()).toEqual(['k1', 'k2:sent']);
    // One tab claimed both, in the order they were queued (the other found each claimed, then gone).
    expect([b.replayed, c.replayed]).toContainEqual(['k1', 'k2:sent']);
  });

  test('a tab that remains adopts the entries of a tab that goes after it started (hello, then its lifetime lock)', async () => {
    const browser = fakeBrowser();
    const use = storage();
    const a = tab(browser, use, 'A');
    a.start();
    const b = tab(browser, use, 'B'); // B starts after A: A's hello came before B listened; B's hello reaches A, and A answers.
    b.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await a.box.put(write('k1'));
    browser.close('A');
    await until(() => b.replayed.length === 1);
    expect(b.replayed).toEqual(['k1']);
  });

  test('purge forgets the writes of one epoch, of every tab', async () => {
    const browser = fakeBrowser();
    const use = storage();
    const a = tab(browser, use, 'A');
    const b = tab(browser, use, 'B');
    await a.box.put(write('k1', { epoch: 'E1' }));
    await b.box.put(write('k2', { epoch: 'E1' }));
    await b.box.put(write('k3', { epoch: 'E2' }));
    await a.box.purge('E1');
    browser.close('A');
    browser.close('B');
    const c = tab(browser, use, 'C');
    c.start();
    await until(() => c.replayed.length === 1);
    expect(c.replayed).toEqual(['k3']);
  });
});

test('IndexedDB failing: reported once, then every call answers undefined (the client goes on in memory)', async () => {
  const report = vi.fn();
  const use = idbStorage(report, 'failing');
  const failing = async () => {
    throw new DOMException('quota', 'QuotaExceededError');
  };
  expect(await use(failing)).toBeUndefined();
  expect(await use(async () => 'not called')).toBeUndefined();
  expect(report).toHaveBeenCalledTimes(1);
  expect(report.mock.calls[0]![0]).toMatchObject({ name: 'QuotaExceededError' });
});
