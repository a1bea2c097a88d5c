import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { routesMiddleware, sessionLanes } from '../../src/server/adapters/vite.js';
import { createValidator, memoryStore } from '../../src/server/index.js';

// A real Vite dev server per test, on a free port, with the plugin mounted.
let root: string;
let vite: ViteDevServer | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'session-lanes-vite-'));
});

afterEach(async () => {
  await vite?.close();
  vite = undefined;
  await rm(root, { recursive: true, force: true });
});

async function serve(plugin: ReturnType<typeof sessionLanes>): Promise<string> {
  vite = await createServer({ configFile: false, root, logLevel: 'silent', plugins: [plugin], server: { port: 0, host: '127.0.0.1', watch: null } });
  await vite.listen();
  const address = vite.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

describe('sessionLanes() Vite plugin', () => {
  test('serves each "METHOD /path" route, whatever the query, and streams the body both ways', async () => {
    const base = await serve(
      sessionLanes({
        routes: {
          'POST /api/echo': async (request) => Response.json({ body: await request.text(), query: new URL(request.url).search }, { status: 201, headers: { 'x-echo': '1' } }),
        },
      }),
    );
    const response = await fetch(`${base}/api/echo?a=1`, { method: 'POST', body: 'hello' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('1');
    expect(await response.json()).toEqual({ body: 'hello', query: '?a=1' });
  });

  test('a request that matches no route goes on to Vite: another method, another path', async () => {
    const base = await serve(sessionLanes({ routes: { 'POST /api/echo': () => new Response('mine') } }));
    expect(await (await fetch(`${base}/api/echo`, { method: 'POST' })).text()).toBe('mine');
    for (const [method, path] of [['GET', '/api/echo'], ['POST', '/api/echo/more'], ['POST', '/api']] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(await response.text(), `${method} ${path}`).not.toBe('mine');
    }
  });

  test('mounts validator routes: the session cookie and headers pass through', async () => {
    const validator = createValidator({ store: memoryStore() });
    const base = await serve(
      sessionLanes({
        routes: {
          'POST /api/cart': validator.route({ writes: ['cart'] }, (_request, session) => {
            session.set('cart', ['tea']);
            return Response.json({ ok: true });
          }),
        },
      }),
    );
    const response = await fetch(`${base}/api/cart`, {
      method: 'POST',
      headers: { 'session-write': '"cart"', 'idempotency-key': '"0123456789abcdef0123456789"' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('session-versions')).toBe('"cart";v=1');
    expect(response.headers.get('set-cookie')).toMatch(/^sl_session=/);
  });

  test('a handler that throws reaches Vite\'s error handling as a 500', async () => {
    const base = await serve(
      sessionLanes({
        routes: {
          'GET /api/boom': () => {
            throw new Error('boom');
          },
        },
      }),
    );
    expect((await fetch(`${base}/api/boom`)).status).toBe(500);
  });
});

describe('routesMiddleware()', () => {
  test('refuses a route key that is not "METHOD /path", with the key in the message', () => {
    expect(() => routesMiddleware({ '/api/cart': () => new Response() })).toThrow(new TypeError('Expected a route like "POST /api/cart", got "/api/cart"'));
    expect(() => routesMiddleware({ 'post /api/cart': () => new Response() })).toThrow(TypeError);
  });
});
