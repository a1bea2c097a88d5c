import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { redisStore } from '../../src/server/stores/redis.js';
import type { SessionStore } from '../../src/server/store.js';
import { storeConformance } from '../store-conformance.js';
import { describeWithServer, REDIS_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

const unreachable = await tcpUnreachable(REDIS_URL);

/** Deletes every key under a prefix (SCAN, never KEYS: the server is shared). */
async function deletePrefix(prefix: string): Promise<void> {
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

describeWithServer('redisStore', `Redis at ${REDIS_URL}`, unreachable, () => {
  const prefix = `sl-test-${uniqueSuffix()}:`;
  // Each open() is its own connection: the suite's two stores act as two app servers.
  storeConformance('redisStore', { open: () => redisStore({ url: REDIS_URL, prefix }), cleanup: () => deletePrefix(prefix) });
});
