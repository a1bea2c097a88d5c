// A production build leaves defineRoutes()'s checks out of the browser bundle (NODE_ENV is inlined as 'production').
// What must hold then: a valid table works exactly as in development, and no server mounts a bad one.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sessionRoutes as expressSessionRoutes } from '../../src/server/adapters/express.js';
import { sessionRoutes as honoSessionRoutes } from '../../src/server/adapters/hono.js';
import { defineRoutes, matchRoute, routesDocument } from '../../src/routes/index.js';
import { createValidator, memoryStore } from '../../src/server/index.js';

let before: string | undefined;
beforeEach(() => {
  before = process.env.NODE_ENV;
});
afterEach(() => {
  if (before === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = before;
});
const inMode = <T>(mode: string, make: () => T): T => {
  process.env.NODE_ENV = mode;
  return make();
};

// Tables that are wrong in each way the checks name, and the message each gets in development.
const BAD: [string, Record<string, unknown>][] = [
  ['overlap', { one: { method: 'POST', path: '/api/:id' }, two: { method: 'POST', path: '/api/cart' } }],
  ['unknown field', { one: { method: 'POST', path: '/api/cart', write: ['cart'] } }],
  ['lower-case method', { one: { method: 'post', path: '/api/cart' } }],
  ['relative path', { one: { method: 'POST', path: 'api/cart' } }],
  ['key twice', { one: { method: 'POST', path: '/api/cart', reads: ['cart'], writes: ['cart'] } }],
  ['bad percent-encoding', { one: { method: 'GET', path: '/api/%E0%A4' } }],
];

describe('a production build (NODE_ENV=production)', () => {
  test.each(BAD)('a table with %s is refused by every server mount, with the message defineRoutes() gives in development', (_, table) => {
    const message = (() => {
      try {
        inMode('development', () => defineRoutes(table as never));
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('development accepted a bad table');
    })();
    const handlers = Object.fromEntries(Object.keys(table).map((name) => [name, () => new Response('ok')]));
    const validator = createValidator({ store: memoryStore() });
    // Where no NODE_ENV check runs: the table as a production browser bundle makes it. A bad percent-encoding
    // cannot even be compiled, so it throws there too (the message is the URI error's).
    let routes: ReturnType<typeof defineRoutes>;
    try {
      routes = inMode('production', () => defineRoutes(table as never));
    } catch (error) {
      expect(error).toBeInstanceOf(URIError);
      return;
    }
    const mounts: (() => unknown)[] = [() => validator.mount(routes, handlers as never), () => expressSessionRoutes(validator, routes as never, handlers as never), () => honoSessionRoutes(validator, routes as never, handlers as never)];
    for (const mount of mounts) {
      expect(() => inMode('production', mount)).toThrow(new TypeError(message));
    }
  });

  test('a valid table matches every request as in development, with the same entries and document', () => {
    const segment = fc.constantFrom('api', 'cart', 'items', ':id', 'caf%C3%A9', 'x');
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => '/' + parts.join('/'));
    const entry = fc.record({ method: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'), path, writes: fc.constantFrom([], ['cart'], ['cart', 'user']) });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), entry), fc.array(fc.tuple(fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'), path)), (table, requests) => {
        let development;
        try {
          development = inMode('development', () => defineRoutes(table as never));
        } catch {
          return; // not a valid table: the case above
        }
        const production = inMode('production', () => defineRoutes(table as never));
        expect(production).toEqual(development);
        expect(Object.isFrozen(production)).toBe(true);
        expect(routesDocument(production)).toEqual(routesDocument(development));
        const base = 'https://shop.example';
        for (const [method, target] of requests) {
          expect(matchRoute(production, method, base + target, base)).toEqual(matchRoute(development, method, base + target, base));
        }
      }),
      { numRuns: 300 },
    );
  });
});
