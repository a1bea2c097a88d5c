/**
 * The durable outbox: every write is stored in IndexedDB before it is sent,
 * and deleted once its tab is done with it (answered, rejected or aborted).
 *
 * An entry belongs to its live tab: each tab holds a lifetime lock
 * (`session-lanes:tab:<id>`) from before it stores anything until it is gone.
 * Entries whose tab lock is free are orphans. A tab adopts them when it starts,
 * and when a tab it knows of goes (it waits on that tab's lock; tabs say hello
 * on a BroadcastChannel, and answer a hello they had not heard). Each orphan is claimed with a lock of its own taken
 * only if free (`session-lanes:entry:<key>`, ifAvailable) and read again under
 * it, so that one tab replays it and it is deleted before the lock is let go:
 * two tabs starting at once with the same orphans replay each once. A tab
 * that dies mid-replay frees both locks, and the entry is an orphan again.
 *
 * What happens to an orphan is the pure `orphanFate()`.
 */
import { del, entries, get, set } from 'idb-keyval';
import { randomKey, type PendingWrite, type PendingWrites } from './pending.js';
import type { Channel } from './shared-cache.js';
import type { Storage } from './storage.js';

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
  const lock = (name: string) => 'session-lanes:' + name;
  const id = (key: string) => ['outbox', key];
  // Resolved once this tab holds its lifetime lock, never released while the tab lives.
  const ready = new Promise<void>((resolve) => void locks.request(lock('tab:' + tab), () => (resolve(), new Promise(() => {}))));
  const all = async () => ((await use((store) => entries<IDBValidKey, StoredWrite>(store))) ?? []).filter(([key]) => Array.isArray(key)).map(([, entry]) => entry);
  const remove = async (key: string) => void (await use((store) => del(id(key), store)));
  const watched = new Set([tab]);
  let replay: (entry: PendingWrite) => Promise<unknown>;

  /** Waits for another tab's lifetime lock, free once that tab is gone; says hello back, so that a newcomer knows this tab too. */
  const watch = (other: string) => {
    if (watched.has(other)) return;
    watched.add(other);
    channel.postMessage(tab);
    void locks.request(lock('tab:' + other), () => {}).then(adopt);
  };

  async function adopt() {
    // Entries first, then the live tabs: an entry is stored only once its tab holds its lock, so a tab not seen alive now is gone.
    // In the order they were queued: a replayed write learns the version that the next one takes as its base.
    const stored = (await all()).sort((a, b) => a.at - b.at);
    const alive = new Set((await locks.query()).held?.map((held) => held.name));
    for (const entry of stored) {
      if (alive.has(lock('tab:' + entry.tab))) watch(entry.tab);
      else
        await locks.request(lock('entry:' + entry.key), { ifAvailable: true }, async (claimed) => {
          const current = claimed && (await use((store) => get<StoredWrite>(id(entry.key), store)));
          if (current) await replay(fromStored(current)).catch(() => {});
        });
    }
  }

  return {
    async put(entry) {
      const stored = toStored(entry, tab);
      await ready;
      if (stored) await use((store) => set(id(entry.key), stored, store));
    },
    // Awaited before the entry's claim is let go: no other tab may find it once replayed.
    delete: remove,
    async purge(epoch) {
      for (const entry of await all()) if (entry.epoch === epoch) await remove(entry.key);
    },
    adopt(fn) {
      replay = fn;
      channel.onmessage = (event) => watch(event.data as string);
      void ready.then(() => (channel.postMessage(tab), adopt()));
    },
  };
}
