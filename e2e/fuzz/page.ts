import { createStore, entries } from 'idb-keyval';
import { createSessionClient } from '../../src/client/index.js';
import { fuzzTable, type FuzzOperation, type FuzzReport } from './routes.js';

/**
 * One tab of the system fuzzer: a client as an app creates it (Web Locks,
 * IndexedDB outbox), tagging its calls from the route table (`?declare=table`)
 * or declaring them at the call site with no table (`?declare=call`). The
 * driver starts operations with `window.fuzz.start()` and hears each one
 * settle, and each outbox entry dropped, through the `fuzzReport` binding,
 * so that what a tab heard before it was closed is not lost with it.
 */
declare global {
  interface Window {
    fuzz: typeof fuzz;
    fuzzReport(report: FuzzReport): Promise<void>;
  }
}

const byTable = new URLSearchParams(location.search).get('declare') !== 'call';
const client = createSessionClient({ ...(byTable ? { routes: fuzzTable } : {}), retries: 30, deadline: 20_000, backoff: 20, maxBackoff: 400 });
const clock = () => performance.timeOrigin + performance.now();

client.on('dropped', (event) => {
  let token: string | undefined;
  try {
    token = (JSON.parse(String(event.entry.init.body)) as { token?: string }).token;
  } catch {
    // not one of ours
  }
  void window.fuzzReport({ type: 'dropped', at: clock(), reason: event.reason, key: event.entry.key, ...(token ? { token } : {}) });
});

/** The call for an operation; the call-site kind declares what the table would. */
function call(operation: FuzzOperation): Promise<Response> {
  const json = { 'content-type': 'application/json' };
  switch (operation.kind) {
    case 'append':
      return client.fetch(`/fuzz/append/${operation.key}`, { method: 'POST', headers: json, body: JSON.stringify({ token: operation.token }), ...(byTable ? {} : { session: { writes: [operation.key!] } }) });
    case 'login':
      return client.fetch('/fuzz/login', { method: 'POST', headers: json, body: JSON.stringify({ op: operation.id }), ...(byTable ? {} : { session: { writes: ['user'], rotates: true } }) });
    case 'logout':
      return client.fetch('/fuzz/logout', { method: 'POST', headers: json, body: JSON.stringify({ op: operation.id }), ...(byTable ? {} : { session: { ends: true } }) });
    case 'read':
      return client.fetch(`/fuzz/state?op=${operation.id}`, byTable ? {} : { session: { reads: ['a', 'b', 'c', 'user'] } });
  }
}

const fuzz = {
  /** Starts the operations at once (each settles on its own, reported through `fuzzReport`). */
  start(operations: readonly FuzzOperation[]): void {
    for (const operation of operations) {
      call(operation).then(
        async (response) => {
          const body = response.ok && operation.kind === 'read' ? ((await response.json()) as Record<string, string[]>) : undefined;
          const observed = body ? [...(body.a ?? []), ...(body.b ?? []), ...(body.c ?? [])] : undefined;
          await window.fuzzReport({ type: 'settled', id: operation.id, at: clock(), status: response.status, ...(observed ? { observed } : {}) });
        },
        (error: unknown) => window.fuzzReport({ type: 'settled', id: operation.id, at: clock(), error: `${(error as Error).name}: ${(error as Error).message}` }),
      );
    }
  },
  /** Every tab's outbox entries, as stored: how many are left. */
  outbox: async () => (await entries(createStore('session-lanes', 'kv'))).filter(([key]) => Array.isArray(key)).length,
};
window.fuzz = fuzz;
