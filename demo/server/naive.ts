import type { FetchHandler } from '../../src/server/adapters/node.js';
import {
  API_BASE,
  LIST_KEYS,
  appendItem,
  delayOf,
  itemOf,
  normalizeState,
  problem,
  sleep,
  type ListKey,
  type ShopKey,
} from '../shop.js';

/**
 * The race people know: routes that load the WHOLE session when the request
 * starts and save the WHOLE session when it ends, the way express-session,
 * Rails and Django do by default. Two overlapping requests each load the
 * same map, each change a different key, and the one that saves last erases
 * the other's change. The server delay sits between the load and the save,
 * where a real handler would query a database.
 */

const COOKIE = 'naive_sid';

type WholeSession = Partial<Record<ShopKey, unknown>>;

/** A whole-session store: one JSON blob per session id, as the common frameworks keep it. */
export function wholeSessionStore() {
  const blobs = new Map<string, string>();
  return {
    load(id: string): WholeSession {
      return JSON.parse(blobs.get(id) ?? '{}') as WholeSession;
    },
    save(id: string, session: WholeSession): void {
      blobs.set(id, JSON.stringify(session));
    },
  };
}

type WholeSessionStore = ReturnType<typeof wholeSessionStore>;

function sessionIdOf(request: Request): string | undefined {
  const cookie = request.headers.get('cookie') ?? '';
  for (const part of cookie.split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value) return value;
  }
  return undefined;
}

/**
 * Wraps a handler the express-session way: load at the start, save at the
 * end, always — even when the handler only read.
 */
function withWholeSession(store: WholeSessionStore, handler: (request: Request, session: WholeSession) => Promise<Response>): FetchHandler {
  return async (request) => {
    let id = sessionIdOf(request);
    const isNew = id === undefined;
    id ??= crypto.randomUUID();
    const session = store.load(id);
    const response = await handler(request, session);
    store.save(id, session);
    if (isNew) response.headers.append('set-cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
    return response;
  };
}

function appendRoute(store: WholeSessionStore, key: ListKey): FetchHandler {
  return withWholeSession(store, async (request, session) => {
    const item = await itemOf(request);
    if (item === undefined) return problem(400, 'Expected a JSON body {"item": "..."}');
    await sleep(delayOf(request));
    session[key] = appendItem(session[key], item);
    return Response.json({ [key]: session[key] });
  });
}

/** The naive routes, keyed for `sessionLanes({ routes })`. */
export function naiveRoutes(store: WholeSessionStore = wholeSessionStore()): Record<string, FetchHandler> {
  const base = API_BASE.naive;
  const routes: Record<string, FetchHandler> = {};
  for (const key of LIST_KEYS) routes[`POST ${base}/${key}`] = appendRoute(store, key);
  routes[`POST ${base}/visits`] = withWholeSession(store, async (request, session) => {
    await sleep(delayOf(request));
    session.visits = normalizeState(session).visits + 1;
    return Response.json({ visits: session.visits });
  });
  routes[`POST ${base}/prefs`] = withWholeSession(store, async (request, session) => {
    const body = (await request.json().catch(() => undefined)) as { theme?: unknown } | undefined;
    if (body?.theme !== 'light' && body?.theme !== 'dark') return problem(400, 'Expected {"theme": "light" | "dark"}');
    await sleep(delayOf(request));
    session.prefs = { theme: body.theme };
    return Response.json({ prefs: session.prefs });
  });
  // Reading the state is a request too: it saves the whole session like every other.
  routes[`GET ${base}/state`] = withWholeSession(store, async (request, session) => {
    await sleep(delayOf(request));
    return Response.json(normalizeState(session));
  });
  routes[`POST ${base}/reset`] = withWholeSession(store, async (_request, session) => {
    for (const key of Object.keys(session)) delete session[key as ShopKey];
    return Response.json(normalizeState(session));
  });
  return routes;
}
