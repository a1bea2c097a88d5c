import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createValidator, memoryStore, type TrackedSession } from '../../src/server/index.js';

/** Type tests: checked by `npm run typecheck` (tsc), which fails on any error here. */
describe('typed sessions', () => {
  it('types get and set from the key schemas', () => {
    const validator = createValidator({
      store: memoryStore(),
      keys: { cart: z.array(z.string()), prefs: z.object({ theme: z.enum(['light', 'dark']) }) },
    });
    const handler = validator.route({ reads: ['prefs'], writes: ['cart'] }, async (_request, session) => {
      expectTypeOf(session.get('cart')).toEqualTypeOf<string[] | undefined>();
      expectTypeOf(session.get('prefs')).toEqualTypeOf<{ theme: 'light' | 'dark' } | undefined>();
      // Only the route's keys, and set only the written ones.
      // @ts-expect-error "other" is not a key of this route
      session.get('other');
      // @ts-expect-error this route only reads prefs
      session.set('prefs', { theme: 'dark' });
      session.set('cart', ['sku-1']);
      // @ts-expect-error a cart is a list of strings
      session.set('cart', [1]);
      // @ts-expect-error a theme is 'light' or 'dark'
      session.set('prefs', { theme: 'blue' });
      expectTypeOf(session.commit()).toEqualTypeOf<Promise<void>>();
      return Response.json({ ok: true });
    });
    expectTypeOf(handler).toEqualTypeOf<(request: Request) => Promise<Response>>();
    // A key without a schema holds any JSON.
    validator.route({ writes: ['other'] }, (_request, session) => {
      expectTypeOf(session.get('other')).toEqualTypeOf<unknown>();
      return new Response(null, { status: 204 });
    });
  });

  it('accepts any JSON without schemas', () => {
    const validator = createValidator({ store: memoryStore() });
    validator.route({ writes: ['anything'] }, (_request, session) => {
      expectTypeOf(session).toMatchTypeOf<TrackedSession>();
      session.set('anything', { nested: [1, 'two', null] });
      return new Response(null, { status: 204 });
    });
  });
});
