import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/** An app with its own auth layer: the session id comes from `sessionId(request)`, here an X-User header. */
let server: TestServer;
beforeAll(async () => {
  const validator = createValidator({ store: memoryStore(), sessionId: (request) => request.headers.get('x-user') });
  server = await startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
      return Response.json({ cart: session.get('cart') });
    }),
    '/view': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
  });
});
afterAll(() => server.close());

const as = (user?: string) => {
  const browser = new Browser(server.url);
  return (path: string, headers: Record<string, string> = {}, body?: string) =>
    browser.send(path, { method: body === undefined ? 'GET' : 'POST', headers: { ...(user ? { 'x-user': user } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });
};

describe('sessionId resolver', () => {
  it('starts a new id empty, creates it on its first commit, and sets no cookie', async () => {
    const ada = as('ada');
    expect((await ada('/view', { 'session-read': '"cart"' })).json()).toEqual({ cart: null });
    const added = await ada('/cart', { 'session-write': '"cart";v=0', 'idempotency-key': idemKey() }, 'tea');
    expect(added.status).toBe(200);
    expect(added.response.headers.get('set-cookie')).toBeNull();
    expect(added.epoch()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await ada('/cart', { 'session-write': '"cart";v=1', 'idempotency-key': idemKey(), 'session-epoch': `"${added.epoch()}"` }, 'jam')).json()).toEqual({ cart: ['tea', 'jam'] });
    // Another user's id is another session.
    expect((await as('bob')('/view')).json()).toEqual({ cart: null });
  });

  it('serves null as a visitor, and answers 410 to a request made for a session it does not have', async () => {
    const nobody = as();
    expect((await nobody('/view', { 'session-read': '"cart"' })).status).toBe(200);
    expect((await nobody('/view', { 'session-read': '"cart";v=2' })).status).toBe(410);
    expect((await nobody('/view', { 'session-epoch': '"e"' })).status).toBe(410);
    expect((await nobody('/cart', { 'session-write': '"cart"', 'idempotency-key': idemKey() }, 'x')).status).toBe(410);
  });
});
