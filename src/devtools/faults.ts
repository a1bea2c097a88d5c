/**
 * Faults one click away: the next N requests of a route path (or of a key)
 * answer 412, 503 or 410, or fail as offline, without reaching the server.
 * They come from `devtoolsFetch()`, the `fetch` option the app gives its
 * client in development, and apply only to requests the page itself made
 * (see hub.ts): never to an outbox entry adopted from a gone tab, where a
 * simulated 412 would drop a real write.
 */
import { HEADER } from '../protocol/headers.js';
import { PROBLEM, PROBLEM_CONTENT_TYPE } from '../protocol/problems.js';
import { parseKeyVersions } from '../protocol/versions.js';
import { factsOf, hub, type FaultAnswer } from './hub.js';

/** What an armed fault answers: a status, or `'offline'` (fetch rejects with a TypeError). */
export type { FaultAnswer } from './hub.js';

/** Which requests a fault applies to: an exact URL path (`/api/cart`), or any request that declares `key`. */
export type FaultTarget = { readonly path: string } | { readonly key: string };

export interface ArmedFault {
  readonly id: number;
  readonly target: FaultTarget;
  readonly answer: FaultAnswer;
  /** Requests it still applies to. */
  remaining: number;
}

const armed: ArmedFault[] = [];
let ids = 0;

/**
 * Arms a fault for the next `count` matching requests of this page.
 *
 * @example
 * armFault({ path: '/api/cart/items' }, 412, 2); // the next two requests to that path answer 412
 */
export function armFault(target: FaultTarget, answer: FaultAnswer, count = 1): ArmedFault {
  if (!Number.isInteger(count) || count < 1) throw new TypeError('armFault(): count must be a positive integer');
  if ('path' in target ? !target.path.startsWith('/') : !target.key) throw new TypeError('armFault(): a path starts with "/"; a key is not empty');
  const fault = { id: ++ids, target, answer, remaining: count };
  armed.push(fault);
  hub.changed();
  return fault;
}

export const armedFaults = (): readonly ArmedFault[] => armed;

export function disarmFault(id: number): void {
  const index = armed.findIndex((fault) => fault.id === id);
  if (index >= 0) armed.splice(index, 1);
  hub.changed();
}

export interface DevtoolsFetchOptions {
  /**
   * The fetch it wraps.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * The client's `fetch` option in development: passes every request on, except
 * those an armed fault answers.
 *
 * @example
 * const client = createSessionClient({ routes, fetch: devtoolsFetch() });
 */
export function devtoolsFetch(options: DevtoolsFetchOptions = {}): typeof globalThis.fetch {
  const inner = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return async function devtoolsFetch(input, init) {
    const id = hub.sending;
    hub.sending = undefined;
    if (id === undefined) return inner(input, init);
    const facts = factsOf(id);
    const request = input instanceof Request ? input : undefined;
    const headers = new Headers(init?.headers ?? request?.headers);
    facts.method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    facts.url = new URL(request?.url ?? String(input), globalThis.location?.href).href;
    const key = headers.get(HEADER.idempotencyKey);
    if (key) facts.idempotencyKey = key.replace(/^"|"$/g, '');
    const declared = declaredKeys(headers);
    const fault = facts.madeHere ? armed.find((each) => each.remaining > 0 && matches(each.target, facts.url!, declared)) : undefined;
    if (!fault) return hub.changed(), inner(input, init);
    if (--fault.remaining === 0) armed.splice(armed.indexOf(fault), 1);
    facts.simulated.push(fault.answer);
    hub.changed();
    const signal = init?.signal ?? request?.signal;
    if (signal?.aborted) throw signal.reason;
    return simulate(fault.answer, declared);
  };
}

/** Declared keys and their bases (0 for a blind one); a header that does not parse declares nothing here (the server will say 400). */
function declaredKeys(headers: Headers): Map<string, number> {
  const keys = new Map<string, number>();
  for (const name of [HEADER.read, HEADER.write]) {
    try {
      for (const { key, version } of parseKeyVersions(name, headers.get(name))) keys.set(key, version ?? 0);
    } catch {
      // Not ours to judge.
    }
  }
  return keys;
}

function matches(target: FaultTarget, url: string, declared: Map<string, number>): boolean {
  return 'path' in target ? new URL(url).pathname === target.path : declared.has(target.key);
}

const DETAIL = 'Simulated by session-lanes devtools: the request did not reach the server';

/**
 * A well-formed answer of the protocol. It carries no Session-Epoch nor Session-Versions, so the client learns
 * nothing from it: the 412's key states (each at the base the request declared, no value) are never stored.
 */
function simulate(answer: FaultAnswer, declared: Map<string, number>): Response {
  if (answer === 'offline') throw new TypeError(`Failed to fetch (${DETAIL})`);
  const headers = new Headers({ 'content-type': PROBLEM_CONTENT_TYPE, 'x-session-lanes-devtools': 'simulated' });
  const problem = answer === 412 ? PROBLEM.stale : answer === 503 ? PROBLEM.storeUnavailable : PROBLEM.sessionEnded;
  const body: Record<string, unknown> = { ...problem, detail: DETAIL };
  if (answer === 412) body.keys = Object.fromEntries([...declared].map(([key, version]) => [key, { version }]));
  if (answer === 503) headers.set('retry-after', '1');
  return new Response(JSON.stringify(body), { status: answer, headers });
}
