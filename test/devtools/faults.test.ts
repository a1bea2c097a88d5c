import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { readAnswer } from '../../src/client/answer.js';
import { armedFaults, armFault, devtoolsFetch, disarmFault } from '../../src/devtools/index.js';
import { factsOf, hub } from '../../src/devtools/hub.js';
import { problemSchema, staleProblemSchema } from '../../src/protocol/index.js';

// devtoolsFetch()'s simulated answers are answers of the protocol the client reads as the real ones (checked by
// the protocol's own schemas and the client's own answer reader), and only requests the page made are faulted:
// everything else goes through to a real HTTP server on 127.0.0.1. In a page, the panel notes the request ids
// (hub.ts); here the test does what the panel does.

let server: Server;
let base: string;
let reached = 0;

beforeAll(async () => {
  server = createServer((_request, response) => {
    reached++;
    response.writeHead(200, { 'content-type': 'application/json', 'session-epoch': '"e1"' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  for (const fault of [...armedFaults()]) disarmFault(fault.id);
  reached = 0;
});

let ids = 0;
/** A send as the client makes it, after its `sent` event: `madeHere` as the panel would have noted. */
function send(fetch: typeof globalThis.fetch, madeHere: boolean, path = '/api/cart/items', headers: Record<string, string> = { 'session-write': '"cart";v=3, "prefs"', 'session-read': '"user";v=1' }) {
  const id = ++ids;
  factsOf(id).madeHere = madeHere;
  hub.sending = id;
  return { id, call: fetch(`${base}${path}`, { method: 'POST', headers: { ...headers, 'idempotency-key': '"0123456789abcdef0123"' } }) };
}

test('a simulated 412 is a stale problem naming exactly the declared keys, which the client reads as a 412 that teaches it nothing', async () => {
  const fetch = devtoolsFetch();
  armFault({ path: '/api/cart/items' }, 412);
  const { id, call } = send(fetch, true);
  const response = await call;
  expect(response.status).toBe(412);
  const body = await response.clone().json();
  expect(staleProblemSchema.parse(body).keys).toEqual({ cart: { version: 3 }, prefs: { version: 0 }, user: { version: 1 } });
  const answer = await readAnswer(response);
  expect(answer).toMatchObject({ kind: 'stale', epoch: null, versions: null });
  expect(reached).toBe(0);
  expect(armedFaults()).toEqual([]);
  expect(factsOf(id)).toMatchObject({ simulated: [412], method: 'POST', idempotencyKey: '0123456789abcdef0123', url: `${base}/api/cart/items` });
});

test('503 with Retry-After: 1 (resent), 410 session-ended, offline a TypeError; by key, N times', async () => {
  const fetch = devtoolsFetch();
  armFault({ key: 'prefs' }, 503, 2);
  for (const _ of [1, 2]) {
    const response = await send(fetch, true).call;
    expect(problemSchema.parse(await response.clone().json()).type).toBe('https://session-lanes.dev/problems/store-unavailable');
    expect(await readAnswer(response)).toMatchObject({ kind: 'busy', reason: 'unavailable', retryAfter: 1000 });
  }
  expect((await send(fetch, true).call).status).toBe(200); // spent: the third goes through
  armFault({ key: 'cart' }, 410);
  expect(await readAnswer(await send(fetch, true).call)).toMatchObject({ kind: 'ended' });
  armFault({ path: '/api/cart/items' }, 'offline');
  await expect(send(fetch, true).call).rejects.toThrow(TypeError);
  expect(reached).toBe(1);
});

test('never faulted: a request the page did not make (an adopted outbox entry), another path or key, a call with no request id', async () => {
  const fetch = devtoolsFetch();
  armFault({ path: '/api/cart/items' }, 412, 10);
  armFault({ key: 'cart' }, 412, 10);
  expect((await send(fetch, false).call).status).toBe(200);
  expect((await send(fetch, true, '/api/other', { 'session-write': '"wishlist";v=1' }).call).status).toBe(200);
  expect((await fetch(`${base}/api/cart/items`, { method: 'POST' })).status).toBe(200);
  expect(reached).toBe(3);
  expect(armedFaults().map((fault) => fault.remaining)).toEqual([10, 10]);
});

test('armFault refuses what it cannot match', () => {
  expect(() => armFault({ path: 'api/cart' }, 412)).toThrow(new TypeError('armFault(): a path starts with "/"; a key is not empty'));
  expect(() => armFault({ key: '' }, 412)).toThrow(TypeError);
  expect(() => armFault({ key: 'cart' }, 412, 0)).toThrow(new TypeError('armFault(): count must be a positive integer'));
});
