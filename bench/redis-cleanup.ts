import { Redis } from 'ioredis';

/** Deletes the keys a benchmark wrote under its own unique prefix (never anything else); quiet when Redis is not running. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = nextCursor;
    } while (cursor !== '0');
  } catch {
    // Redis not running: nothing of ours is there.
  } finally {
    redis.disconnect();
  }
}
