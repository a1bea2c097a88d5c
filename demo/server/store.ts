import { memoryStore, type SessionStore } from '../../src/server/index.js';

/**
 * The session store of the demo's session-lanes routes, from the
 * environment variable SESSION_LANES_STORE:
 *
 * - unset or `memory`: the embedded memory store (the default);
 * - `redis://…` or `rediss://…`: `redisStore()` (needs `ioredis` and Redis >= 7);
 * - `postgres://…` or `postgresql://…`: `postgresStore()` (needs `pg` and PostgreSQL >= 12).
 *
 * A driver is imported only when its store is chosen.
 */
export async function storeFromEnvironment(value = process.env.SESSION_LANES_STORE): Promise<{ store: SessionStore; label: string }> {
  const url = value?.trim() ?? '';
  if (url === '' || url === 'memory') return { store: memoryStore(), label: 'memory' };
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  // The demo's sessions get their own namespace: a shared Redis or database keeps the app's untouched.
  if (scheme === 'redis:' || scheme === 'rediss:') {
    const { redisStore } = await import('../../src/server/stores/redis.js');
    return { store: redisStore({ url, prefix: 'session-lanes-demo:' }), label: `redis (${redact(url)})` };
  }
  if (scheme === 'postgres:' || scheme === 'postgresql:') {
    const { postgresStore } = await import('../../src/server/stores/postgres.js');
    return { store: postgresStore({ connectionString: url, tablePrefix: 'session_lanes_demo_' }), label: `postgres (${redact(url)})` };
  }
  throw new TypeError(`SESSION_LANES_STORE must be "memory", a redis:// or rediss:// URL, or a postgres:// URL; got ${JSON.stringify(redact(url))}`);
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(not a URL)';
  }
}
