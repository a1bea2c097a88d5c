/**
 * The page of bench/browser/run.ts: one client of the library as an app
 * creates it (all defaults: Web Locks lanes, the IndexedDB version cache and
 * outbox), and the same requests through plain `fetch` with the headers that
 * client sends (captured from it, a fresh Idempotency-Key per write).
 *
 * Probes wrap `fetch`, `navigator.locks.request` and IndexedDB's put, delete
 * and get before the client exists, so that a client request's time splits
 * into the network's (inside fetch) and the client's own, and the client's
 * own into lock waits and IndexedDB transactions.
 */
import { createLanes, createSessionClient, memoryPendingWrites, memoryVersionCache } from '../../src/client/index.js';

type Probe = 'fetch' | 'lock' | 'idb put' | 'idb delete' | 'idb get';
const spent = new Map<Probe, { ms: number; count: number }>();
const note = (probe: Probe, since: number) => {
  const entry = spent.get(probe) ?? { ms: 0, count: 0 };
  entry.ms += performance.now() - since;
  entry.count += 1;
  spent.set(probe, entry);
};

const realFetch = window.fetch.bind(window);
let captured: Headers | undefined;
window.fetch = (input, init) => {
  const since = performance.now();
  if (init?.headers) captured = new Headers(init.headers);
  return realFetch(input, init).finally(() => note('fetch', since));
};

const locks = navigator.locks;
const realRequest = locks.request.bind(locks) as (name: string, options: LockOptions, callback: LockGrantedCallback<unknown>) => Promise<unknown>;
// request(name, callback) or request(name, options, callback).
(locks as { request: unknown }).request = (name: string, ...rest: [LockGrantedCallback<unknown>] | [LockOptions, LockGrantedCallback<unknown>]) => {
  const since = performance.now();
  const [options, callback] = rest.length === 1 ? [{}, rest[0]] : rest;
  return realRequest(name, options, (lock: Lock | null) => {
    note('lock', since);
    return callback(lock);
  });
};

// A put or delete counts until its transaction completes (as idb-keyval awaits it); a get until its request succeeds.
for (const [method, probe] of [
  ['put', 'idb put'],
  ['delete', 'idb delete'],
  ['get', 'idb get'],
] as const) {
  const real = IDBObjectStore.prototype[method] as (...args: unknown[]) => IDBRequest;
  (IDBObjectStore.prototype as unknown as Record<string, unknown>)[method] = function (this: IDBObjectStore, ...args: unknown[]) {
    const since = performance.now();
    const request = real.apply(this, args);
    if (method === 'get') request.addEventListener('success', () => note(probe, since));
    else this.transaction.addEventListener('complete', () => note(probe, since));
    return request;
  };
}

const client = createSessionClient();
// Diagnostic: the same client with its in-tab parts (no Web Locks, no IndexedDB): what its own code costs.
const inTab = createSessionClient({ lanes: createLanes(), firstWrite: createLanes(), cache: memoryVersionCache(), pending: memoryPendingWrites() });

/** The headers the client sent for a read and for a write, as plain fetch sends them. */
const templates: { read?: Headers | undefined; write?: Headers | undefined } = {};

async function clientRead(through = client): Promise<void> {
  const response = await through.fetch('/bench-api/read', { session: { reads: ['r'] } });
  if (response.status !== 200) throw new Error(`a client read answered ${response.status}`);
  await response.text();
}

async function clientWrite(key: string, through = client): Promise<void> {
  const response = await through.fetch(`/bench-api/write/${key}`, { method: 'POST', body: '{"by":1}', headers: { 'content-type': 'application/json' }, session: { writes: [key] } });
  if (response.status !== 200) throw new Error(`a client write answered ${response.status}`);
  await response.text();
}

async function plainRead(): Promise<void> {
  const response = await realFetch('/bench-api/read', { headers: templates.read! });
  if (response.status !== 200) throw new Error(`a plain read answered ${response.status}`);
  await response.text();
}

async function plainWrite(key: string): Promise<void> {
  const headers = new Headers(templates.write!);
  headers.set('session-write', `"${key}"`);
  headers.set('idempotency-key', `"${crypto.randomUUID()}"`);
  const response = await realFetch(`/bench-api/write/${key}`, { method: 'POST', body: '{"by":1}', headers });
  if (response.status !== 200) throw new Error(`a plain write answered ${response.status}`);
  await response.text();
}

async function timed(count: number, run: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const since = performance.now();
    await run();
    times.push(performance.now() - since);
  }
  return times;
}

export type Variant = 'fetch read' | 'client read' | 'fetch write' | 'client write' | 'in-tab read' | 'in-tab write';

const bench = {
  /** Makes the session (the client's first write) and captures the headers the client sends. */
  async ready(key: string): Promise<Record<string, Record<string, string>>> {
    await clientWrite(key);
    await clientRead();
    templates.read = captured;
    await clientWrite(key);
    templates.write = captured;
    await clientWrite(key, inTab);
    return { read: Object.fromEntries(templates.read!), write: Object.fromEntries(templates.write!) };
  },
  /** `count` requests of each variant one after another, in the given order; `key` is this tab's write key. */
  async series(count: number, order: Variant[], key: string): Promise<{ times: Record<Variant, number[]>; probes: Record<string, { ms: number; count: number }> }> {
    const runs: Record<Variant, () => Promise<void>> = {
      'fetch read': plainRead,
      'client read': clientRead,
      'fetch write': () => plainWrite(key),
      'client write': () => clientWrite(key),
      'in-tab read': () => clientRead(inTab),
      'in-tab write': () => clientWrite(key, inTab),
    };
    const times = {} as Record<Variant, number[]>;
    const probes: Record<string, { ms: number; count: number }> = {};
    for (const variant of order) {
      spent.clear();
      times[variant] = await timed(count, runs[variant]);
      for (const [probe, entry] of spent) probes[`${variant}: ${probe}`] = entry;
    }
    return { times, probes };
  },
  /**
   * The browser's own round trips, `count` of each, one after another: what any client that keeps the guarantees
   * pays at least (a lock to hold the lanes, a readonly transaction to read the bases, a readwrite one to store).
   * Median ms each.
   */
  async floor(count: number): Promise<Record<'lock' | 'readonly transaction' | 'readwrite transaction', number>> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('bench-floor');
      request.onupgradeneeded = () => request.result.createObjectStore('kv');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const transaction = (mode: IDBTransactionMode) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction('kv', mode);
        // As the client waits: a write until its transaction commits, a read until its request succeeds.
        if (mode === 'readwrite') tx.objectStore('kv').put({ version: 1, body: 'x'.repeat(200) }, 'k');
        else tx.objectStore('kv').get('k').onsuccess = () => resolve();
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
    const median = async (run: () => Promise<unknown>) => (await timed(count, async () => void (await run()))).sort((a, b) => a - b)[Math.floor(count / 2)]!;
    const result = {
      lock: await median(() => realRequest('bench-floor', { mode: 'shared' }, () => undefined)),
      'readwrite transaction': await median(() => transaction('readwrite')),
      'readonly transaction': await median(() => transaction('readonly')),
    };
    db.close();
    return result;
  },
  /** `repeats` times: one client write alone, then `width` at once to `width` distinct keys; the time of each. */
  async parallel(repeats: number, width: number, parts: 'browser' | 'in-tab' | 'plain fetch' = 'browser'): Promise<{ one: number[]; many: number[] }> {
    const write = parts === 'plain fetch' ? plainWrite : (key: string) => clientWrite(key, parts === 'browser' ? client : inTab);
    const one: number[] = [];
    const many: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let since = performance.now();
      await write('p0');
      one.push(performance.now() - since);
      since = performance.now();
      await Promise.all(Array.from({ length: width }, (_, k) => write(`p${k}`)));
      many.push(performance.now() - since);
    }
    return { one, many };
  },
};

declare global {
  interface Window {
    bench: typeof bench;
  }
}
window.bench = bench;
