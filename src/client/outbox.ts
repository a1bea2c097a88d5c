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
 * What happens to an orphan is the pure `orphanFate()`.
 */
import { randomKey, type PendingWrite, type PendingWrites } from './pending.js';
import type { Channel } from './shared-cache.js';
import { request, type Storage } from './storage.js';

/** An entry as stored: structured-cloneable, credentials left out. */
export interface StoredWrite extends Pick<PendingWrite, 'key' | 'epoch' | 'reads' | 'writes' | 'blind' | 'rebase' | 'at'> {
  /** The tab it belongs to. */
  readonly tab: string;
  readonly url: string;
  readonly method: string;
  /** Lower-case names; never Authorization or Cookie (nor Proxy-Authorization, which fetch forbids). */
  readonly headers: [string, string][];
  readonly body?: string | Blob | ArrayBuffer | ArrayBufferView<ArrayBuffer>;
  /** Whether `method`, `headers` and `body` are what went on the wire (with the session headers); else the caller's request, never sent. */
  readonly sent: boolean;
}

/**
 * What becomes of an orphan: 'replay' a write that was sent exactly as sent;
 * 'send' one never sent like any queued write; drop one never sent whose body
 * `rebase` built ('rebase': nothing can build it without its tab), and one
 * queued more than `maxAge` ms ago ('expired').
 */
export function orphanFate(entry: Pick<PendingWrite, 'at' | 'rebase' | 'sent'>, now: number, maxAge: number): 'replay' | 'send' | 'rebase' | 'expired' {
  return now - entry.at > maxAge ? 'expired' : entry.sent ? 'replay' : entry.rebase ? 'rebase' : 'send';
}

const CREDENTIALS = /^(authorization|cookie)$/;

/**
 * The entry as stored, or undefined when its body cannot be stored (a
 * FormData, URLSearchParams or stream body, or a Request input with a body):
 * such a write is not durable.
 */
export function toStored(entry: PendingWrite, tab: string): StoredWrite | undefined {
  const { input, init: caller, sent, ...rest } = entry;
  const { body, signal, ...init } = sent ?? caller;
  if ((input instanceof Request && input.body) || !(body == null || typeof body == 'string' || body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body))) return;
  // Its URL made absolute, its method and headers as fetch reads them (which drops the Cookie header).
  const request = new Request(input, init);
  return {
    ...rest,
    tab,
    url: request.url,
    method: request.method,
    headers: [...request.headers].filter(([name]) => !CREDENTIALS.test(name)),
    ...(body == null ? {} : { body }),
    sent: !!sent,
  };
}

/** The stored entry as a pending write: `input` is the URL; `sent` is set when it was sent. */
export function fromStored({ url, method, headers, body, sent, tab, ...entry }: StoredWrite): PendingWrite {
  const init: RequestInit = { method, headers, ...(body === undefined ? {} : { body }) };
  return { ...entry, input: url, init, ...(sent ? { sent: init } : {}) };
}

/** The outbox of this tab, on `use`; `locks` and `channel` are the browser's (a test passes its own). */
export function outbox(use: Storage, locks: LockManager, channel: Channel, tab = randomKey()): Required<PendingWrites> {
  const tabLock = (id: string) => 'session-lanes:tab:' + id;
  const id = (key: string) => ['outbox', key];
  // Resolved once this tab holds its lifetime lock, never released while the tab lives.
  const ready = new Promise<void>((resolve) => void locks.request(tabLock(tab), () => (resolve(), new Promise(() => {}))));
  // Every tab's entries (the store's other value, the version cache, has no tab), in the order they were queued.
  const all = async () => ((await request<StoredWrite[]>(use, 'readonly', (store) => store.getAll())) ?? []).filter((entry) => entry.tab).sort((a, b) => a.at - b.at);
  const remove = async (key: string) => void (await request(use, 'readwrite', (store) => store.delete(id(key))));
  const watched = new Set([tab]);
  let replay: (entry: PendingWrite) => Promise<unknown>;

  /** Replays the entries of the tab `other`, gone; called holding its lock, so that no other tab replays them meanwhile. */
  async function claim(other: string) {
    for (const entry of await all()) if (entry.tab == other) await replay(fromStored(entry)).catch(() => {});
  }

  /** Waits for another tab's lock, free once that tab is gone (or once another tab has claimed its entries); says hello back. */
  function watch(other: string) {
    if (watched.has(other)) return;
    watched.add(other);
    channel.postMessage(tab);
    void locks.request(tabLock(other), () => claim(other));
  }

  return {
    async put(entry) {
      const stored = toStored(entry, tab);
      await ready;
      if (stored) await request(use, 'readwrite', (store) => store.put(stored, id(entry.key)));
    },
    // Awaited before the claim is let go: no other tab may find an entry once it is replayed.
    delete: remove,
    async purge(epoch) {
      for (const entry of await all()) if (entry.epoch === epoch) await remove(entry.key);
    },
    adopt(fn) {
      replay = fn;
      channel.onmessage = (event) => watch(event.data as string);
      void ready.then(async () => {
        channel.postMessage(tab);
        // An entry is stored only once its tab holds its lock: a tab whose lock is free is gone.
        for (const other of new Set((await all()).map((entry) => entry.tab))) {
          if (other != tab) await locks.request(tabLock(other), { ifAvailable: true }, (lock) => (lock ? claim(other) : watch(other)));
        }
      });
    },
  };
}
