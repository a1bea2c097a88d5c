/** Type tests of the route table: checked by `npm run typecheck` (tsc), which fails on any error here, and on any @ts-expect-error that is not one. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createSessionClient } from '../../src/client/index.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createValidator, memoryStore, type SessionKeysOf } from '../../src/server/index.js';

// What the server module exports; the browser imports only its type.
const keys = { cart: z.array(z.string()), prefs: z.object({ theme: z.enum(['light', 'dark']) }), recent: z.array(z.string()) };
type SessionKeys = SessionKeysOf<typeof keys>;

const routes = defineRoutes<SessionKeys>()({
  addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
  viewItem: { method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
  logout: { method: 'POST', path: '/api/logout', ends: true },
});

// The calls below run too: a stub answers them.
const answered: typeof fetch = async () => new Response(null, { headers: { 'session-epoch': '"E"' } });

describe('defineRoutes types', () => {
  it('derives the key types from the schemas', () => {
    expectTypeOf<SessionKeys>().toEqualTypeOf<{ cart: string[]; prefs: { theme: 'light' | 'dark' }; recent: string[] }>();
  });

  it('checks key names and fields against the key types (and at run time what it can)', () => {
    // @ts-expect-error "crat" is not a session key
    defineRoutes<SessionKeys>()({ add: { method: 'POST', path: '/a', writes: ['crat'] } });
    // @ts-expect-error an entry has no field "write"
    expect(() => defineRoutes<SessionKeys>()({ add: { method: 'POST', path: '/a', write: ['cart'] } })).toThrow(TypeError);
    // @ts-expect-error rebase belongs to a call, not to the table
    expect(() => defineRoutes({ add: { method: 'POST', path: '/a', writes: ['cart'], rebase: () => ({}) } })).toThrow(TypeError);
    // @ts-expect-error a route needs a path
    expect(() => defineRoutes({ add: { method: 'POST', writes: ['cart'] } })).toThrow(TypeError);
  });

  it('keeps each entry literal: its keys, its method', () => {
    expectTypeOf(routes.viewItem.writes).toEqualTypeOf<readonly ['recent']>();
    expectTypeOf(routes.addToCart.method).toEqualTypeOf<'POST'>();
  });

  it('the untyped one-step call stays valid, any key name', () => {
    const untyped = defineRoutes({ add: { method: 'POST', path: '/a', writes: ['anything'] } });
    expectTypeOf(untyped.add.writes).toEqualTypeOf<readonly ['anything']>();
    const client = createSessionClient({ routes: untyped, base: 'https://x', fetch: answered });
    void client.fetch('/a', { session: { reads: ['whatever'], rebase: (current) => (expectTypeOf(current.whatever).toEqualTypeOf<unknown>(), {}) } });
  });
});

describe('the client, typed by its table', () => {
  const client = createSessionClient({ routes, base: 'https://shop.example', fetch: answered });

  it('rebase gets typed values', () => {
    void client.fetch('/api/cart/items', {
      method: 'POST',
      session: {
        rebase: (current) => {
          expectTypeOf(current.cart).toEqualTypeOf<string[] | undefined>();
          expectTypeOf(current.prefs).toEqualTypeOf<{ theme: 'light' | 'dark' } | undefined>();
          return { body: JSON.stringify([...(current.cart ?? []), 'sku-1']) };
        },
      },
    });
  });

  it('blind: true with rebase is a type error; blind: false with rebase is fine', async () => {
    // @ts-expect-error blind: true and rebase exclude each other
    await expect(client.fetch('/api/cart/items', { method: 'POST', session: { blind: true, rebase: () => ({}) } })).rejects.toThrow(TypeError);
    void client.fetch('/api/cart/items', { method: 'POST', session: { blind: false, rebase: () => ({}) } });
  });

  it('key names at the call site are checked too', () => {
    // @ts-expect-error "crat" is not a session key
    void client.fetch('/api/other', { method: 'POST', session: { writes: ['crat'] } });
    void client.fetch('/api/other', { method: 'POST', session: { writes: ['cart'], blind: false } });
  });
});

describe('the validator, typed by the same table', () => {
  const validator = createValidator({ store: memoryStore(), keys });

  it("a handler's session.get/set accept only its route's keys; set only the written ones", () => {
    validator.route(routes.viewItem, (_request, session) => {
      expectTypeOf(session.get('prefs')).toEqualTypeOf<{ theme: 'light' | 'dark' } | undefined>();
      expectTypeOf(session.get('recent')).toEqualTypeOf<string[] | undefined>();
      session.set('recent', ['sku-1']);
      // @ts-expect-error cart is not a key of viewItem
      session.get('cart');
      // @ts-expect-error viewItem only reads prefs
      session.set('prefs', { theme: 'dark' });
      // @ts-expect-error recent is a list of strings
      session.set('recent', [1]);
      return new Response();
    });
    validator.route(routes.logout, (_request, session) => {
      // @ts-expect-error a logout route has no keys
      session.get('cart');
      session.destroy();
      return new Response(null, { status: 204 });
    });
  });

  it('mount: a handler per route, each typed by its entry; a missing one is a type error', () => {
    const ok = () => new Response();
    validator.mount(routes, {
      addToCart: (_request, session) => (session.set('cart', ['a']), ok()),
      viewItem: (_request, session) => {
        // @ts-expect-error cart is not a key of viewItem
        session.set('cart', []);
        return ok();
      },
      showCart: ok,
      logout: ok,
    });
    // @ts-expect-error logout has no handler
    expect(() => validator.mount(routes, { addToCart: ok, viewItem: ok, showCart: ok })).toThrow(TypeError);
  });
});
