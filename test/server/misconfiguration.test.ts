import { describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { idemKey } from '../support/session-http.js';
import { REDIS_URL } from '../support/stores.js';

/** Each mistake a new user makes fails early, with a message that names the fix. */
describe('misconfigurations', () => {
  it('a shared store without a secret: pass the same secret to every server, or sessionId', async () => {
    const store = redisStore({ url: REDIS_URL });
    try {
      expect(() => createValidator({ store })).toThrow(
        'createValidator(options): options.secret is required with a shared store: every server must derive the same session id for a session-creating request. ' +
          'Pass the same secret of at least 32 random bytes to every server (secret: process.env.SESSION_LANES_SECRET), or sessionId to use your own session layer',
      );
      // With a resolver, the app names sessions: no secret needed.
      expect(() => createValidator({ store, sessionId: () => null })).not.toThrow();
    } finally {
      await store.close();
    }
  });

  it('a secret under 32 bytes: says how to make one', () => {
    expect(() => createValidator({ store: memoryStore(), secret: 'short' })).toThrow(
      'createValidator(options): options.secret must be at least 32 bytes, got 5; generate one with `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`',
    );
  });

  it('destroy() in a route with neither writes nor ends: declare it ends', async () => {
    const errors: unknown[] = [];
    const route = createValidator({ store: memoryStore(), onEvent: (event) => void errors.push('error' in event ? event.error : null) }).route({ reads: ['cart'] }, (_request, session) => {
      session.destroy();
      return new Response('bye');
    });
    expect((await route(new Request('http://app.test/logout', { method: 'POST', headers: { 'idempotency-key': idemKey() } }))).status).toBe(500);
    expect(String(errors[0])).toMatch(/session\.destroy\(\): .*`ends: true`/);
  });
});
