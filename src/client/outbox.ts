/**
 * The durable outbox: every write is stored in IndexedDB before it is sent,
 * and deleted once its tab is done with it (answered, rejected or aborted).
 *
 * An entry belongs to its live tab: each tab holds a lifetime lock
 * (`session-lanes:tab:<id>`) from before it stores anything until it is gone.
 * The entries of a tab whose lock is free are orphans, and the lock is their
 * claim: the one tab that takes it replays them all, one after another in the
 * order they were queued (so that a replayed write learns the version the
 * next one takes as its base), deleting each before it lets go. A tab claims
 * with `ifAvailable` when it starts, and otherwise waits on the lock of each
 * tab it knows of (tabs say hello on a BroadcastChannel and answer a hello
 * they had not heard): two tabs starting at once with the same orphans replay
 * each once. A tab that dies mid-replay frees the claim: the rest is an orphan
 * again (an entry it was sending for the first time is its own by then).
 *
 * What happens to an orphan is the pure `orphanFate()`. `list()` shows every
 * tab's entries, each with whether its tab is live (`client.outbox()`).
 */
import { HEADER } from '../protocol/headers.js';
import { randomKey, type PendingWrite, type PendingWrites } from './pending.js';
import type { Channel } from './shared-cache.js';
import { request, type Storage } from './storage.js';

/** An entry as stored: structured-cloneable, credentials left out. */
export interface StoredWrite extends Pick<PendingWrite, 'key' | 'epoch' | 'reads' | 'writes' | 'blind' | 'rebase' | 'rotates' | 'ends' | 'at'> {
  /** The tab it belongs to. */
  readonly tab: string;
  readonly url: string;
  readonly method: string;
  /** Lower-case names, only those of `storedHeader()`: never Authorization, Cookie or Proxy-*. */
  readonly headers: [string, string][];
  readonly body?: string | Blob | ArrayBuffer | ArrayBufferView<ArrayBuffer>;
  /** Whether `method`, `headers` and `body` are what went on the wire (with the session headers); else the caller's request, never sent. */
  readonly sent: boolean;
}

/**
 * How long (ms) after its commit the server replays the cookie of a session-creating write (its
 * `replayWindowMs`, 120 s by default): a write that knows no epoch is sent from the outbox only within it.
 */
export const REPLAY_WINDOW_MS = 120_000;

/**
 * What becomes of an orphan: 'replay' a write that was sent exactly as sent;
 * 'send' one never sent like any queued write; drop one never sent whose body
 * `rebase` built ('rebase': nothing can build it without its tab), one
 * queued more than `maxAge` ms ago, and one that knows no epoch queued more
 * than `REPLAY_WINDOW_MS` ago ('expired').
 */
export function orphanFate(entry: Pick<PendingWrite, 'at' | 'rebase' | 'sent'> & { readonly epoch?: string | undefined }, now: number, maxAge: number): 'replay' | 'send' | 'rebase' | 'expired' {
  const age = now - entry.at;
  // Knowing no epoch, it would create a session or go out in whatever session exists by then: sent, the server
  // replays its cookie only within the window; never sent, it was meant for the session of that moment.
  if (age > maxAge || (!entry.epoch && age > REPLAY_WINDOW_MS)) return 'expired';
  if (entry.sent) return 'replay';
  return entry.rebase ? 'rebase' : 'send';
}

/**
 * Whether a header goes into the outbox (and may come out of it): the session
 * headers, Content-Type, and the names the app lists (`outboxHeaders`) — never
 * Authorization, Cookie or a Proxy-* header, even listed.
 */
export const storedHeader = (name: string, listed: readonly string[]): boolean =>
  [...Object.values(HEADER), 'content-type', ...listed].includes(name) && !/^(authorization|cookie|proxy-)/.test(name);

/** A body the outbox can store (and a stored entry may hold). */
const storable = (body: unknown) => body === null || body === undefined || typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
export const strings = (list: unknown): boolean => Array.isArray(list) && list.every((item) => typeof item === 'string');

/**
 * Whether a stored entry is one this client could have written: every field
 * present with its type (each field's name and the first letter of its
 * typeof, in order), no other field, `at` not in the future, a body it could
 * store. `rotates` and `ends` are absent from entries stored by 0.1.0, which
 * stay well formed. Anything else was planted (or corrupted) and is dropped
 * with reason `invalid`.
 */
export const wellFormed = (entry: Record<string, any>, now: number): boolean =>
  /^atnblindb(body[so])?(endsb)?(epoch[su])?headersokeysmethodsreadsorebaseb(rotatesb)?sentbtabsurlswriteso$/.test(
    Object.keys(entry)
      .sort()
      .map((field) => field + (typeof entry[field])[0])
      .join(''),
  ) &&
  entry.at <= now &&
  storable(entry.body) &&
  // concat, not a spread: headers that are no array must not throw.
  [entry.reads, entry.writes].concat(entry.headers).every(strings);

/**
 * The entry as stored, or undefined when its body cannot be stored (a
 * FormData, URLSearchParams or stream body, or a Request input with a body):
 * such a write is not durable.
 */
export function toStored(entry: PendingWrite, tab: string, listed: readonly string[] = []): StoredWrite | undefined {
  const { input, init: caller, sent, ...rest } = entry;
  const { body, signal, ...init } = sent ?? caller;
  if ((input instanceof Request && input.body) || !storable(body)) return;
  // Its URL made absolute, its method and headers as fetch reads them (which drops the Cookie header).
  const request = new Request(input, init);
  return {
    ...rest,
    tab,
    url: request.url,
    method: request.method,
    headers: [...request.headers].filter(([name]) => storedHeader(name, listed)),
    ...(body === null || body === undefined ? {} : { body }),
    sent: !!sent,
  };
}

/** The stored entry as a pending write: `input` is the URL; `sent` is set when it was sent. */
export function fromStored({ url, method, headers, body, sent, tab, ...entry }: StoredWrite): PendingWrite {
  const init: RequestInit = { method, headers, ...(body === undefined ? {} : { body }) };
  return { ...entry, input: url, init, ...(sent ? { sent: init } : {}) };
}

/**
 * The outbox of this tab, on `use`; `locks` and `channel` are the browser's (a test passes its own);
 * `listed`: the headers besides the session ones and Content-Type that it stores (`outboxHeaders`).
 */
export function outbox(use: Storage, locks: LockManager, channel: Channel, tab = randomKey(), listed: readonly string[] = []): Required<PendingWrites> {
  const tabLock = (id: string) => 'session-lanes:tab:' + id;
  const id = (key: string) => ['outbox', key];
  // Resolved once this tab holds its lifetime lock, never released while the tab lives.
  const ready = new Promise<void>((resolve) => void locks.request(tabLock(tab), () => (resolve(), new Promise(() => {}))));
  // Every tab's entries (the store's other value, the version cache, has no tab), in the order they were queued.
  const all = async () => ((await request<StoredWrite[]>(use, 'readonly', (store) => store.getAll())) ?? []).filter((entry) => entry.tab).sort((a, b) => a.at - b.at);
  const remove = async (key: string) => void (await request(use, 'readwrite', (store) => store.delete(id(key))));
  const watched = new Set([tab]);
  let replay: (entry: PendingWrite) => Promise<unknown>;
  // The keys this tab has stored and not deleted: it says hello each time it goes from none to some, so that
  // the tabs opened since its last hello (which found no entries of it then) watch it too.
  const own = new Set<string>();
  // For `list()`: the gone tabs whose entries this tab is replaying, each with the key of the one it replays now.
  const claiming = new Map<string, string>();

  /**
   * Replays the entries of the tab `other`, gone; called holding its lock, so that no other tab replays them
   * meanwhile. An entry this client could not have written goes to `replay` marked `invalid`, to be dropped.
   */
  async function claim(other: string) {
    claiming.set(other, '');
    for (const entry of await all()) {
      // Skipped once deleted meanwhile: dropped by hand (`client.dropOutboxEntry`) while it waited its turn.
      if (entry.tab !== other || !(await request(use, 'readonly', (store) => store.get(id(entry.key))))) continue;
      claiming.set(other, entry.key);
      await replay(wellFormed(entry as never, Date.now()) ? fromStored(entry) : ({ ...entry, invalid: true } as never)).catch(() => {});
    }
    claiming.delete(other);
  }

  /**
   * Waits for another tab's lock, free once that tab is gone (or once another tab has claimed its entries), and says
   * hello back — only for a tab that holds entries: a hello, forged or not, for a tab without any triggers nothing.
   */
  async function watch(other: string) {
    if (watched.has(other) || !(await all()).some((entry) => entry.tab === other)) return;
    watched.add(other);
    channel.postMessage(tab);
    void locks.request(tabLock(other), () => claim(other));
  }

  return {
    async put(entry) {
      const stored = toStored(entry, tab, listed);
      await ready;
      if (!stored) return;
      await request(use, 'readwrite', (store) => store.put(stored, id(entry.key)));
      // Other tabs watch only a tab that holds entries: say hello once there are some.
      if (own.size === 0) channel.postMessage(tab);
      own.add(entry.key);
    },
    // Awaited before the claim is let go: no other tab may find an entry once it is replayed.
    async delete(key) {
      own.delete(key);
      await remove(key);
    },
    async purge(epoch) {
      for (const entry of await all()) {
        if (entry.epoch !== epoch) continue;
        own.delete(entry.key);
        await remove(entry.key);
      }
    },
    // A tab is live while it holds its lifetime lock, unless this tab holds it to claim the tab's entries.
    async list() {
      const held = new Set((await locks.query()).held?.map((lock) => lock.name));
      return (await all()).map((entry) => ({ ...fromStored(entry), tab: entry.tab, live: held.has(tabLock(entry.tab)) && !claiming.has(entry.tab), mine: entry.tab === tab || claiming.get(entry.tab) === entry.key }));
    },
    adopt(fn) {
      replay = fn;
      channel.onmessage = (event) => void watch(String(event.data));
      void ready.then(async () => {
        channel.postMessage(tab);
        // An entry is stored only once its tab holds its lock: a tab whose lock is free is gone.
        for (const other of new Set((await all()).map((entry) => entry.tab))) {
          if (other !== tab) await locks.request(tabLock(other), { ifAvailable: true }, (lock) => (lock ? claim(other) : void watch(other)));
        }
      });
    },
  };
}
