import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { Browser, idemKey } from '../support/session-http.js';

/** The same two routes served by Node's http module and by Express 5, over real HTTP. */
function routes() {
  const validator = createValidator({ store: memoryStore() });
  return {
    add: validator.route({ writes: ['cart'] }, async (request, session) => {
      const { sku } = (await request.json()) as { sku: string };
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), sku]);
      return Response.json({ cart: session.get('cart') }, { status: 201 });
    }),
    view: validator.route({ reads: ['cart'] }, async (request, session) => Response.json({ cart: session.get('cart') ?? [], query: new URL(request.url).search })),
  };
}

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function exercise(baseUrl: string) {
  const browser = new Browser(baseUrl);
  const added = await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), 'content-type': 'application/json' }, body: JSON.stringify({ sku: 'tea' }) });
  expect(added.status).toBe(201);
  expect(added.response.headers.get('set-cookie')).toMatch(/^sl_session=/);
  expect(added.versions()).toEqual({ cart: 1 });
  const viewed = await browser.send('/cart/view?x=1', { method: 'GET', headers: { 'session-read': '"cart"' } });
  expect(viewed.json()).toEqual({ cart: ['tea'], query: '?x=1' });
  const bad = await browser.send('/cart', { headers: { 'session-write': 'cart', 'idempotency-key': idemKey() }, body: '{}' });
  expect(bad.status).toBe(400);
  expect(bad.response.headers.get('content-type')).toBe('application/problem+json');
}

describe('toNodeListener', () => {
  it("serves validator routes from Node's http module", async () => {
    const { add, view } = routes();
    const addListener = toNodeListener(add);
    const viewListener = toNodeListener(view);
    const url = await listen((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      if (path === '/cart') return void addListener(request, response);
      if (path === '/cart/view') return void viewListener(request, response);
      response.writeHead(404).end();
    });
    await exercise(url);
  });

  it('serves validator routes from Express 5', async () => {
    const { add, view } = routes();
    const app = express();
    app.post('/cart', toNodeListener(add));
    app.get('/cart/view', toNodeListener(view));
    await exercise(await listen(app));
  });
});
