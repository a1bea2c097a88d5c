/**
 * On the Node adapter's path a committed write's answer (and a replay) is held as bytes and written by the adapter;
 * an app's wrapper between toNodeListener and the validator still gets a Response it can read and change.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeListener, type FetchHandler } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

function addToCart() {
  const validator = createValidator({ store: memoryStore() });
  return validator.route({ writes: ['cart'] }, async (request, session) => {
    const { sku } = (await request.json()) as { sku: string };
    session.set('cart', [sku]);
    return Response.json({ cart: [sku] }, { status: 201 });
  });
}

async function serve(handler: FetchHandler): Promise<string> {
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const write = (url: string, key: string) =>
  fetch(`${url}/cart`, { method: 'POST', headers: { 'session-write': '"cart"', 'idempotency-key': `"${key}"`, 'content-type': 'application/json' }, body: '{"sku":"tea"}' });

describe('a held answer, through an app wrapper', () => {
  it('a header the wrapper sets on the answer is sent, on the first answer and on the replay', async () => {
    const route = addToCart();
    const url = await serve(async (request) => {
      const response = await route(request);
      expect(response).toBeInstanceOf(Response);
      response.headers.set('x-wrapped', String(response.status));
      return response;
    });
    const key = 'held-answer-key-000000000001';
    const first = await write(url, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('x-wrapped')).toBe('201');
    expect(first.headers.get('session-versions')).toBe('"cart";v=1');
    expect(await first.json()).toEqual({ cart: ['tea'] });
    const replay = await write(url, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('x-wrapped')).toBe('201');
    expect(await replay.json()).toEqual({ cart: ['tea'] });
  });

  it('a wrapper that reads the body and answers anew sends what it read', async () => {
    const route = addToCart();
    const url = await serve(async (request) => {
      const response = await route(request);
      const text = await response.text();
      return new Response(`wrapped ${text}`, { status: response.status, headers: response.headers });
    });
    const answer = await write(url, 'held-answer-key-000000000002');
    expect(answer.status).toBe(201);
    expect(answer.headers.get('set-cookie')).toMatch(/^sl_session=/);
    expect(await answer.text()).toBe('wrapped {"cart":["tea"]}');
  });

  it('a wrapper that passes the body stream on sends it whole', async () => {
    const route = addToCart();
    const url = await serve(async (request) => {
      const response = await route(request);
      return new Response(response.body, response);
    });
    const answer = await write(url, 'held-answer-key-000000000003');
    expect(answer.status).toBe(201);
    expect(await answer.json()).toEqual({ cart: ['tea'] });
  });
});
