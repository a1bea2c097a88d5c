/**
 * IndexedDB, through idb-keyval's store, for the shared version cache and the
 * outbox: one database, one object store. When IndexedDB is missing or fails
 * (a private window, a full quota, a database closed under us), `use` reports
 * it once and answers undefined from then on: the client keeps working in
 * memory.
 */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';

/** Runs one idb-keyval call on the client's store; undefined once IndexedDB has failed. Never rejects. */
export type Storage = <T>(call: (store: UseStore) => Promise<T>) => Promise<T | undefined>;

export function idbStorage(report: (error: unknown) => void, name = 'session-lanes'): Storage {
  const store = createStore(name, 'kv');
  let ok = true;
  return async (call) => {
    if (ok) {
      try {
        return await call(store);
      } catch (error) {
        ok = false;
        report(error);
      }
    }
  };
}

/**
 * One request on the store, in its own transaction: a write's result once the transaction is complete (what
 * the next reader in any tab sees), a read's as soon as it succeeds (undefined once IndexedDB has failed).
 */
export const request = <T>(use: Storage, mode: IDBTransactionMode, call: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> =>
  use((store) =>
    store(mode, (objects) => {
      const pending = call(objects);
      return mode === 'readonly' ? promisifyRequest(pending) : promisifyRequest(objects.transaction).then(() => pending.result);
    }),
  );
