import pg from 'pg';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import type { SessionStore } from '../../src/server/store.js';
import { memoryStore } from '../../src/server/stores/memory.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { describeWithServer, POSTGRES_URL, REDIS_URL, tcpUnreachable, uniqueSuffix } from './stores.js';

/** A store for HTTP tests, on its own namespace; `cleanup` removes what it stored. */
export interface StoreUnderTest {
  readonly store: SessionStore;
  cleanup(): Promise<void>;
}

const redisUnreachable = await tcpUnreachable(REDIS_URL);
const postgresUnreachable = await tcpUnreachable(POSTGRES_URL);

async function deleteRedisPrefix(prefix: string): Promise<void> {
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

async function dropPostgresTables(prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS "${prefix}sessions", "${prefix}entries", "${prefix}records", "${prefix}tombstones"`);
  } finally {
    await admin.end();
  }
}

/** Runs `body` once per store (memory, Redis, PostgreSQL), each opened fresh by `open()` in its own namespace. */
export function describeEveryStore(name: string, body: (open: () => StoreUnderTest) => void): void {
  describe(`${name} (memory)`, () => body(() => ({ store: memoryStore(), cleanup: async () => {} })));
  describeWithServer(`${name} (Redis)`, `Redis at ${REDIS_URL}`, redisUnreachable, () =>
    body(() => {
      const prefix = `sl-test-${uniqueSuffix()}:`;
      const store = redisStore({ url: REDIS_URL, prefix });
      return { store, cleanup: async () => (await store.close(), await deleteRedisPrefix(prefix)) };
    }),
  );
  describeWithServer(`${name} (PostgreSQL)`, `PostgreSQL at ${POSTGRES_URL}`, postgresUnreachable, () =>
    body(() => {
      const prefix = `sl_t${uniqueSuffix()}_`;
      const store = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
      return { store, cleanup: async () => (await store.close(), await dropPostgresTables(prefix)) };
    }),
  );
}
