import { HEADER } from '../protocol/headers.js';
import { readAnswer, type Answer } from './answer.js';
import { serializeKey, serializeMembers, type Member } from './codec.js';
import { ConflictError, OutcomeUnknownError, SessionEndedError } from './errors.js';
import { createEmitter, type Emitter, type SessionClientEvent } from './events.js';
import { createLanes } from './lanes.js';
import { normalizeDeclaration, normalizeOptions, type SessionClientOptions, type SessionRequestInit } from './options.js';
import { memoryPendingWrites, type PendingWrite } from './pending.js';
import { retryDelay, sleep } from './retry.js';
import { memoryVersionCache, type KnownKey } from './version-cache.js';

export interface SessionClient {
  /**
   * fetch, plus `session`: declares the keys the request reads and writes,
   * holds their lanes while it runs, sends bases from the version cache, and
   * retries as the protocol says. Without `session` the call passes through
   * untouched.
   */
  fetch(input: RequestInfo | URL, init?: SessionRequestInit): Promise<Response>;
  /** What the client knows: key -> latest version seen. */
  versions(): Record<string, number>;
  /** The session epoch the client knows; `''` = no session, undefined = not known yet. */
  epoch(): string | undefined;
  /** Subscribes to one event type, or `'*'` for all; returns the unsubscribe function. */
  on: Emitter['on'];
}

// Distributes the lifecycle events without the request's fields repeated at each call.
type EventBody = SessionClientEvent extends infer E ? (E extends SessionClientEvent ? Omit<E, 'at' | 'id' | 'reads' | 'writes'> : never) : never;

/** 128 random bits as hex. Not crypto.randomUUID() alone: that exists only in secure contexts. */
const randomKey = () => crypto.randomUUID?.() ?? crypto.getRandomValues(new Uint32Array(4)).reduce<string>((hex, word) => hex + word.toString(16).padStart(8, '0'), '');

/**
 * Creates the browser half of session-lanes for one tab.
 *
 * @example
 * const client = createSessionClient();
 * await client.fetch('/api/cart', { method: 'PUT', session: { writes: ['cart'], rebase: (current) => ({ body: JSON.stringify(next(current.cart)) }) } });
 */
export function createSessionClient(options: SessionClientOptions = {}): SessionClient {
  const o = normalizeOptions(options, { lanes: createLanes(), firstWrite: createLanes(), cache: memoryVersionCache(), pending: memoryPendingWrites() });
  const { cache, pending } = o;
  const events = createEmitter();
  const ended = new Set<string>();
  let ids = 0;
  const known = () => cache.epoch() || undefined;

  async function sessionFetch(input: RequestInfo | URL, init: SessionRequestInit = {}): Promise<Response> {
    const { session, ...rest } = init;
    if (!session) return o.fetch(input, init);
    const { reads, writes, rebase, blind } = normalizeDeclaration(session);
    const id = ++ids;
    const emit = (body: EventBody) => events.active() && events.emit({ at: performance.timeOrigin + performance.now(), id, reads, writes, ...body } as SessionClientEvent);
    // The caller's signal, as it is: no controller of our own (creating one costs more than the rest of a request).
    const signal = rest.signal ?? undefined;
    const madeFor = known();
    const isRequest = typeof Request == 'function' && input instanceof Request;
    const key = writes.length ? randomKey() : undefined;
    const entry: PendingWrite = { key: key!, epoch: madeFor, input, reads, writes, blind, rebase: !!rebase };
    const releases: (() => void)[] = [];
    emit({ type: 'queued' });
    try {
      if (key) await pending.put(entry);
      releases.push(await o.lanes.acquire([...reads.map((k) => ({ key: k, write: false })), ...writes.map((k) => ({ key: k, write: true }))], signal));
      // While no epoch is known, the first write runs alone, so that concurrent first writes make one session.
      if (key && !known()) {
        const release = await o.firstWrite.acquire([{ key: '', write: true }], signal);
        if (known()) release();
        else releases.push(release);
      }
      // A write queued for a session that ended meanwhile is rejected here, when its lanes come: unsent.
      const epoch = madeFor ?? known();
      if (epoch && ended.has(epoch)) throw new SessionEndedError('The session this request was made for has ended; it was not sent');
      const method = (rest.method ?? (isRequest ? (input as Request).method : 'GET')).toUpperCase();
      const resendable = key || method == 'GET' || method == 'HEAD';
      let sent: RequestInit | undefined;
      let start = 0;
      let conflicts = 0;
      let busy = 0;
      for (let attempt = 1; ; attempt++) {
        if (!sent) sent = await build(epoch);
        if (attempt == 1) start = Date.now();
        if (key) await pending.put({ ...entry, sent });
        emit({ type: 'sent', attempt });
        let response: Response | undefined;
        let failure: unknown;
        try {
          response = await o.fetch(isRequest ? (input as Request).clone() : input, sent);
        } catch (error) {
          // Aborted in flight: the standard AbortError; the outcome is unknown and it is not replayed.
          if (signal?.aborted) throw error;
          if (!resendable) throw new OutcomeUnknownError('The request failed on the network; it is not resent (not a write, not GET or HEAD)', { cause: error });
          failure = error;
        }
        const answer = response && (await readAnswer(response));
        if (answer && response) {
          if (answer.kind == 'ended') sessionEnded(epoch, answer, response);
          if (answer.epoch !== null) learn(epoch, answer);
          if (answer.kind == 'done' || (answer.reason == 'network' && !resendable)) {
            emit({ type: 'committed', status: response.status });
            return response;
          }
        }
        let delay: number | undefined;
        if (answer?.kind == 'stale') {
          emit({ type: 'conflict', attempt });
          const stale = (message: string) => new ConflictError(message, { ...(answer.problem ? { problem: answer.problem } : {}) });
          if (!rebase && !blind) throw stale('412: a declared key moved, and the request has neither rebase nor blind');
          delay = retryDelay(o, 'stale', conflicts++, 0);
          if (delay === undefined) throw stale(`412: still stale after ${o.retries} retries`);
          if (rebase) sent = undefined;
        } else {
          delay = retryDelay(o, 'busy', busy++, Date.now() - start, answer?.retryAfter);
          if (delay === undefined) {
            throw new OutcomeUnknownError(`No answer within the deadline of ${o.deadline} ms; the write may or may not have been applied`, { cause: failure ?? answer?.problem });
          }
        }
        emit({ type: 'retry', reason: answer?.reason ?? (answer ? 'stale' : 'network'), delay });
        await sleep(delay, signal);
      }
    } catch (error) {
      emit({ type: 'failed', error });
      throw error;
    } finally {
      for (const release of releases.reverse()) release();
      if (key) await pending.delete(key);
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
      const headers = new Headers(rest.headers ?? (isRequest ? (input as Request).headers : undefined));
      if (reads.length) headers.set(HEADER.read, serializeMembers(reads.map(member)));
      if (writes.length) headers.set(HEADER.write, serializeMembers(writes.map(member)));
      if (epoch) headers.set(HEADER.epoch, serializeKey(epoch));
      if (key) headers.set(HEADER.idempotencyKey, `"${key}"`);
      const body = rebase ? (await rebase(current)).body : rest.body;
      return { ...rest, headers, ...(body === undefined ? {} : { body }) };
    }

    function sessionEnded(epoch: string | undefined, answer: Answer, response: Response): never {
      const error = new SessionEndedError('410: the session this request was made for has ended; nothing was applied', { response, ...(answer.problem ? { problem: answer.problem } : {}) });
      cache.void(epoch);
      if (!epoch || !ended.has(epoch)) emit({ type: 'sessionended', epoch });
      if (epoch) ended.add(epoch);
      throw error;
    }
  }

  function learn(sentEpoch: string | undefined, answer: Answer): void {
    const keys: [string, KnownKey][] = [];
    for (const [key, version] of answer.versions ?? []) keys.push([key, { version, known: version == 0 }]);
    for (const [key, state] of Object.entries(answer.keys ?? {})) {
      keys.push([key, 'value' in state ? { version: state.version, known: true, value: state.value } : { version: state.version, known: true }]);
    }
    cache.learn(sentEpoch, answer.epoch!, keys);
  }

  return {
    fetch: sessionFetch,
    versions: () => cache.versions(),
    epoch: () => cache.epoch(),
    on: events.on,
  };
}
