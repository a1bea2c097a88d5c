/** Type tests of the framework adapters: checked by `npm run typecheck` (tsc), which fails on any error here, and on any @ts-expect-error that is not one. */
import express from 'express';
import { Hono } from 'hono';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { sessionRoutes, withSession } from '../../src/server/adapters/express.js';
import { sessionRoutes as honoSessionRoutes } from '../../src/server/adapters/hono.js';
import { createValidator, memoryStore, type TrackedSession } from '../../src/server/index.js';
import { defineRoutes } from '../../src/routes/index.js';
import type { SessionKeysOf } from '../../src/server/index.js';

const keys = { cart: z.array(z.string()), prefs: z.object({ theme: z.enum(['light', 'dark']) }) };
const routes = defineRoutes<SessionKeysOf<typeof keys>>()({
  addToCart: { method: 'POST', path: '/api/cart/:sku', reads: ['prefs'], writes: ['cart'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
});
const validator = createValidator({ store: memoryStore(), keys });

describe('Express: res.locals.session is typed from the entry', () => {
  it('under withSession(validator, entry): only the route\'s keys, set only the written ones; req.params from the path', () => {
    const app = express();
    app.post('/api/cart/:sku', withSession(validator, routes.addToCart), (req, res) => {
      const { session } = res.locals;
      expectTypeOf(session).toEqualTypeOf<TrackedSession<{ prefs: { theme: 'light' | 'dark' }; cart: string[] }, 'cart'>>();
      expectTypeOf(req.params.sku).toEqualTypeOf<string>();
      // @ts-expect-error "crat" is not a key of the route
      session.set('crat', []);
      // @ts-expect-error the route only reads prefs
      session.set('prefs', { theme: 'dark' });
      // @ts-expect-error a cart holds strings
      session.set('cart', [1]);
      session.set('cart', [req.params.sku]);
      res.json({});
    });
    app.post('/inline', withSession(validator, { writes: ['cart'] }), (_req, res) => {
      expectTypeOf(res.locals.session.get('cart')).toEqualTypeOf<string[] | undefined>();
      res.end();
    });
  });

  it('under sessionRoutes(validator, routes, handlers): each handler its entry\'s session and params; a missing handler is a type error', () => {
    const app = express();
    app.use(
      sessionRoutes(validator, routes, {
        addToCart: (req, res) => {
          expectTypeOf(req.params).toEqualTypeOf<{ sku: string }>();
          // @ts-expect-error "crat" is not a key of the route
          res.locals.session.set('crat', []);
          res.locals.session.set('cart', [req.params.sku]);
          res.status(201).json({ cart: res.locals.session.get('cart') });
        },
        showCart: (_req, res) => {
          // @ts-expect-error showCart only reads
          res.locals.session.set('cart', []);
          res.json(res.locals.session.get('cart') ?? []);
        },
      }),
    );
    // @ts-expect-error showCart has no handler
    expect(() => sessionRoutes(validator, routes, { addToCart: (_req, res) => void res.end() })).toThrow(
      'sessionRoutes(validator, routes, handlers): route "showCart" (GET /api/cart) has no handler',
    );
  });
});

describe('Hono: sessionRoutes() types each handler from its entry', () => {
  it("c.var.session has the route's keys, c.req.param() the path's params; a missing handler is a type error", () => {
    const app = new Hono();
    app.route(
      '/',
      honoSessionRoutes(validator, routes, {
        addToCart: (c) => {
          expectTypeOf(c.req.param('sku')).toEqualTypeOf<string>();
          // @ts-expect-error "crat" is not a key of the route
          c.var.session.set('crat', []);
          c.var.session.set('cart', [c.req.param('sku')]);
          return c.json({ cart: c.var.session.get('cart') }, 201);
        },
        showCart: (c) => {
          // @ts-expect-error showCart only reads
          c.var.session.set('cart', []);
          return c.json(c.var.session.get('cart') ?? []);
        },
      }),
    );
    // @ts-expect-error showCart has no handler
    expect(() => honoSessionRoutes(validator, routes, { addToCart: (c) => c.text('') })).toThrow(TypeError);
  });
});
