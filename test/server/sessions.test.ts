import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore, REPLAYED_HEADER, type SessionStore } from '../../src/server/index.js';
import { countingStore, type StoreCalls } from '../support/counting-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

let server: TestServer;
let store: SessionStore;
let calls: StoreCalls;
let commits: number;
let clock: number;
let waiting: Array<() => void>;

beforeEach(async () => {
  const counting = countingStore(memoryStore());
  store = counting.store;
  calls = counting.calls;
  commits = 0;
  clock = Date.now();
  waiting = [];
  const validator = createValidator({ store, now: () => clock, leaseMs: 5_000 });
  server = await startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      const item = await request.text();
      if (item === 'slow') await new Promise<void>((resolve) => waiting.push(resolve));
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), item]);
      commits++;
      return Response.json({ cart: session.get('cart') }, { status: 201, headers: { 'x-handler': 'yes' } });
    }),
    '/logout': validator.route({ writes: ['cart'] }, async (_request, session) => {
      session.destroy();
      return new Response(null, { status: 204 });
    }),
    '/view': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null, epoch: session.epoch })),
  });
});

afterEach(async () => {
  for (const resolve of waiting) resolve();
  await server.close();
});

const addToCart = (browser: Browser, item: string, key = idemKey(), extra: Record<string, string> = {}) =>
  browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key, ...extra }, body: item });

describe('where sessions come from', () => {
  it('creates a session for a write without a cookie: Set-Cookie and a new Session-Epoch', async () => {
    const browser = new Browser(server.url);
    const answer = await addToCart(browser, 'apple');
    expect(answer.status).toBe(201);
    const setCookie = answer.response.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^sl_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const epoch = answer.epoch();
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(answer.versions()).toEqual({ cart: 1 });
    const view = await browser.send('/view', { method: 'GET' });
    expect(view.json()).toEqual({ cart: ['apple'], epoch });
    expect(view.epoch()).toBe(epoch);
  });

  it('serves a read-only request without a cookie as a visitor and creates nothing', async () => {
    const browser = new Browser(server.url);
    const view = await browser.send('/view', { method: 'GET', headers: { 'session-read': '"cart"' } });
    expect(view.status).toBe(200);
    expect(view.json()).toEqual({ cart: null, epoch: '' });
    expect(view.epoch()).toBe('');
    expect(view.versions()).toEqual({ cart: 0 });
    expect(view.response.headers.get('set-cookie')).toBeNull();
    expect(calls.begin + calls.commit).toBe(0);
  });

  it('answers 410 and clears the cookie for an unknown or destroyed session, creating nothing', async () => {
    const unknown = new Browser(server.url);
    unknown.cookie = `sl_session=${'A'.repeat(43)}`;
    const answer = await addToCart(unknown, 'apple');
    expect(answer.status).toBe(410);
    expect(answer.response.headers.get('set-cookie')).toMatch(/^sl_session=; Max-Age=0;/);
    expect(answer.epoch()).toBe('');
    expect(calls.commit).toBe(0);

    const browser = new Browser(server.url);
    await addToCart(browser, 'apple');
    const cookie = browser.cookie!;
    expect((await browser.send('/logout', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } })).status).toBe(204);
    commits = 0;
    const afterLogout = await browser.send('/cart', { headers: { cookie, 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'pear' });
    expect(afterLogout.status).toBe(410);
    expect(afterLogout.response.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(commits).toBe(0);
  });

  it('answers 410 to a request made for another epoch, leaving the cookie and the data alone', async () => {
    const browser = new Browser(server.url);
    const first = await addToCart(browser, 'apple');
    const wrong = await addToCart(browser, 'pear', idemKey(), { 'session-epoch': '"an-older-epoch"' });
    expect(wrong.status).toBe(410);
    expect(wrong.response.headers.get('set-cookie')).toBeNull();
    expect(wrong.epoch()).toBe(first.epoch());
    const right = await addToCart(browser, 'plum', idemKey(), { 'session-epoch': `"${first.epoch()}"` });
    expect(right.status).toBe(201);
    expect(right.json().cart).toEqual(['apple', 'plum']);
  });

  it('answers 410 to a request with a base above 0 or a Session-Epoch but no cookie', async () => {
    const browser = new Browser(server.url);
    expect((await browser.send('/cart', { headers: { 'session-write': '"cart";v=3', 'idempotency-key': idemKey() }, body: 'x' })).status).toBe(410);
    expect((await addToCart(browser, 'x', idemKey(), { 'session-epoch': '"e"' })).status).toBe(410);
    expect((await browser.send('/view', { method: 'GET', headers: { 'session-read': '"cart";v=2' } })).status).toBe(410);
    expect(browser.cookie).toBeNull();
    expect(calls.commit).toBe(0);
  });
});

describe('idempotency', () => {
  it('replays the first answer to a resend after a commit, applying nothing twice', async () => {
    const browser = new Browser(server.url);
    await addToCart(browser, 'apple');
    const key = idemKey();
    const first = await addToCart(browser, 'pear', key);
    const again = await addToCart(browser, 'pear', key);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.response.headers.get('x-handler')).toBe('yes');
    expect(again.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(again.versions()).toEqual(first.versions());
    expect(commits).toBe(2);
  });

  it('replays a session-creating request with the same cookie, with or without the cookie, creating one session', async () => {
    const key = idemKey();
    const browser = new Browser(server.url);
    const first = await addToCart(browser, 'apple', key);
    const cookie = browser.cookie;
    // The answer was lost: the resend comes without the cookie.
    const lost = new Browser(server.url);
    const resent = await addToCart(lost, 'apple', key);
    expect(resent.status).toBe(201);
    expect(resent.response.headers.get('set-cookie')).toBe(first.response.headers.get('set-cookie'));
    expect(lost.cookie).toBe(cookie);
    expect(resent.epoch()).toBe(first.epoch());
    // And with the cookie.
    expect((await addToCart(browser, 'apple', key)).text).toBe(first.text);
    expect(commits).toBe(1);
    expect((await lost.send('/view', { method: 'GET' })).json().cart).toEqual(['apple']);
  });

  it('answers 409 with Retry-After while the first attempt runs, and lets a dead attempt be taken over after its lease', async () => {
    const browser = new Browser(server.url);
    await addToCart(browser, 'apple');
    const key = idemKey();
    const slow = addToCart(browser, 'slow', key);
    const handlersWaiting = async (count: number) => {
      while (waiting.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await handlersWaiting(1);
    const during = await addToCart(browser, 'slow', key);
    expect(during.status).toBe(409);
    expect(Number(during.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(during.json().type).toBe('https://session-lanes.dev/problems/in-progress');
    // Suppose the first attempt's server died: once its lease ends, a resend takes the key over.
    clock += 5_001;
    const takeover = addToCart(browser, 'slow', key);
    await handlersWaiting(2);
    waiting[1]!();
    const takeoverAnswer = await takeover;
    expect(takeoverAnswer.status).toBe(201);
    // The "dead" attempt finishes after all: its commit is stale against the takeover's, so nothing applies twice.
    waiting[0]!();
    expect((await slow).status).toBe(412);
    expect((await addToCart(browser, 'slow', key)).text).toBe(takeoverAnswer.text);
    const view = await browser.send('/view', { method: 'GET' });
    expect(view.json().cart).toEqual(['apple', 'slow']);
  });

  it('answers 422 when the key comes back with another method, path, query or body', async () => {
    const browser = new Browser(server.url);
    await addToCart(browser, 'apple');
    const key = idemKey();
    expect((await addToCart(browser, 'pear', key)).status).toBe(201);
    const reused = await addToCart(browser, 'plum', key);
    expect(reused.status).toBe(422);
    expect(reused.json().type).toBe('https://session-lanes.dev/problems/idempotency-key-reused');
    const otherQuery = await browser.send('/cart?x=1', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: 'pear' });
    expect(otherQuery.status).toBe(422);
    const otherMethod = await browser.send('/cart', { method: 'PUT', headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: 'pear' });
    expect(otherMethod.status).toBe(422);
    expect(commits).toBe(2);
  });

  it('treats a resend that differs only in its session headers as the same request', async () => {
    const browser = new Browser(server.url);
    const created = await addToCart(browser, 'apple');
    const key = idemKey();
    const first = await addToCart(browser, 'pear', key, { 'session-epoch': `"${created.epoch()}"` });
    const fresher = await browser.send('/cart', { headers: { 'session-write': '"cart";v=2', 'idempotency-key': key }, body: 'pear' });
    expect(fresher.status).toBe(201);
    expect(fresher.text).toBe(first.text);
    expect(commits).toBe(2);
  });

  it('scopes records to their session: another browser with the same key makes its own request', async () => {
    const key = idemKey();
    const alice = new Browser(server.url);
    const bob = new Browser(server.url);
    await addToCart(alice, 'a');
    await addToCart(bob, 'b');
    expect((await addToCart(alice, 'same', key)).json().cart).toEqual(['a', 'same']);
    expect((await addToCart(bob, 'same', key)).json().cart).toEqual(['b', 'same']);
    expect(commits).toBe(4);
  });
});
