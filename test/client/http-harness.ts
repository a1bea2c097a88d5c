/**
 * The real validator over real HTTP (127.0.0.1), observed from the server's
 * side: which handlers overlapped (and whether any two of them conflicted),
 * every status answered, every commit applied, and injected store failures.
 */
import { parseKeyVersions } from '../../src/protocol/versions.js';
import type { FetchHandler } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore, type SessionStore, type TrackedSession, type ValidatorOptions } from '../../src/server/index.js';
import { startServer } from '../support/server.js';

type Claim = readonly [key: string, write: boolean];

export interface Observed {
  /** Largest number of handlers running at once. */
  maxActive: number;
  /** Conflicting declarations (write/write, read/write on a key) whose handlers overlapped. */
  violations: string[];
  /** Handler runs (handlers that started), by path. */
  runs: Record<string, number>;
  /** Answers by status. */
  statuses: Record<number, number>;
  /** Applied store commits, and those that created a session. */
  commits: number;
  creates: number;
  /** Store calls to fail next (each throws once): a 503 from the validator. */
  fail: { begin: number; commit: number };
}

export type Handler = (request: Request, session: TrackedSession) => Response | Promise<Response>;

export interface App {
  readonly url: string;
  readonly observed: Observed;
  close(): Promise<void>;
}

function observingStore(store: SessionStore, observed: Observed): SessionStore {
  return {
    async begin(input) {
      if (observed.fail.begin > 0 && input.claim) {
        observed.fail.begin--;
        throw new Error('injected begin failure');
      }
      return store.begin(input);
    },
    async commit(input) {
      if (observed.fail.commit > 0) {
        observed.fail.commit--;
        throw new Error('injected commit failure');
      }
      const result = await store.commit(input);
      if (result.status === 'committed' && (input.changes.size > 0 || input.destroy)) {
        observed.commits++;
        if (input.session.mode === 'create') observed.creates++;
      }
      return result;
    },
    release: (input) => store.release(input),
    touch: (input) => store.touch(input),
    close: () => store.close(),
  };
}

/**
 * Starts an app: `routes` maps "METHOD /path" (or "/path") to a declaration
 * and a handler; each handler is wrapped to record its interval and its
 * request's declared claims.
 */
export async function startApp(
  routes: Record<string, { reads?: string[]; writes?: string[]; handler: Handler }>,
  options: Partial<ValidatorOptions> = {},
): Promise<App> {
  const observed: Observed = { maxActive: 0, violations: [], runs: {}, statuses: {}, commits: 0, creates: 0, fail: { begin: 0, commit: 0 } };
  const validator = createValidator({ store: observingStore(memoryStore(), observed), ...options });
  const active = new Set<{ path: string; claims: Claim[] }>();

  const enter = (request: Request) => {
    const claims: Claim[] = [
      ...parseKeyVersions('session-read', request.headers.get('session-read')).map(({ key }) => [key, false] as const),
      ...parseKeyVersions('session-write', request.headers.get('session-write')).map(({ key }) => [key, true] as const),
    ];
    const path = new URL(request.url).pathname;
    for (const other of active) {
      for (const [key, write] of claims) {
        if (other.claims.some(([otherKey, otherWrite]) => otherKey === key && (write || otherWrite))) {
          observed.violations.push(`${path} and ${other.path} overlap on ${key}`);
        }
      }
    }
    const entry = { path, claims };
    active.add(entry);
    observed.runs[path] = (observed.runs[path] ?? 0) + 1;
    observed.maxActive = Math.max(observed.maxActive, active.size);
    return () => active.delete(entry);
  };

  const handlers: Record<string, FetchHandler> = {};
  for (const [name, { handler, ...declaration }] of Object.entries(routes)) {
    const served = validator.route(declaration, async (request, session) => {
      const leave = enter(request);
      try {
        return await handler(request, session);
      } finally {
        leave();
      }
    });
    handlers[name] = async (request) => {
      const response = await served(request);
      observed.statuses[response.status] = (observed.statuses[response.status] ?? 0) + 1;
      return response;
    };
  }
  const server = await startServer(handlers);
  return { url: server.url, observed, close: () => server.close() };
}

/** Adds one to every key the route writes; answers the new values. */
export const increment: Handler = (request, session) => {
  const result: Record<string, number> = {};
  for (const key of (request.headers.get('session-write') ?? '').match(/"[^"]*"/g) ?? []) {
    const name = key.slice(1, -1);
    result[name] = ((session.get(name) as number | undefined) ?? 0) + 1;
    session.set(name, result[name]);
  }
  return Response.json(result);
};

/** Resolves once `count` callers have arrived, or after `timeoutMs`: overlap shows without depending on timing. */
export function barrier(count: number, timeoutMs = 2_000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= count) open();
    return Promise.race([all, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs))]);
  };
}

export function latch(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
