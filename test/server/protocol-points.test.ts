import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey, type Answer } from '../support/session-http.js';

/**
 * The points PROTOCOL.md settles where an independent implementation had to
 * guess (issue 15): each as the reference server answers it, over real HTTP.
 */

const PROBLEMS = 'https://session-lanes.dev/problems/';
let server: TestServer;
let clock: number;
let slow: ReturnType<typeof gate>;
let slowReached: ReturnType<typeof gate>;

beforeEach(async () => {
  clock = Date.now();
  slow = gate();
  slowReached = gate();
  const validator = createValidator({
    store: memoryStore(),
    now: () => clock,
    maxBodyBytes: 64,
    retryAfterSeconds: 5,
    keys: { size: z.number().min(8) },
    onEvent: () => {}, // the export's failure is meant
  });
  server = await startServer({
    '/cart': validator.route({ reads: ['prefs'], writes: ['cart'] }, async (request, session) => {
      const item = await request.text();
      if (request.headers.get('x-slow')) {
        slowReached.open();
        await slow.opened;
      }
      if (item !== 'nothing') session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), item]);
      return Response.json({ cart: session.get('cart') ?? [] });
    }),
    '/object': validator.route({ writes: ['object'] }, async (request, session) => {
      session.set('object', await request.json());
      return Response.json({});
    }),
    '/size': validator.route({ writes: ['size'] }, async (request, session) => {
      session.set('size', Number(await request.text()));
      return Response.json({});
    }),
    '/export': validator.route({ writes: ['cart'] }, async (_request, session) => {
      session.set('cart', ['exported']);
      await session.commit();
      slowReached.open();
      await slow.opened;
      throw new Error('the export failed after its first commit');
    }),
    '/logout': validator.route({ writes: ['cart'] }, (_request, session) => (session.destroy(), Response.json({ bye: true }))),
    '/view': validator.route({ reads: ['cart'] }, (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
  });
});
afterEach(async () => {
  slow.open();
  await server.close();
});

const write = (browser: Browser, path: string, body: string, headers: Record<string, string> = {}) =>
  browser.send(path, { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), ...headers }, body });
const header = (answer: Answer, name: string) => answer.response.headers.get(name);

async function loggedIn(): Promise<{ browser: Browser; epoch: string }> {
  const browser = new Browser(server.url);
  const first = await write(browser, '/cart', 'apple');
  expect(first.status).toBe(200);
  return { browser, epoch: first.epoch()! };
}

describe('400: which header a fault is charged to, and in what order the checks run', () => {
  it('a key in both Session-Read and Session-Write is charged to session-read (1)', async () => {
    const answer = await write(new Browser(server.url), '/cart', 'x', { 'session-read': '"cart";v=0', 'session-write': '"cart";v=0' });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ type: `${PROBLEMS}invalid-declaration`, header: 'session-read' });
  });

  it('400 for the session headers, then 428, then 400 for Idempotency-Key, then 413; all before the cookie is looked at (11)', async () => {
    const big = 'x'.repeat(65);
    const browser = new Browser(server.url);
    browser.cookie = 'sl_session=not-a-session-of-ours';
    const send = (headers: Record<string, string>) => browser.send('/cart', { headers, body: big });
    const all = await send({ 'session-write': 'cart', 'idempotency-key': 'short' });
    expect([all.status, all.json().header]).toEqual([400, 'session-write']);
    const undeclared = await send({ 'session-read': '"prefs"', 'idempotency-key': 'short' });
    expect([undeclared.status, undeclared.json().keys]).toEqual([428, ['cart']]);
    const badKey = await send({ 'session-write': '"cart"', 'idempotency-key': '"short"' });
    expect([badKey.status, badKey.json().header]).toEqual([400, 'idempotency-key']);
    const tooLarge = await send({ 'session-write': '"cart"', 'idempotency-key': idemKey() });
    expect(tooLarge.status).toBe(413);
    // None of them read the session: no session headers, and the bad cookie is left for the 410 that comes once the request is well-formed.
    for (const answer of [all, undeclared, badKey, tooLarge]) {
      expect([header(answer, 'session-epoch'), header(answer, 'session-versions'), header(answer, 'set-cookie')]).toEqual([null, null, null]);
    }
  });

  it('a duplicate v parameter: the last one counts, as RFC 8941 parses it (10)', async () => {
    const { browser } = await loggedIn(); // cart at v=1
    const lastIsZero = await write(browser, '/cart', 'x', { 'session-write': '"cart";v=1;v=0' });
    expect(lastIsZero.status).toBe(412);
    const lastIsOne = await write(browser, '/cart', 'y', { 'session-write': '"cart";v=0;v=1' });
    expect(lastIsOne.status).toBe(200);
    expect(lastIsOne.versions()).toEqual({ cart: 2 });
  });
});

describe('Session-Versions: which answers carry it', () => {
  it('a creating request that changes nothing: every declared key at 0, epoch "", no cookie (3)', async () => {
    const answer = await write(new Browser(server.url), '/cart', 'nothing', { 'session-read': '"prefs"' });
    expect(answer.status).toBe(200);
    expect(header(answer, 'session-versions')).toBe('"prefs";v=0, "cart";v=0');
    expect(answer.epoch()).toBe('');
    expect(header(answer, 'set-cookie')).toBeNull();
  });

  it('409 and both 422s carry the versions read, with the epoch (3)', async () => {
    const { browser, epoch } = await loggedIn();
    const key = idemKey();
    const first = write(browser, '/cart', 'pear', { 'x-slow': '1', 'idempotency-key': key });
    await slowReached.opened;
    const inProgress = await write(browser, '/cart', 'pear', { 'x-slow': '1', 'idempotency-key': key });
    const reused = await write(browser, '/cart', 'plum', { 'idempotency-key': key });
    slow.open();
    await first;
    const invalid = await browser.send('/size', { headers: { 'session-write': '"size"', 'idempotency-key': idemKey() }, body: '3' });
    expect([inProgress.status, reused.status, invalid.status]).toEqual([409, 422, 422]);
    expect([inProgress.versions(), reused.versions(), invalid.versions()]).toEqual([{ cart: 1 }, { cart: 1 }, { size: 0 }]);
    for (const answer of [inProgress, reused, invalid]) expect(answer.epoch()).toBe(epoch);
  });

  it('left out when the request declares nothing: declarations are optional on a read-only route (3, 11)', async () => {
    const { browser, epoch } = await loggedIn();
    const view = await browser.send('/view', { method: 'GET' });
    expect(view.status).toBe(200);
    expect(view.json()).toEqual({ cart: ['apple'] });
    expect(header(view, 'session-versions')).toBeNull();
    expect(view.epoch()).toBe(epoch);
  });

  it("a logout's answer: every declared key at 0, Session-Epoch \"\", no Set-Cookie (4)", async () => {
    const { browser } = await loggedIn();
    const logout = await write(browser, '/logout', '');
    expect(logout.status).toBe(200);
    expect(header(logout, 'session-versions')).toBe('"cart";v=0');
    expect(logout.epoch()).toBe('');
    // The browser's other tabs may have made the next session by the time it arrives: the next request's 410 clears the dead cookie.
    expect(header(logout, 'set-cookie')).toBeNull();
  });
});

describe('410s and cookies', () => {
  // An answer that cleared the cookie could arrive after the browser got a new session's cookie, of the same name, and
  // drop it (test/client/http-late-410.test.ts is that case, end to end).
  it('a 410 found at commit time (a logout during a slow write) clears no cookie, and has no Session-Versions (2)', async () => {
    const { browser } = await loggedIn();
    const cookie = browser.cookie;
    const slowWrite = write(browser, '/cart', 'pear', { 'x-slow': '1' });
    await slowReached.opened;
    const other = new Browser(server.url);
    other.cookie = cookie;
    const logout = await write(other, '/logout', '');
    expect(logout.status).toBe(200);
    slow.open();
    const answer = await slowWrite;
    expect(answer.status).toBe(410);
    expect(header(answer, 'set-cookie')).toBeNull();
    expect(answer.epoch()).toBe('');
    expect(header(answer, 'session-versions')).toBeNull();
  });

  it('a cookie of an ended session: 410, cleared only for a request that names no Session-Epoch (2)', async () => {
    const { browser, epoch } = await loggedIn();
    const cookie = browser.cookie;
    expect((await write(browser, '/logout', '', { 'session-epoch': `"${epoch}"` })).status).toBe(200);
    const late = new Browser(server.url);
    late.cookie = cookie;
    // Made for the session (its epoch named): whatever ended it told the browser; the browser may hold a newer cookie by now.
    const madeForIt = [await write(late, '/cart', 'x', { 'session-epoch': `"${epoch}"` }), await late.send('/view', { method: 'GET', headers: { 'session-epoch': `"${epoch}"` } })];
    for (const answer of madeForIt) {
      expect(answer.status).toBe(410);
      expect(header(answer, 'set-cookie')).toBeNull();
      expect(answer.epoch()).toBe('');
    }
    // Knowing no epoch: the client's first request since it learned of the end, whose 410 clears, so that the next write starts afresh.
    for (const send of [(b: Browser) => b.send('/view', { method: 'GET' }), (b: Browser) => write(b, '/cart', 'x')]) {
      const fresh = new Browser(server.url);
      fresh.cookie = cookie;
      const answer = await send(fresh);
      expect(answer.status).toBe(410);
      expect(header(answer, 'set-cookie')).toMatch(/^sl_session=; .*Max-Age=0/);
      expect(fresh.cookie).toBeNull();
      expect((await write(fresh, '/cart', 'y')).status).toBe(200);
    }
  });

  it('a malformed session cookie is 410 and cleared, for reads and writes (5)', async () => {
    for (const send of [(b: Browser) => b.send('/view', { method: 'GET' }), (b: Browser) => write(b, '/cart', 'x')]) {
      const browser = new Browser(server.url);
      browser.cookie = 'sl_session=not-43-base64url-characters';
      const answer = await send(browser);
      expect(answer.status).toBe(410);
      expect(header(answer, 'set-cookie')).toMatch(/^sl_session=; .*Max-Age=0/);
      expect(answer.epoch()).toBe('');
    }
  });

  it('Session-Epoch: "" (which a client never sends) is 410, as an epoch that names no live session (6)', async () => {
    const visitor = await new Browser(server.url).send('/view', { method: 'GET', headers: { 'session-epoch': '""' } });
    const creating = await write(new Browser(server.url), '/cart', 'x', { 'session-epoch': '""' });
    const { browser, epoch } = await loggedIn();
    const live = await write(browser, '/cart', 'x', { 'session-epoch': '""' });
    expect([visitor.status, creating.status, live.status]).toEqual([410, 410, 410]);
    expect(live.epoch()).toBe(epoch); // the live session is named, and left alone
    expect((await browser.send('/view', { method: 'GET' })).json()).toEqual({ cart: ['apple'] });
  });
});

describe('idempotency details (11)', () => {
  it("409's Retry-After: retryAfterSeconds, never past the lease's end rounded up, and at least 1 s", async () => {
    const { browser } = await loggedIn();
    const key = idemKey();
    const first = write(browser, '/cart', 'pear', { 'x-slow': '1', 'idempotency-key': key });
    await slowReached.opened;
    const resend = () => write(browser, '/cart', 'pear', { 'x-slow': '1', 'idempotency-key': key });
    const retryAfter = async () => header(await resend(), 'retry-after');
    expect(await retryAfter()).toBe('5');
    clock += 60_000 - 2_500; // 2.5 s of lease left
    expect(await retryAfter()).toBe('3');
    clock += 2_200; // 0.3 s left
    expect(await retryAfter()).toBe('1');
    slow.open();
    await first;
  });

  it('a partial record whose lease ended replays its 500 partly-committed with Idempotent-Replayed', async () => {
    const { browser } = await loggedIn();
    const key = idemKey();
    const exporting = write(browser, '/export', '', { 'idempotency-key': key });
    await slowReached.opened; // its first commit applied; then its server "dies" (the handler hangs)
    clock += 60_001;
    const replay = await write(browser, '/export', '', { 'idempotency-key': key });
    expect(replay.status).toBe(500);
    expect(replay.json().type).toBe(`${PROBLEMS}partly-committed`);
    expect(header(replay, 'idempotent-replayed')).toBe('true');
    slow.open();
    await exporting;
  });

  it('the fingerprint takes path and query as the URL parser normalises them: an empty query is none, percent-escapes are kept', async () => {
    const { browser } = await loggedIn();
    const key = idemKey();
    const at = (path: string) => write(browser, path, 'pear', { 'idempotency-key': key });
    expect((await at('/cart?q=%41')).status).toBe(200);
    expect((await at('/cart?q=A')).status).toBe(422);
    const other = idemKey();
    expect((await write(browser, '/cart?', 'fig', { 'idempotency-key': other })).status).toBe(200);
    const same = await write(browser, '/cart', 'fig', { 'idempotency-key': other });
    expect(header(same, 'idempotent-replayed')).toBe('true');
  });

  it('a value equal as canonical JSON (key order, 1.0 and 1, -0 and 0) is no change: the version stays', async () => {
    const browser = new Browser(server.url);
    const send = (body: string) => browser.send('/object', { headers: { 'session-write': '"object"', 'idempotency-key': idemKey() }, body });
    expect((await send('{"b":1,"a":[0,"\\u00e9"]}')).versions()).toEqual({ object: 1 });
    expect((await send('{"a":[-0,"é"],"b":1.0}')).versions()).toEqual({ object: 1 });
    expect((await send('{"a":[0,"é"],"b":1.5}')).versions()).toEqual({ object: 2 });
  });
});
