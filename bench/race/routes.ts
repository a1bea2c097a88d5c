import { defineRoutes } from '../../src/routes/index.js';

/**
 * The routes every race target serves, the same paths on every server so that
 * one driver drives them all. session-lanes' validator and client read the
 * table; the other servers only serve the paths.
 *
 * - `POST /race/append/slow` and `/race/append/fast` `{token}`: append the token
 *   to the list of that name; the slow one works `SLOW_MS` between its load and
 *   its write, the fast one `FAST_MS` (distinct keys, the Rails case).
 * - `POST /race/incr`: counter + 1, from the value loaded at the start.
 * - `POST /race/view`: a read of both lists that also counts views (a read
 *   that writes another key: on a whole-session store it saves what it loaded).
 * - `POST /race/flash` `{token}` queues a flash message; `POST /race/flash/take`
 *   answers and clears them (a flash is shown once).
 * - `POST /race/login`: rotates the session, keeping its keys; `POST /race/logout`: ends it.
 * - `GET /race/state`: everything, for the final read.
 */
export const raceTable = defineRoutes({
  appendSlow: { method: 'POST', path: '/race/append/slow', writes: ['slow'] },
  appendFast: { method: 'POST', path: '/race/append/fast', writes: ['fast'] },
  increment: { method: 'POST', path: '/race/incr', writes: ['counter'] },
  view: { method: 'POST', path: '/race/view', reads: ['slow', 'fast'], writes: ['views'] },
  flash: { method: 'POST', path: '/race/flash', writes: ['flash'] },
  takeFlash: { method: 'POST', path: '/race/flash/take', writes: ['flash'] },
  login: { method: 'POST', path: '/race/login', writes: ['user'], rotates: true },
  logout: { method: 'POST', path: '/race/logout', ends: true },
  state: { method: 'GET', path: '/race/state', reads: ['slow', 'fast', 'counter', 'flash', 'views', 'user'] },
});

/** How long the slow and the fast handler work between loading the session and writing it (ms). */
export const SLOW_MS = 5;
export const FAST_MS = 0;

/** What `GET /race/state` answers. */
export interface RaceState {
  slow: string[];
  fast: string[];
  counter: number;
  flash: string[];
  views: number;
  user: string | null;
}
