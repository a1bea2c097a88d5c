import { Redis } from 'ioredis';
import pg from 'pg';
import { memoryStore } from '../../src/server/stores/memory.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeWithServer, POSTGRES_URL, REDIS_URL, tcpUnreachable, uniqueSuffix } from './stores.js';

/** One of the three real stores, on its own key prefix or tables, removed by cleanup(). */
export interface StoreKind {
  readonly name: 'memory' | 'redis' | 'postgres';
  /** A fresh store of this kind (a shared one needs a validator `secret`). */
  open(): SessionStore;
  /** Deletes what open() created (Redis keys under the prefix, PostgreSQL tables). */
  cleanup(): Promise<void>;
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the server is shared). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** Drops every table of a store's `tablePrefix` (sessions, entries, records, tombstones). */
export async function dropPostgresTables(prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS "${prefix}sessions", "${prefix}entries", "${prefix}records", "${prefix}tombstones"`);
  } finally {
    await admin.end();
  }
}

const [redisUnreachable, postgresUnreachable] = await Promise.all([tcpUnreachable(REDIS_URL), tcpUnreachable(POSTGRES_URL)]);

/** Runs `body` once per store: memory always, Redis and PostgreSQL when reachable (or failing in CI when not). */
export function describeEachStore(name: string, body: (kind: StoreKind) => void): void {
  describeWithServer(`${name} (memory)`, 'nothing', null, () => body({ name: 'memory', open: () => memoryStore(), cleanup: async () => {} }));
  const redisPrefix = `sl-test-${uniqueSuffix()}:`;
  describeWithServer(`${name} (redis)`, `Redis at ${REDIS_URL}`, redisUnreachable, () =>
    body({ name: 'redis', open: () => redisStore({ url: REDIS_URL, prefix: redisPrefix }), cleanup: () => deleteRedisPrefix(redisPrefix) }),
  );
  const tablePrefix = `sl_t${uniqueSuffix()}_`;
  describeWithServer(`${name} (postgres)`, `PostgreSQL at ${POSTGRES_URL}`, postgresUnreachable, () =>
    body({
      name: 'postgres',
      open: () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix }),
      cleanup: () => dropPostgresTables(tablePrefix),
    }),
  );
}
