import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serializeKeyVersions } from '../../src/protocol/versions.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { countingStore } from '../support/counting-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

let server: TestServer;
let handlerRuns = 0;
const counting = countingStore(memoryStore());
const ODD_KEYS = ['Cart', 'my key', 'a,b', 'say "hi"', 'back\\slash', 'café', '日本', '🛒', '__proto__', 'constructor', ';v=1', '%"x"', 'a\u0001b', 'tab\there', '%01', '\u007f'];

beforeAll(async () => {
  const validator = createValidator({
    store: counting.store,
    keys: { prefs: z.object({ theme: z.enum(['light', 'dark']), size: z.number().int().min(8) }) },
  });
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    '/cart': validator.route({ reads: ['prefs'], writes: ['cart'] }, async (_request, session) => {
      handlerRuns++;
      session.set('cart', ['x']);
      return Response.json({ ok: true });
    }),
    '/view': validator.route({ reads: ['cart', 'prefs'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
    '/prefs': validator.route({ writes: ['prefs'] }, async (request, session) => {
      session.set('prefs', await request.json());
      return Response.json({ ok: true });
    }),
    '/sneaky': validator.route({ writes: ['cart'] }, async (_request, session) => {
      session.set('cart', ['x']);
      (session as unknown as { set(key: string, value: unknown): void }).set('admin', true);
      return Response.json({ ok: true });
    }),
    '/throws': validator.route({ writes: ['cart'] }, async (_request, session) => {
      session.set('cart', ['x']);
      throw new Error('boom');
    }),
    '/fails': validator.route({ writes: ['cart'] }, async (_request, session) => {
      session.set('cart', ['x']);
      return new Response('upstream down', { status: 502 });
    }),
    '/odd': validator.route({ writes: ODD_KEYS }, async (_request, session) => {
      for (const key of ODD_KEYS) session.set(key, `value of ${key}`);
      return Response.json({ ok: true });
    }),
    '/odd/read': validator.route({ reads: ODD_KEYS }, async (_request, session) => Response.json(Object.fromEntries(ODD_KEYS.map((key) => [key, session.get(key)])))),
  };
  server = await startServer(routes);
});
afterAll(() => server.close());

let browser: Browser;
beforeEach(async () => {
  browser = new Browser(server.url);
  expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } })).status).toBe(200);
  handlerRuns = 0;
  counting.reset();
});

async function expectInvalid(path: string, headers: Record<string, string>, header: string, detail?: RegExp) {
  const answer = await browser.send(path, { headers });
  expect(answer.status).toBe(400);
  const problem = answer.json();
  expect(problem.type).toBe('https://session-lanes.dev/problems/invalid-declaration');
  expect(problem.header).toBe(header);
  if (detail) expect(problem.detail).toMatch(detail);
  expect(handlerRuns).toBe(0);
  expect(counting.calls.commit).toBe(0);
}

describe('declarations', () => {
  const key = () => idemKey();
  it('refuses a key outside the route', () => expectInvalid('/cart', { 'session-write': '"cart"', 'session-read': '"secret"', 'idempotency-key': key() }, 'session-read', /not a key of this route/));
  it('refuses a key named twice', () => expectInvalid('/cart', { 'session-write': '"cart", "cart"', 'idempotency-key': key() }, 'session-write', /twice/));
  it('refuses a key both read and written', () => expectInvalid('/cart', { 'session-write': '"cart"', 'session-read': '"cart"', 'idempotency-key': key() }, 'session-read', /also declares/));
  it('refuses a write of a key the route only reads', () => expectInvalid('/cart', { 'session-write': '"cart", "prefs"', 'idempotency-key': key() }, 'session-write', /only reads/));
  it('refuses a member that is not a string', () => expectInvalid('/cart', { 'session-write': 'cart', 'idempotency-key': key() }, 'session-write', /not a string/));
  it('refuses an inner list', () => expectInvalid('/cart', { 'session-write': '("cart")', 'idempotency-key': key() }, 'session-write', /inner list/));
  it('refuses a key that begins with U+FEFF, which the header parser would read as another key', async () => {
    await expectInvalid('/cart', { 'session-write': '"cart"', 'session-read': '%"%ef%bb%bfprefs"', 'idempotency-key': key() }, 'session-read', /U\+FEFF/);
    expect(() => createValidator({ store: memoryStore() }).route({ writes: ['\uFEFFcart'] }, () => new Response())).toThrow(/U\+FEFF/);
  });
  it('refuses an unknown parameter', () => expectInvalid('/cart', { 'session-write': '"cart";w=1', 'idempotency-key': key() }, 'session-write', /unknown parameter/));
  it('refuses a negative or fractional version', async () => {
    await expectInvalid('/cart', { 'session-write': '"cart";v=-1', 'idempotency-key': key() }, 'session-write', /integer/);
    await expectInvalid('/cart', { 'session-write': '"cart";v=1.5', 'idempotency-key': key() }, 'session-write', /integer/);
    // The decimal 1.0 is not the integer 1, though a parser may give the same number for both.
    await expectInvalid('/cart', { 'session-write': '"cart";v=1.0', 'idempotency-key': key() }, 'session-write', /decimal/);
    await expectInvalid('/cart', { 'session-write': '"cart";v=1000000000000000', 'idempotency-key': key() }, 'session-write');
  });
  it('refuses a write without a well-formed Idempotency-Key', async () => {
    await expectInvalid('/cart', { 'session-write': '"cart"' }, 'idempotency-key', /needs an Idempotency-Key/);
    await expectInvalid('/cart', { 'session-write': '"cart"', 'idempotency-key': '"short"' }, 'idempotency-key', /16 to 255/);
    await expectInvalid('/cart', { 'session-write': '"cart"', 'idempotency-key': 'no-quotes-token-1234567890' }, 'idempotency-key', /quoted string/);
    await expectInvalid('/cart', { 'session-write': '"cart"', 'idempotency-key': `"${'x'.repeat(256)}"` }, 'idempotency-key', /not 256/);
  });
  it('answers 428 to a write route called without declaring all its written keys', async () => {
    const answer = await browser.send('/cart', { headers: { 'idempotency-key': idemKey() } });
    expect(answer.status).toBe(428);
    expect(answer.json()).toMatchObject({ type: 'https://session-lanes.dev/problems/declaration-required', keys: ['cart'] });
    expect(handlerRuns).toBe(0);
  });
});

describe('handler failures', () => {
  it('commits nothing when the handler throws or answers 5xx', async () => {
    const thrown = await browser.send('/throws', { headers: { 'session-write': '"cart";v=1', 'idempotency-key': idemKey() } });
    expect(thrown.status).toBe(500);
    expect(thrown.json().type).toBe('https://session-lanes.dev/problems/handler-failed');
    const failed = await browser.send('/fails', { headers: { 'session-write': '"cart";v=1', 'idempotency-key': idemKey() } });
    expect(failed.status).toBe(502);
    expect(failed.text).toBe('upstream down');
    expect(counting.calls.commit).toBe(0);
    expect(counting.calls.release).toBe(2);
  });

  it('commits nothing when the handler writes a key its route does not declare, and names the key', async () => {
    const answer = await browser.send('/sneaky', { headers: { 'session-write': '"cart";v=1', 'idempotency-key': idemKey() } });
    expect(answer.status).toBe(500);
    expect(answer.json()).toMatchObject({ type: 'https://session-lanes.dev/problems/undeclared-key', key: 'admin' });
    expect(counting.calls.commit).toBe(0);
  });

  it('answers 422 with the issue path when a value fails its schema, committing nothing', async () => {
    const answer = await browser.send('/prefs', { headers: { 'session-write': '"prefs";v=0', 'idempotency-key': idemKey() }, body: JSON.stringify({ theme: 'dark', size: 2 }) });
    expect(answer.status).toBe(422);
    const problem = answer.json();
    expect(problem).toMatchObject({ type: 'https://session-lanes.dev/problems/invalid-value', key: 'prefs' });
    expect(problem.issues).toEqual([expect.objectContaining({ path: ['size'] })]);
    expect(answer.versions()).toEqual({ prefs: 0 });
    expect(counting.calls.commit).toBe(0);
    const ok = await browser.send('/prefs', { headers: { 'session-write': '"prefs";v=0', 'idempotency-key': idemKey() }, body: JSON.stringify({ theme: 'dark', size: 12 }) });
    expect(ok.status).toBe(200);
  });
});

describe('key names', () => {
  it('round-trips any key name through the headers: case, spaces, commas, quotes, backslashes, non-ASCII', async () => {
    const declare = serializeKeyVersions(ODD_KEYS.map((name) => ({ key: name, version: 0 })));
    const written = await browser.send('/odd', { headers: { 'session-write': declare, 'idempotency-key': idemKey() } });
    expect(written.status).toBe(200);
    expect(written.versions()).toEqual(Object.fromEntries(ODD_KEYS.map((name) => [name, 1])));
    const read = await browser.send('/odd/read', { method: 'GET', headers: { 'session-read': serializeKeyVersions(ODD_KEYS.map((name) => ({ key: name }))) } });
    expect(read.versions()).toEqual(Object.fromEntries(ODD_KEYS.map((name) => [name, 1])));
    for (const name of ODD_KEYS) expect(Object.getOwnPropertyDescriptor(read.json(), name)?.value).toBe(`value of ${name}`);
  });
});
