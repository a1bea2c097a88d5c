import { HEADER } from '../protocol/headers.js';
import { readAnswer, type Answer } from './answer.js';
import { serializeKey, serializeMembers, type Member } from './codec.js';
import { connectionRefused, SessionEndedError } from './errors.js';
import { createEmitter, type Emitter, type SessionClientEvent } from './events.js';
import { createLanes } from './lanes.js';
import { normalizeDeclaration, normalizeOptions, type ResolvedDeclaration, type SessionClientOptions, type SessionDeclaration, type SessionRequestInit } from './options.js';
import { orphanFate, outbox, storedHeader } from './outbox.js';
import { memoryPendingWrites, randomKey, type OutboxEntry, type PendingWrite } from './pending.js';
import { initialRequest, stepRequest, type RequestAction } from './request-machine.js';
import { sleep } from './retry.js';
import { settlementError, type SettledRequest } from './settlement-errors.js';
import { sharedVersionCache } from './shared-cache.js';
import { idbStorage, type Storage } from './storage.js';
import { followEpoch, memoryVersionCache, type KnownKey } from './version-cache.js';
import { webLocksLanes } from './web-locks.js';

export interface SessionClient<Keys extends object = Record<string, unknown>> {
  /**
   * fetch, tagged from the route table (or `session`): declares the keys the
   * request reads and writes, holds their lanes while it runs, sends bases
   * from the version cache, and retries as the protocol says. A call that
   * matches no route and has no `session` passes through untouched.
   */
  fetch(input: RequestInfo | URL, init?: SessionRequestInit<Keys>): Promise<Response>;
  /** What the client knows: key -> latest version seen. */
  versions(): Record<string, number>;
  /** The session epoch the client knows; `''` = no session, undefined = not known yet. */
  epoch(): string | undefined;
  /** Subscribes to one event type, or `'*'` for all; returns the unsubscribe function. */
  on: Emitter['on'];
  /** Whether the client holds the value of `key` at the latest version it knows (a 412 brought it, or the key is absent at version 0). */
  valueKnown(key: string): boolean;
  /**
   * Every pending write in the outbox, of every tab, in the order queued: whose it is, whether that tab still
   * lives, and what was or will be sent. The in-memory fallback lists this tab's; a `pending` without `list()`, none.
   */
  outbox(): Promise<readonly OutboxEntry[]>;
  /**
   * Deletes outbox entry `key` (an Idempotency-Key), whichever tab's: a closed tab's write is then never replayed.
   * A request running now goes on (and its tab stores it again if it resends). Tells `dropped`, reason
   * `'manual'`; false when no such entry was listed.
   */
  dropOutboxEntry(key: string): Promise<boolean>;
}

// Distributes the lifecycle events without the request's fields repeated at each call.
type Without<E, K extends PropertyKey> = E extends SessionClientEvent ? Omit<E, K> : never;
type Body = Without<SessionClientEvent, 'at' | 'id' | 'reads' | 'writes'>;

const now = () => performance.timeOrigin + performance.now();

const WRITE_METHOD = /^(POST|PUT|PATCH|DELETE)$/;

/** Whether a declaration (a call's, a route's, a stored entry's) is a write: it writes a key, or rotates or ends the session. */
const isWrite = ({ writes, rotates, ends }: { readonly writes?: readonly string[] | undefined; readonly rotates?: boolean | undefined; readonly ends?: boolean | undefined }): boolean =>
  (writes?.length ?? 0) > 0 || rotates === true || ends === true;

/**
 * Creates the browser half of session-lanes. Where the browser has them, the
 * lanes are Web Locks shared by the tabs of the origin, the version cache and
 * the outbox live in IndexedDB; else each falls back to its in-tab part, and a
 * `fallback` event says so (subscribe right after creating the client).
 *
 * @example
 * const client = createSessionClient({ routes }); // routes: defineRoutes() from session-lanes/routes
 * await client.fetch('/api/cart/items', { method: 'POST', body: JSON.stringify({ sku: 'sku-1' }) });
 */
export function createSessionClient<Keys extends object = Record<string, unknown>>(options: SessionClientOptions<Keys> = {}): SessionClient<Keys> {
  const events = createEmitter();
  const tell = (body: Without<SessionClientEvent, 'at'>) => events.active() && events.emit({ at: now(), ...body } as SessionClientEvent);
  const fell = new Set<string>();
  // Once per part; deferred, as the caller subscribes after this returns.
  const fallback = (part: 'locks' | 'storage', error?: unknown) =>
    fell.has(part) || (fell.add(part), queueMicrotask(() => tell({ type: 'fallback', part, error })));
  // Epochs that are over: old -> the one a rotation moved on to (login), where a write made for the old one goes out; undefined: ended.
  const over = new Map<string, string | undefined>();
  // Bumped by a 410 to a write sent while no epoch was known: the cookie named a session that ended. Writes
  // made before it, also knowing no epoch, were made for that session.
  let unknownEnded = 0;
  const locks = globalThis.navigator?.locks;
  const shared = typeof indexedDB == 'object';
  let use: Storage | undefined;
  const storage = () => (use ??= idbStorage((error) => fallback('storage', error)));
  const inTab = () => (locks || fallback('locks'), createLanes());
  const o = normalizeOptions(options as SessionClientOptions, {
    lanes: () => (locks ? webLocksLanes(locks, 'session-lanes:key:') : inTab()),
    firstWrite: () => (locks ? webLocksLanes(locks, 'session-lanes:first-write') : inTab()),
    cache: () => (shared ? sharedVersionCache(storage(), new BroadcastChannel('session-lanes'), ended) : memoryVersionCache()),
    pending: () => (shared && locks ? outbox(storage(), locks, new BroadcastChannel('session-lanes:tabs'), undefined, options.outboxHeaders) : memoryPendingWrites()),
  });
  // Called without a receiver: a browser's fetch refuses any `this` but the global ("Illegal invocation").
  const { cache, pending, fetch, tag } = o;
  if (!shared && !(options.cache && options.pending)) fallback('storage');
  let ids = 0;
  // `at` of the writes queued here: strictly increasing, so that orphans are replayed in the order they were queued.
  let queuedAt = 0;
  const known = () => cache.epoch() || undefined;
  // Whatever the cache: an answer that moves the epoch away from session E (a logout answered `""`, another login) ends E here.
  const follow = followEpoch(ended, cache.epoch());

  /** The session `epoch` is over, here or in another tab: tell once, and forget its writes, unless it was rotated `to` another. */
  function ended(epoch: string | undefined, to?: string): void {
    if (epoch && over.has(epoch)) return;
    if (epoch) {
      over.set(epoch, to);
      if (!to) void pending.purge?.(epoch);
    }
    tell(to ? { type: 'rotated', from: epoch!, to } : { type: 'sessionended', epoch });
  }

  // The outbox is no persistence vector: an entry is replayed only if this client could have written it. Judged from
  // what the client stored with it, never from session headers (a write never sent has none yet): its headers
  // [name, value] pairs of the allowlist; its declaration a write; and with a table, a write route of it; without
  // one, same origin and a write method.
  const permitted = (entry: PendingWrite, route: SessionDeclaration | undefined): boolean => {
    const { input, init } = entry;
    const headersAllowed = (init.headers as string[][]).every((pair) => pair.length === 2 && storedHeader(pair[0]!, o.outboxHeaders));
    if (!headersAllowed || !isWrite(entry)) return false;
    if (tag) return route !== undefined && isWrite(route);
    const sameOrigin = !globalThis.location || new URL(input as string).origin === location.origin;
    return sameOrigin && WRITE_METHOD.test(init.method!);
  };

  // A write left by a tab that is gone: replayed as sent, sent as queued, or dropped.
  pending.adopt?.(async (entry) => {
    // Marked invalid by the outbox (not well formed): it has none of a pending write's fields to judge.
    const malformed = (entry as { invalid?: true }).invalid === true;
    const route = malformed ? undefined : tag?.(entry.input, { method: entry.init.method! });
    const fate = !malformed && permitted(entry, route) ? orphanFate(entry, Date.now(), o.maxAge) : 'invalid';
    // Not sent or replayed: 'expired', 'rebase' or 'invalid'.
    if (fate !== 'send' && fate !== 'replay') {
      tell({ type: 'dropped', reason: fate, entry });
      return pending.delete(entry.key);
    }
    // The entry is its own declaration (an entry of 0.1.0, which lacks rotates and ends, takes its route's). No
    // rebase: a never-sent one that needed it is dropped above, and a replay is sent as it was.
    const { reads, writes, blind, rotates = route?.rotates, ends = route?.ends } = entry;
    return run(entry.input, entry.sent ?? entry.init, { reads, writes, blind, rotates, ends }, entry, true);
  });

  async function sessionFetch(given: RequestInfo | URL, init: SessionRequestInit = {}): Promise<Response> {
    const { session: own, ...rest } = init;
    // Outside a page, nothing resolves a relative URL for fetch: `base` does, before the table sees it.
    const resolvable = o.base && !globalThis.document && !(typeof Request === 'function' && given instanceof Request);
    const input = resolvable ? new URL(String(given), o.base).href : given;
    const session = tag ? tag(input, init) : own;
    if (!session) return fetch(input, init);
    const declaration = normalizeDeclaration(session);
    const { reads, writes, blind, rebase, rotates = false, ends = false } = declaration;
    // A login or logout is a write for every rule (an Idempotency-Key, the outbox unless opted out), keys or not.
    if (!isWrite(declaration)) return run(input, rest, declaration, undefined);
    // A caller's Idempotency-Key is kept (the resend of a write whose outcome was unknown); the server checks it.
    const key = new Headers(rest.headers ?? (input as Partial<Request>).headers).get(HEADER.idempotencyKey) ?? randomKey();
    queuedAt = Math.max(queuedAt + 1e-3, Date.now());
    const entry: PendingWrite = { key, epoch: known(), input, reads, writes, blind, rebase: !!rebase, rotates, ends, at: queuedAt, init: rest };
    return run(input, rest, declaration, entry);
  }

  /**
   * One request through its lanes; `entry` for a write (replayed as it was sent when `entry.sent` is set);
   * `adopted` for a write of a gone tab: no app waits for it, so when its outcome stays unknown (offline) it
   * is kept for a later claim (on the next load, or when another tab adopts it), `maxAge` bounding it.
   */
  async function run(input: RequestInfo | URL, rest: RequestInit, { reads, writes, rebase, blind, rotates, ends, outbox: durable }: ResolvedDeclaration, entry: PendingWrite | undefined, adopted?: boolean): Promise<Response> {
    const id = ++ids;
    const emit = (body: Body) => tell({ id, reads, writes, ...body } as Without<SessionClientEvent, 'at'>);
    // The caller's signal (init's, else a Request input's), as it is: no controller of our own (creating one costs more than the rest of a request).
    const signal = rest.signal ?? (input as Partial<Request>).signal;
    let madeFor = entry ? entry.epoch : known();
    const era = unknownEnded;
    const key = entry?.key;
    // Replayed from the outbox exactly as it was sent: never rebuilt, never re-stored.
    const replayed = entry?.sent;
    // Stored before each attempt, unless the caller opted out (`outbox: false`) or it is a replay.
    const store = entry && !replayed && durable !== false;
    const isRequest = typeof Request == 'function' && input instanceof Request;
    const method = (rest.method ?? (isRequest ? (input as Request).method : 'GET')).toUpperCase();
    const body = replayed ? 'replayed' : rebase ? 'rebase' : blind ? 'blind' : 'static';
    let state = initialRequest(body, key !== undefined || method === 'GET' || method === 'HEAD');
    // A read waits less for the server than a write: nothing of it can be lost, and a user waits for what it shows.
    const policy = key ? o : { ...o, deadline: Math.min(o.deadline, o.readDeadline) };
    const step = (action: RequestAction) => (state = stepRequest(state, action, policy));
    const releases: (() => void)[] = [];
    let keep: boolean | undefined;
    emit({ type: 'queued' });
    try {
      if (store) await pending.put(entry);
      // Lane '' (no key has that name) is the session-wide one, first in the sorted order: shared by every
      // request, exclusive for a login or logout, so that none of this browser's requests overlaps them.
      releases.push(await o.lanes.acquire([{ key: '', write: !!(rotates || ends) }, ...reads.map((k) => ({ key: k, write: false })), ...writes.map((k) => ({ key: k, write: true }))], signal));
      // Bases and the epoch as the previous holder of these lanes left them, in whichever tab.
      await cache.sync?.();
      // While no epoch is known, the first write runs alone, so that concurrent first writes make one session; and
      // not across a read, whose 410 clears the cookie: arriving after a new session's, it would clear that one.
      if (!known()) {
        const release = await o.firstWrite.acquire([{ key: '', write: !!key }], signal);
        await cache.sync?.();
        if (known()) release();
        else releases.push(release);
      }
      // Made for an epoch a login rotated away: it goes out in the new one (a replay keeps the epoch it was sent with).
      while (!replayed && madeFor && over.get(madeFor)) madeFor = over.get(madeFor);
      // A write made for a session that ended meanwhile (here or in another tab) is rejected here, when its lanes come: unsent.
      // Made while no epoch was known: for the session the cookie named, which a 410 ended first.
      if ((madeFor && cache.epoch() !== madeFor) || (key && !madeFor && era !== unknownEnded)) throw new SessionEndedError('Session ended; not sent');
      step({ type: 'hold' });
      // The epoch it goes out with. A replay's is the one it was sent with (stored with each attempt), never
      // the live one: its 410 or its recorded answer concerns that epoch only.
      const epoch = replayed ? madeFor : madeFor ?? known();
      // Sent knowing there is no session (a 410 or a logout ended it): a 410 now is the ended session's cookie, which
      // that answer clears (the server clears it only for a request that names no epoch). Resent once: a new login.
      let lag = !replayed && !epoch && cache.epoch() == '';
      let sent = replayed;
      // What the attempts met: the last one's answer or failure; whether any got an answer, and any may have reached the server.
      let response: Response | undefined;
      let failure: unknown;
      let answered = false;
      let reached = false;
      for (;;) {
        if (!sent || state.rebuild) sent = await build(epoch);
        if (store) await pending.put({ ...entry, epoch, sent });
        step({ type: 'send', at: Date.now() });
        emit({ type: 'sent', attempt: state.attempt });
        response = undefined;
        failure = undefined;
        try {
          // Headers of its own for each attempt, copied from what build() made before any fetch saw it: a fetch that
          // adds to the Headers it is given (fetch-cookie appends its Cookie) would otherwise add again on a resend.
          response = await fetch(isRequest ? (input as Request).clone() : input, { ...sent, headers: new Headers(sent.headers) });
        } catch (error) {
          // Aborted in flight: the standard AbortError; the outcome is unknown and it is not replayed.
          if (signal?.aborted) throw error;
          // An invalid request (a bad URL, a GET with a body) throws its own TypeError here: the caller's error, not the network's.
          new Request(isRequest ? (input as Request).clone() : input, sent);
          failure = error;
        }
        answered ||= response !== undefined;
        reached ||= response !== undefined || !connectionRefused(failure);
        const answer = response && (await readAnswer(response));
        if (answer?.kind == 'ended' && lag) {
          lag = false;
          continue;
        }
        if (answer?.kind == 'ended') {
          // Voided before the lanes go, so that the next holder, in any tab, sees it.
          await cache.void(epoch);
          // Sent without an epoch while another is live (a replayed session-creating write): that session did not end.
          if (epoch || !known()) ended(epoch);
          if (!epoch && !known()) unknownEnded++;
        }
        // Learned from every answer that carries them, also one that rejects (a 500 partly committed changed versions).
        else if (answer && answer.epoch !== null) await learn(epoch, answer, [...reads, ...writes]);
        step({ type: 'answered', answer, at: Date.now(), random: Math.random() });
        if (answer?.kind == 'stale') emit({ type: 'conflict', attempt: state.attempt });
        const { phase } = state;
        if (phase == 'done') {
          emit({ type: 'committed', status: response!.status });
          return response!;
        }
        if (phase == 'failed') throw answer!.error;
        if (phase == 'dropped') tell({ type: 'dropped', reason: 'stale', entry: entry! });
        if (phase != 'retry') {
          keep = phase === 'deadline' && adopted;
          // An answered attempt leaves the machine settled or in retry: the phase is a settlement here.
          throw settlementError({ phase: phase as SettledRequest['phase'], response, problem: answer?.problem, failure, key, answered, reached, deadline: policy.deadline, retries: o.retries });
        }
        emit({ type: 'retry', reason: state.reason!, delay: state.delay! });
        await sleep(state.delay!, signal);
      }
    } catch (error) {
      emit({ type: 'failed', error });
      throw error;
    } finally {
      for (const release of releases.reverse()) release();
      if (key && !keep) await pending.delete(key);
    }

    /** Bases are taken now, with the lanes held; a rebase body is built from the values at those bases. */
    async function build(epoch: string | undefined): Promise<RequestInit> {
      // No prototype: a session key may be named "__proto__".
      const current: Record<string, unknown> = Object.create(null);
      const member = (k: string): Member => {
        const state = cache.get(k);
        if (blind) return [k];
        if (!rebase) return [k, state?.version ?? 0];
        // Never a newer version with an older value: when the value at the latest version is unknown, base 0 (a 412 brings it).
        if (!state?.known) return [k, 0];
        if ('value' in state) current[k] = structuredClone(state.value);
        return [k, state.version];
      };
      const headers = new Headers(rest.headers ?? (input as Partial<Request>).headers);
      if (reads.length) headers.set(HEADER.read, serializeMembers(reads.map(member)));
      if (writes.length) headers.set(HEADER.write, serializeMembers(writes.map(member)));
      if (epoch) headers.set(HEADER.epoch, serializeKey(epoch));
      if (key) headers.set(HEADER.idempotencyKey, `"${key}"`);
      let body = rest.body;
      if (rebase) {
        const result = await rebase(current);
        if (Object(result) !== result) throw new TypeError('session.rebase must return { body }');
        // Its body only, never init's: no body is null.
        body = result.body ?? null;
      }
      return { ...rest, headers, ...(body === undefined ? {} : { body }) };
    }

  }

  /** Only the keys the request declared: a value the server sent of another key is never stored. */
  async function learn(sentEpoch: string | undefined, answer: Answer, declared: readonly string[]): Promise<void> {
    const keys: [string, KnownKey][] = [];
    for (const [key, version] of answer.versions ?? []) keys.push([key, { version, known: version == 0 }]);
    for (const [key, state] of Object.entries(answer.keys ?? {})) {
      if (!declared.includes(key)) continue;
      keys.push([key, { version: state.version, known: true, ...('value' in state && { value: state.value }) }]);
    }
    await cache.learn(sentEpoch, answer.epoch!, keys, answer.rotated);
    follow(cache.epoch(), answer.rotated?.[0]);
  }

  return {
    fetch: sessionFetch as SessionClient<Keys>['fetch'],
    versions: () => cache.versions(),
    epoch: () => cache.epoch(),
    on: events.on,
    valueKnown: (key) => cache.get(key)?.known === true,
    outbox: async () => (await pending.list?.()) ?? [],
    async dropOutboxEntry(key) {
      const entry = (await pending.list?.())?.find((listed) => listed.key === key);
      if (entry) {
        await pending.delete(key);
        tell({ type: 'dropped', reason: 'manual', entry });
      }
      return !!entry;
    },
  };
}
