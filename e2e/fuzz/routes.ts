import { defineRoutes } from '../../src/routes/index.js';

/**
 * The fuzzer's routes: three lists a tab appends unique tokens to (each a
 * session key, blind writes the server computes), a rotating login, a logout,
 * and a read of everything. Tabs of the "table" kind tag their calls from
 * this table; tabs of the "call" kind declare the same at each call site.
 */
export const FUZZ_KEYS = ['a', 'b', 'c'] as const;
export type FuzzKey = (typeof FUZZ_KEYS)[number];

export const fuzzTable = defineRoutes({
  appendA: { method: 'POST', path: '/fuzz/append/a', writes: ['a'] },
  appendB: { method: 'POST', path: '/fuzz/append/b', writes: ['b'] },
  appendC: { method: 'POST', path: '/fuzz/append/c', writes: ['c'] },
  login: { method: 'POST', path: '/fuzz/login', writes: ['user'], rotates: true },
  logout: { method: 'POST', path: '/fuzz/logout', ends: true },
  state: { method: 'GET', path: '/fuzz/state', reads: ['a', 'b', 'c', 'user'] },
});

/** One operation the driver asks a tab to start. */
export interface FuzzOperation {
  readonly id: string;
  readonly kind: 'append' | 'login' | 'logout' | 'read';
  readonly key?: FuzzKey;
  readonly token?: string;
}

/** What a tab reports through the `fuzzReport` binding: an operation settled, or an outbox entry dropped. */
export type FuzzReport =
  | { readonly type: 'settled'; readonly id: string; readonly at: number; readonly status?: number; readonly error?: string; readonly observed?: readonly string[] }
  | { readonly type: 'dropped'; readonly at: number; readonly reason: string; readonly key: string; readonly token?: string };
