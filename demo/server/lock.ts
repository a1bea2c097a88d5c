import type { FetchHandler } from '../../src/server/adapters/node.js';
import { API_BASE } from '../shop.js';
import { naiveRoutes } from './naive.js';
import { sessionLocks } from './session-locks.js';

/**
 * The PHP file-session and Laravel `->block()` way: the naive routes (load
 * the whole session, save the whole session), each behind one lock per
 * session, taken before the load and released after the save. Nothing is
 * lost, but a session's requests run one at a time: a burst of N takes N
 * times the server delay. The answer says how long it waited for the lock
 * (`x-lock-wait-ms`), so that the timeline can draw the wait.
 */

const COOKIE = 'lock_sid';

function sessionIdOf(request: Request): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value) return value;
  }
  return undefined;
}

/** The lock routes, keyed for `sessionLanes({ routes })`: the naive handlers under /lock, one request per session at a time. */
export function lockRoutes(): Record<string, FetchHandler> {
  const lock = sessionLocks();
  const routes: Record<string, FetchHandler> = {};
  // The naive handlers know their session by the naive cookie: lock mode keeps its own, and hands it over under that name.
  for (const [route, handler] of Object.entries(naiveRoutes())) {
    routes[route.replace(` ${API_BASE.naive}/`, ` ${API_BASE.lock}/`)] = async (request) => {
      let id = sessionIdOf(request);
      const isNew = id === undefined;
      id ??= crypto.randomUUID();
      const asked = performance.now();
      // A new id is known to nobody else yet: no one to wait for, but later requests wait for this one.
      const release = await lock(id);
      const waited = Math.round(performance.now() - asked);
      try {
        const headers = new Headers(request.headers);
        headers.set('cookie', `naive_sid=${id}`);
        const response = await handler(new Request(request.url, { method: request.method, headers, ...(request.method === 'GET' ? {} : { body: await request.arrayBuffer() }) }));
        const answer = new Response(response.body, { status: response.status, headers: response.headers });
        answer.headers.delete('set-cookie');
        if (isNew) answer.headers.append('set-cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
        answer.headers.set('x-lock-wait-ms', String(waited));
        return answer;
      } finally {
        release();
      }
    };
  }
  return routes;
}
