import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, memoryStore, type SessionStore, type ValidatorEvent } from '../../src/server/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { describeEachStore } from '../support/each-store.js';
import { uniqueSuffix } from '../support/stores.js';

/**
 * An app whose own auth layer names the session: the id comes from a JSON
 * string in X-User, so a client can make it hold any code unit. Ids that a
 * store cannot keep as they are (U+0000: PostgreSQL refuses it, a 503 there;
 * a lone surrogate: Redis and PostgreSQL store U+FFFD, so two ids would share
 * one session) are refused the same way on every store: the app's resolver
 * returned something no store can keep, a 500 naming the fix in onEvent.
 */
function resolverSuite(name: string, open: () => SessionStore, cleanup: () => Promise<void>) {
  describe(`sessionId() ids on ${name}`, () => {
    let server: TestServer;
    let store: SessionStore;
    const events: ValidatorEvent[] = [];

    beforeAll(async () => {
      store = open();
      const validator = createValidator({
        store,
        sessionId: (request) => {
          const user = request.headers.get('x-user');
          return user === null ? null : (JSON.parse(user) as string);
        },
        onEvent: (event) => events.push(event),
      });
      server = await startServer({
        '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
          session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
          return Response.json({ cart: session.get('cart') });
        }),
        '/view': validator.route({ reads: ['cart'] }, (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
      });
    });
    afterAll(async () => {
      await server.close();
      await store.close();
      await cleanup();
    });

    const as = (user: string) => (path: string, headers: Record<string, string>, body?: string) =>
      new Browser(server.url).send(path, { method: body === undefined ? 'GET' : 'POST', headers: { 'x-user': user, ...headers }, ...(body !== undefined ? { body } : {}) });

    it('serves a well-formed id', async () => {
      const user = JSON.stringify(`ada-${uniqueSuffix()}`);
      const added = await as(user)('/cart', { 'session-write': '"cart";v=0', 'idempotency-key': idemKey() }, 'tea');
      expect(added.status).toBe(200);
      expect((await as(user)('/view', { 'session-read': '"cart"' })).json()).toEqual({ cart: ['tea'] });
    });

    it('refuses an id holding U+0000, on writes and reads, with an error that names the fix', async () => {
      events.length = 0;
      const user = JSON.stringify(`ada\u0000${uniqueSuffix()}`);
      const write = await as(user)('/cart', { 'session-write': '"cart";v=0', 'idempotency-key': idemKey() }, 'tea');
      expect(write.status).toBe(500);
      expect(write.json().type).toBe('https://session-lanes.dev/problems/handler-failed');
      expect((await as(user)('/view', { 'session-read': '"cart"' })).status).toBe(500);
      const errors = events.flatMap((event) => (event.type === 'handler-error' ? [event.error] : []));
      expect(errors).toHaveLength(2);
      for (const error of errors) {
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(/^options\.sessionId\(\) returned ".*", which holds U\+0000, which PostgreSQL cannot store: return well-formed text without U\+0000/);
      }
      expect(events.some((event) => event.type === 'store-error')).toBe(false);
    });

    it('refuses an id holding a lone surrogate: two such ids never share a session', async () => {
      events.length = 0;
      const suffix = uniqueSuffix();
      const first = await as(JSON.stringify(`\ud800${suffix}`))('/cart', { 'session-write': '"cart";v=0', 'idempotency-key': idemKey() }, 'secret');
      expect(first.status).toBe(500);
      const second = await as(JSON.stringify(`\udfff${suffix}`))('/view', { 'session-read': '"cart"' });
      expect(second.status).toBe(500);
      expect(second.text).not.toContain('secret');
      const errors = events.flatMap((event) => (event.type === 'handler-error' ? [(event.error as Error).message] : []));
      expect(errors).toEqual([expect.stringContaining('lone surrogate (U+D800)'), expect.stringContaining('lone surrogate (U+DFFF)')]);
    });
  });
}

describeEachStore('sessionId() ids', (kind) => resolverSuite(kind.name, () => kind.open(), () => kind.cleanup()));

describe('route key names', () => {
  it('are refused at route() when no store could keep them', () => {
    const validator = createValidator({ store: memoryStore() });
    expect(() => validator.route({ writes: ['a\u0000b'] }, () => new Response())).toThrow(
      new TypeError('validator.route(): key "a\\u0000b" holds U+0000, which PostgreSQL cannot store; key names must be well-formed text without U+0000'),
    );
    expect(() => validator.route({ reads: ['\udc00'] }, () => new Response())).toThrow(/key "\\udc00" holds a lone surrogate \(U\+DC00\)/);
  });
});
