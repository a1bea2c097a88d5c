import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { serverPerTest } from '../support/framework-http.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * Fetch runtimes call a handler with more than the request: Next.js's route
 * handlers `(request, { params })`, Deno.serve `(request, info)`, Bun.serve
 * `(request, server)`. Each is served here over real HTTP by a Node server that
 * calls the handler the way that runtime does.
 */
const listen = serverPerTest();
const serve = (callback: (request: Request, incoming: { remoteAddress: string }) => Promise<Response>) =>
  listen(createServer(getRequestListener((request, env) => callback(request, { remoteAddress: env.incoming.socket.remoteAddress ?? '' }), { overrideGlobalObjects: false })));

const write = { 'session-write': '"cart"', 'content-type': 'application/json' };

describe('extra arguments of a Fetch handler', () => {
  it("reach the handler after session: a Next.js route handler's { params }", async () => {
    const validator = createValidator({ store: memoryStore() });
    // app/api/cart/[sku]/route.ts
    const POST = validator.route({ writes: ['cart'] }, async (_request, session, { params }: { params: Promise<{ sku: string }> }) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), (await params).sku]);
      return Response.json({ cart: session.get('cart') });
    });
    expectTypeOf(POST).toEqualTypeOf<(request: Request, context: { params: Promise<{ sku: string }> }) => Promise<Response>>();
    // What Next.js does with app/api/cart/[sku]/route.ts: match the path, then POST(request, { params }).
    const url = await serve(async (request) => {
      const match = /^\/api\/cart\/([^/]+)$/.exec(new URL(request.url).pathname);
      if (!match || request.method !== 'POST') return new Response('not found', { status: 404 });
      return POST(request, { params: Promise.resolve({ sku: decodeURIComponent(match[1]!) }) });
    });
    const browser = new Browser(url);
    expect((await browser.send('/api/cart/tea', { headers: { ...write, 'idempotency-key': idemKey() } })).json()).toEqual({ cart: ['tea'] });
    const second = await browser.send('/api/cart/jam', { headers: { ...write, 'idempotency-key': idemKey() } });
    expect(second.json()).toEqual({ cart: ['tea', 'jam'] });
    expect(second.versions()).toEqual({ cart: 2 });
  });

  it('pass every argument through, in order and unchanged: Deno.serve (request, info), Bun.serve (request, server)', async () => {
    const validator = createValidator({ store: memoryStore() });
    const seen: unknown[][] = [];
    const handler = validator.route({ reads: ['cart'] }, (_request, session, ...rest: unknown[]) => {
      seen.push(rest);
      return Response.json({ cart: session.get('cart') ?? [], arguments: rest.length });
    });
    const bunServer = { upgrade: () => false };
    const url = await serve(async (request, incoming) => {
      const info = { remoteAddr: { transport: 'tcp', hostname: incoming.remoteAddress, port: 0 } };
      return new URL(request.url).pathname === '/deno' ? handler(request, info) : handler(request, bunServer, 'third');
    });
    const browser = new Browser(url);
    expect((await browser.send('/deno', { method: 'GET', headers: { 'session-read': '"cart"' } })).json()).toEqual({ cart: [], arguments: 1 });
    expect((await browser.send('/bun', { method: 'GET' })).json()).toEqual({ cart: [], arguments: 2 });
    expect(seen[0]).toEqual([{ remoteAddr: { transport: 'tcp', hostname: '127.0.0.1', port: 0 } }]);
    expect(seen[1]![0]).toBe(bunServer);
    expect(seen[1]![1]).toBe('third');
  });

  it("give sessionId(request, context) the platform's first extra argument", async () => {
    const contexts: unknown[] = [];
    const validator = createValidator({
      store: memoryStore(),
      sessionId: (_request, context: { user: string | null }) => (contexts.push(context), context.user),
    });
    const add = validator.route({ writes: ['cart'] }, async (request, session, _context: { user: string | null }) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
      return Response.json({ cart: session.get('cart') });
    });
    // The platform (here, an auth layer in front) names the user; each user is a session of its own.
    const url = await serve((request) => add(request, { user: request.headers.get('x-user') }));
    const as = (user: string, sku: string) => new Browser(url).send('/cart', { headers: { 'x-user': user, 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: sku });
    expect((await as('ada', 'tea')).json()).toEqual({ cart: ['tea'] });
    expect((await as('ada', 'jam')).json()).toEqual({ cart: ['tea', 'jam'] });
    expect((await as('bob', 'oat')).json()).toEqual({ cart: ['oat'] });
    expect(contexts).toEqual([{ user: 'ada' }, { user: 'ada' }, { user: 'bob' }]);
  });

  it('types a handler without extra parameters as a plain (request) handler, callable with more', () => {
    const validator = createValidator({ store: memoryStore() });
    const handler = validator.route({ reads: ['cart'] }, (_request, session) => Response.json(session.get('cart') ?? null));
    expectTypeOf(handler).toEqualTypeOf<(request: Request) => Promise<Response>>();
    // A platform that passes more (Next.js, Deno) may still be given it.
    const nextStyle: (request: Request, context: { params: Promise<object> }) => Promise<Response> = handler;
    expect(typeof nextStyle).toBe('function');
  });
});
