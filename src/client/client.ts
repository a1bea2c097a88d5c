import { HEADER } from '../protocol/headers.js';
import { readAnswer, type Answer } from './answer.js';
import { buildRequest } from './build-request.js';
import { connectionRefused, SessionEndedError } from './errors.js';
import { createEmitter, type Emitter, type SessionClientEvent } from './events.js';
import { createLanes } from './lanes.js';
import { isWrite, normalizeDeclaration, normalizeOptions, type ResolvedDeclaration, type SessionClientOptions, type SessionRequestInit } from './options.js';
import { orphanHandler } from './orphans.js';
import { outbox } from './outbox.js';
import { memoryPendingWrites, randomKey, type OutboxEntry, type PendingWrite } from './pending.js';
import { initialRequest, requestBody, stepRequest, type RequestAction } from './request-machine.js';
import { isRequest, methodOf } from './request-input.js';
import { sleep } from './retry.js';
import { sendAttempt } from './send-attempt.js';
import { admitted, endEpoch, followRotations, initialView, madeNow, unknownSessionEnded } from './session-view.js';
import { settlementError } from './settlement-errors.js';
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
  const fellBack = new Set<string>();
  // Once per part; deferred, as the caller subscribes after this returns.
  const fallback = (part: 'locks' | 'storage', error?: unknown) => {
    if (fellBack.has(part)) return;
    fellBack.add(part);
    queueMicrotask(() => tell({ type: 'fallback', part, error }));
  };
  // Which epochs are over and what each rotated to (session-view.ts); replaced whole by its transitions.
  let view = initialView;
  const locks = globalThis.navigator?.locks;
  const shared = typeof indexedDB === 'object';
  let storage: Storage | undefined;
  const useStorage = () => (storage ??= idbStorage((error) => fallback('storage', error)));
  const inTab = () => {
    if (!locks) fallback('locks');
    return createLanes();
  };
  const resolved = normalizeOptions(options as SessionClientOptions, {
    lanes: () => (locks ? webLocksLanes(locks, 'session-lanes:key:') : inTab()),
    firstWrite: () => (locks ? webLocksLanes(locks, 'session-lanes:first-write') : inTab()),
    cache: () => (shared ? sharedVersionCache(useStorage(), new BroadcastChannel('session-lanes'), ended) : memoryVersionCache()),
    pending: () => (shared && locks ? outbox(useStorage(), locks, new BroadcastChannel('session-lanes:tabs'), undefined, options.outboxHeaders) : memoryPendingWrites()),
  });
  // Called without a receiver: a browser's fetch refuses any `this` but the global ("Illegal invocation").
  const { cache, pending, fetch, tag } = resolved;
  if (!shared && !(options.cache && options.pending)) fallback('storage');
  let ids = 0;
  // `at` of the writes queued here: strictly increasing, so that orphans are replayed in the order they were queued.
  let queuedAt = 0;
  const known = () => cache.epoch() || undefined;
  // Whatever the cache: an answer that moves the epoch away from session E (a logout answered `""`, another login) ends E here.
  const follow = followEpoch(ended, cache.epoch());

  /** The session `epoch` is over, here or in another tab: tell once, and forget its writes, unless it was rotated `to` another. */
  function ended(epoch: string | undefined, to?: string): void {
    const next = endEpoch(view, epoch, to);
    if (!next) return;
    view = next;
    if (epoch && !to) void pending.purge?.(epoch);
    tell(to ? { type: 'rotated', from: epoch!, to } : { type: 'sessionended', epoch });
  }

  // A write left by a tab that is gone: replayed as sent, sent as queued, or dropped (orphans.ts).
  const dropOrphan = async (reason: 'rebase' | 'expired' | 'invalid', entry: PendingWrite) => {
    tell({ type: 'dropped', reason, entry });
    await pending.delete(entry.key);
  };
  pending.adopt?.(orphanHandler(resolved, dropOrphan, (entry, declaration) => run(entry.input, entry.sent ?? entry.init, declaration, entry, true)));

  async function sessionFetch(given: RequestInfo | URL, init: SessionRequestInit = {}): Promise<Response> {
    const { session: own, ...rest } = init;
    // Outside a page, nothing resolves a relative URL for fetch: `base` does, before the table sees it.
    const resolvable = resolved.base && !globalThis.document && !isRequest(given);
    const input = resolvable ? new URL(String(given), resolved.base).href : given;
    const session = tag ? tag(input, init) : own;
    if (!session) return fetch(input, init);
    const declaration = normalizeDeclaration(session);
    // A login or logout is a write for every rule (an Idempotency-Key, the outbox unless opted out), keys or not.
    if (!isWrite(declaration)) return run(input, rest, declaration, undefined);
    // A caller's Idempotency-Key is kept (the resend of a write whose outcome was unknown); the server checks it.
    const key = new Headers(rest.headers ?? (input as Partial<Request>).headers).get(HEADER.idempotencyKey) ?? randomKey();
    queuedAt = Math.max(queuedAt + 1e-3, Date.now());
    const { reads, writes, blind, rebase, rotates = false, ends = false } = declaration;
    const entry: PendingWrite = { key, epoch: known(), input, reads, writes, blind, rebase: rebase !== undefined, rotates, ends, at: queuedAt, init: rest };
    return run(input, rest, declaration, entry);
  }

  /**
   * Takes a request's lanes, pushing each release onto `releases` as soon as it is held. Lane '' (no key has
   * that name) is the session-wide one, first in the sorted order: shared by every request, exclusive for a
   * login or logout, so that none of this browser's requests overlaps them.
   */
  async function holdLanes({ reads, writes, rotates, ends }: ResolvedDeclaration, write: boolean, signal: AbortSignal | undefined, releases: (() => void)[], beforeWait: () => Promise<void>): Promise<void> {
    const claims = [{ key: '', write: rotates === true || ends === true }, ...reads.map((key) => ({ key, write: false })), ...writes.map((key) => ({ key, write: true }))];
    const free = await resolved.lanes.tryAcquire?.(claims);
    if (free) {
      releases.push(free);
      signal?.throwIfAborted(); // aborted meanwhile: still queued, so unsent (the lanes go back in `run`)
    } else {
      // It may wait: stored first (the two round trips overlap), so that a tab closed meanwhile leaves it to another.
      const storing = beforeWait();
      releases.push(await resolved.lanes.acquire(claims, signal));
      await storing;
    }
    // Bases and the epoch as the previous holder of these lanes left them, in whichever tab.
    await cache.sync?.();
    // While no epoch is known, the first write runs alone, so that concurrent first writes make one session; and
    // not across a read, whose 410 clears the cookie: arriving after a new session's, it would clear that one.
    if (known()) return;
    await beforeWait();
    const release = await resolved.firstWrite.acquire([{ key: '', write }], signal);
    await cache.sync?.();
    if (known()) release();
    else releases.push(release);
  }

  /**
   * One request through its lanes, driving the request machine (request-machine.ts) and the session view;
   * `entry` for a write (replayed as it was sent when `entry.sent` is set); `adopted` for a write of a gone
   * tab: no app waits for it, so when its outcome stays unknown (offline) it is kept for a later claim (on the
   * next load, or when another tab adopts it), `maxAge` bounding it.
   */
  async function run(input: RequestInfo | URL, init: RequestInit, declaration: ResolvedDeclaration, entry: PendingWrite | undefined, adopted = false): Promise<Response> {
    const { reads, writes, outbox: durable } = declaration;
    const id = ++ids;
    const emit = (body: Body) => tell({ id, reads, writes, ...body } as Without<SessionClientEvent, 'at'>);
    // The caller's signal (init's, else a Request input's), as it is: no controller of our own (creating one costs more than the rest of a request).
    const signal = init.signal ?? (input as Partial<Request>).signal;
    const key = entry?.key;
    const write = key !== undefined;
    // Replayed from the outbox exactly as it was sent: never rebuilt, never re-stored.
    const replayed = entry?.sent;
    // Stored before each attempt, unless the caller opted out (`outbox: false`) or it is a replay.
    const store = entry && !replayed && durable !== false;
    const method = methodOf(input, init);
    let state = initialRequest(requestBody(replayed !== undefined, declaration), write || method === 'GET' || method === 'HEAD');
    // A read waits less for the server than a write: nothing of it can be lost, and a user waits for what it shows.
    const policy = write ? resolved : { ...resolved, deadline: Math.min(resolved.deadline, resolved.readDeadline) };
    const step = (action: RequestAction) => (state = stepRequest(state, action, policy));
    const made = madeNow(view, entry ? entry.epoch : known());
    const releases: (() => void)[] = [];
    let keep = false;
    let deleted: Promise<void> | undefined;
    emit({ type: 'queued' });
    // Stored as queued only if it has to wait for its lanes; else first stored as sent, before it is sent.
    let stored: Promise<void> | undefined;
    const storeQueued = () => {
      if (!stored) (stored = store ? Promise.resolve(pending.put(entry)) : Promise.resolve()).catch(() => {}); // awaited where it matters
      return stored;
    };
    try {
      await holdLanes(declaration, write, signal, releases, storeQueued);
      // Made for an epoch a login rotated away: it goes out in the new one (a replay keeps the epoch it was sent with).
      const madeFor = replayed ? made : { ...made, epoch: followRotations(view, made.epoch) };
      // Made for a session that ended meanwhile (here or in another tab): refused here, when its lanes come, unsent.
      if (!admitted(view, madeFor, cache.epoch(), write)) throw new SessionEndedError('Session ended; not sent');
      step({ type: 'hold' });
      // The epoch it goes out with. A replay's is the one it was sent with (stored with each attempt), never
      // the live one: its 410 or its recorded answer concerns that epoch only.
      const epoch = replayed ? madeFor.epoch : (madeFor.epoch ?? known());
      // Sent knowing there is no session (a 410 or a logout ended it): a 410 now is the ended session's cookie, which
      // that answer clears (the server clears it only for a request that names no epoch). Resent once: a new login.
      let resendEnded = !replayed && !epoch && cache.epoch() === '';
      let sent = replayed;
      // Whether any attempt got an answer, and whether any may have reached the server.
      let answered = false;
      let reached = false;
      for (;;) {
        if (!sent || state.rebuild) sent = await buildRequest(cache, { input, init, declaration, key }, epoch);
        if (store) await pending.put({ ...entry, epoch, sent });
        step({ type: 'send', at: Date.now() });
        emit({ type: 'sent', attempt: state.attempt });
        const { response, failure } = await sendAttempt(fetch, input, sent, signal);
        answered ||= response !== undefined;
        reached ||= response !== undefined || !connectionRefused(failure);
        const answer = response && (await readAnswer(response));
        if (answer?.kind === 'ended' && resendEnded) {
          resendEnded = false;
          continue;
        }
        const learned = takeIn(answer, epoch, [...reads, ...writes]);
        step({ type: 'answered', answer, at: Date.now(), random: Math.random() });
        // Settled (kept only when an adopted write's outcome stays unknown): its entry goes while the answer is
        // learned, their two IndexedDB round trips overlapping, both before the lanes go.
        keep = state.phase === 'deadline' && adopted;
        if (write && state.phase !== 'retry' && !keep) deleted = Promise.resolve(pending.delete(key));
        await learned;
        if (answer?.kind === 'stale') emit({ type: 'conflict', attempt: state.attempt });
        const { phase } = state;
        if (phase === 'done') {
          emit({ type: 'committed', status: response!.status });
          return response!;
        }
        if (phase === 'failed') throw answer!.error;
        if (phase === 'dropped') tell({ type: 'dropped', reason: 'stale', entry: entry! });
        if (phase !== 'retry') {
          // An answered attempt leaves the machine settled or in retry: the phase is a settlement here.
          throw settlementError({ phase: phase as Exclude<typeof phase, 'queued' | 'held' | 'sent'>, response, problem: answer?.problem, failure, key, answered, reached, deadline: policy.deadline, retries: resolved.retries });
        }
        emit({ type: 'retry', reason: state.reason!, delay: state.delay! });
        await sleep(state.delay!, signal);
      }
    } catch (error) {
      emit({ type: 'failed', error });
      throw error;
    } finally {
      for (const release of releases.reverse()) release();
      // Not before the put is done, lest the put land after the delete (a rejection of it was the caller's already).
      await stored?.catch(() => {});
      if (write && !keep) await (deleted ?? pending.delete(key));
    }
  }

  /** What an answer says of the session, taken in before the lanes go, so that their next holder, in any tab, sees it. */
  async function takeIn(answer: Answer | undefined, epoch: string | undefined, declared: readonly string[]): Promise<void> {
    if (answer?.kind === 'ended') {
      await cache.void(epoch);
      // Sent without an epoch while another is live (a replayed session-creating write): that session did not end.
      if (epoch || !known()) ended(epoch);
      if (!epoch && !known()) view = unknownSessionEnded(view);
    }
    // Learned from every answer that carries them, also one that rejects (a 500 partly committed changed versions).
    else if (answer && answer.epoch !== null) await learn(epoch, answer, declared);
  }

  /** Only the keys the request declared: a value the server sent of another key is never stored. */
  async function learn(sentEpoch: string | undefined, answer: Answer, declared: readonly string[]): Promise<void> {
    const keys: [string, KnownKey][] = [];
    for (const [key, version] of answer.versions ?? []) keys.push([key, { version, known: version === 0 }]);
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
