// A login's commit whose outcome is unknown (the store failed as it was sent) but that lands late, as a
// PostgreSQL statement queued on a connection the pool gave up on, or a Redis script whose answer was cut, does:
// the validator's outcome query, or its second commit, then meets the session rotated away by that very commit.
import { afterEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore, type SessionStore } from '../../src/server/index.js';
import { StoreUnavailableError, type CommitInput } from '../../src/server/store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

const SECRET = 'late-rotation-secret-of-at-least-32-bytes';

/**
 * The real memoryStore, whose next commit (once armed) fails at once with an unknown outcome and lands
 * late: before the next begin is served ('before-query'), or right after it answered ('after-query').
 */
function lateCommitStore() {
  const inner = memoryStore();
  let armed: 'before-query' | 'after-query' | null = null;
  let held: { input: CommitInput; when: 'before-query' | 'after-query' } | null = null;
  const land = async () => {
    if (!held) return;
    const { input } = held;
    held = null;
    await inner.commit(input);
  };
  const store: SessionStore = {
    async begin(input) {
      if (held?.when === 'before-query') await land();
      const result = await inner.begin(input);
      if (held?.when === 'after-query') await land();
      return result;
    },
    async commit(input) {
      if (armed) {
        held = { input, when: armed };
        armed = null;
        throw new StoreUnavailableError('injected: the connection was cut as the commit was sent');
      }
      return inner.commit(input);
    },
    release: (input) => inner.release(input),
    touch: (input) => inner.touch(input),
    close: () => inner.close(),
  };
  return { store, arm: (when: 'before-query' | 'after-query') => (armed = when) };
}

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function loginApp() {
  const late = lateCommitStore();
  const validator = createValidator({ store: late.store, secret: SECRET });
  const state = { runs: 0, late: null as null | 'before-query' | 'after-query' };
  server = await startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      session.set('cart', [await request.text()]);
      return Response.json({});
    }),
    '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
      state.runs++;
      session.set('user', (await request.json()).user);
      session.rotate();
      if (state.late) late.arm(state.late);
      state.late = null;
      return Response.json({ welcome: session.get('user') });
    }),
    '/me': validator.route({ reads: ['user', 'cart'] }, (_request, session) => Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null })),
  });
  return { state, url: server.url };
}

describe('a login whose commit lands late, after its outcome was unknown', () => {
  for (const when of ['after-query', 'before-query'] as const) {
    const where = when === 'after-query' ? 'its second commit meets' : 'its outcome query meets';
    it(`${where} the rotation it made itself: the login's answer with the new cookie, applied once`, async () => {
      const { state, url } = await loginApp();
      const browser = new Browser(url);
      expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'book' })).status).toBe(200);
      const before = browser.cookie;

      state.late = when;
      const answer = await browser.send('/login', {
        headers: { 'session-write': '"user"', 'idempotency-key': idemKey(), 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'ada' }),
      });
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual({ welcome: 'ada' });
      expect(browser.cookie).not.toBe(before);
      expect(browser.cookie).toMatch(/^sl_session=[A-Za-z0-9_-]{43}$/);
      expect(answer.response.headers.get('session-rotated')).not.toBeNull();
      expect(state.runs).toBe(1);

      const me = await browser.send('/me', { method: 'GET', headers: { 'session-read': '"user", "cart"' } });
      expect(me.status).toBe(200);
      expect(me.json()).toEqual({ user: 'ada', cart: ['book'] });
      expect(me.epoch()).toBe(answer.epoch());
    }, 15_000);
  }
});
