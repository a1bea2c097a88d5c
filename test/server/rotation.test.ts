import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createValidator, REPLAYED_HEADER, type SessionStore } from '../../src/server/index.js';
import { describeEachStore } from '../support/each-store.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Answer, Browser, idemKey } from '../support/session-http.js';

const SECRET = 'rotation-test-secret-of-at-least-32-bytes';

/**
 * Login rotation, tombstones and logout over real HTTP, on every store.
 * Each attack is performed as written in issue 10, then shown to fail.
 */
describeEachStore('login rotation and logout', (kind) => {
  let store: SessionStore;
  let server: TestServer;
  let clock: number;
  let slow: { started: ReturnType<typeof gate>; release: ReturnType<typeof gate> } | null;
  let events: unknown[];

  beforeEach(async () => {
    store = kind.open();
    clock = Date.now();
    slow = null;
    events = [];
    const validator = createValidator({ store, secret: SECRET, now: () => clock, onEvent: (event) => events.push(event) });
    server = await startServer({
      '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
        const item = await request.text();
        const cart = (session.get('cart') as string[] | undefined) ?? [];
        if (item === 'slow' && slow) {
          slow.started.open();
          await slow.release.opened;
        }
        session.set('cart', [...cart, item]);
        return Response.json({ cart: session.get('cart') });
      }),
      '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
        const { user, keepKeys = true, rotateFirst = false } = await request.json();
        if (rotateFirst) session.rotate({ keepKeys });
        session.set('user', user);
        if (!rotateFirst) session.rotate({ keepKeys });
        return Response.json({ welcome: user });
      }),
      // A login that carries some keys from before by name (issue 20 §7): they must be keys of the route.
      '/login-carrying': validator.route({ writes: ['user'], reads: ['cart', 'returnTo'], rotates: true }, async (request, session) => {
        const { user, keepKeys } = await request.json();
        session.set('user', user);
        session.rotate({ keepKeys });
        return Response.json({ welcome: user });
      }),
      '/return-to': validator.route({ writes: ['returnTo'] }, async (request, session) => {
        session.set('returnTo', await request.text());
        return Response.json({});
      }),
      '/me-all': validator.route({ reads: ['user', 'cart', 'returnTo'] }, (_request, session) =>
        Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null, returnTo: session.get('returnTo') ?? null }),
      ),
      // The login of the old code: no rotation. The fixation attack below succeeds against it.
      '/login-without-rotation': validator.route({ writes: ['user'] }, async (request, session) => {
        session.set('user', (await request.json()).user);
        return Response.json({ ok: true });
      }),
      '/rotate-undeclared': validator.route({ writes: ['user'] }, async (_request, session) => {
        session.rotate();
        return Response.json({ ok: true });
      }),
      '/logout': validator.route({ ends: true }, async (_request, session) => {
        session.destroy();
        return new Response(null, { status: 204 });
      }),
      '/me': validator.route({ reads: ['user', 'cart'] }, async (_request, session) => Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null })),
    });
  });

  afterEach(async () => {
    slow?.release.open();
    await server.close();
    await store.close();
  });
  afterAll(() => kind.cleanup());

  const addToCart = (browser: Browser, item: string, key = idemKey()) => browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: item });
  const login = (browser: Browser, user: string, key = idemKey(), path = '/login', keepKeys = true) =>
    browser.send(path, { headers: { 'session-write': '"user"', 'idempotency-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ user, keepKeys }) });
  const me = (browser: Browser) => browser.send('/me', { method: 'GET', headers: { 'session-read': '"user", "cart"' } });
  const logout = (browser: Browser, key = idemKey()) => browser.send('/logout', { headers: { 'idempotency-key': key } });

  /** The attacker gets a session of their own with one anonymous write, and plants its cookie in the victim's browser. */
  async function plantedCookie(): Promise<{ attacker: Browser; victim: Browser }> {
    const attacker = new Browser(server.url);
    expect((await addToCart(attacker, 'bait')).status).toBe(200);
    const victim = new Browser(server.url);
    victim.cookie = attacker.cookie;
    return { attacker, victim };
  }

  const setCookies = (answer: Answer) => answer.response.headers.getSetCookie();

  it('the fixation attack works against a login that does not rotate (the old code)', async () => {
    const { attacker, victim } = await plantedCookie();
    expect((await login(victim, 'victim', idemKey(), '/login-without-rotation')).status).toBe(200);
    expect((await me(attacker)).json().user).toBe('victim');
  });

  it('fixation fails: after a rotating login the planted cookie gets 410, sets no cookie, and never sees the victim', async () => {
    const { attacker, victim } = await plantedCookie();
    const planted = attacker.cookie;
    const before = await me(victim);
    const answer = await login(victim, 'victim');
    expect(answer.status).toBe(200);
    expect(victim.cookie).not.toBe(planted);
    expect(victim.cookie).toMatch(/^sl_session=[A-Za-z0-9_-]{43}$/);
    expect(answer.epoch()).not.toBe(before.epoch());
    expect(answer.response.headers.get('session-rotated')).toBe(`"${before.epoch()}"`);
    expect(answer.versions()).toEqual({ user: 1 });

    for (const attempt of [await me(attacker), await addToCart(attacker, 'steal'), await login(attacker, 'attacker')]) {
      expect(attempt.status).toBe(410);
      expect(attempt.json().type).toBe('https://session-lanes.dev/problems/session-ended');
      expect(attempt.text).not.toContain('victim');
      expect(setCookies(attempt)).toEqual([]);
      expect(attempt.epoch()).toBe('');
    }
    expect(attacker.cookie).toBe(planted);
    // The victim's session kept its keys (and their versions), and nothing the attacker tried landed in it.
    const mine = await me(victim);
    expect(mine.json()).toEqual({ user: 'victim', cart: ['bait'] });
    expect(mine.versions()).toEqual({ user: 1, cart: 1 });
  });

  it('a login without any cookie creates the session already rotated; its resend without the cookie replays it', async () => {
    const browser = new Browser(server.url);
    const key = idemKey();
    const first = await login(browser, 'ada', key);
    expect(first.status).toBe(200);
    const cookie = browser.cookie;
    browser.cookie = null;
    const resend = await login(browser, 'ada', key);
    expect(resend.status).toBe(200);
    expect(resend.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(browser.cookie).toBe(cookie);
    expect((await me(browser)).json().user).toBe('ada');
  });

  it("the rotating request's resend with the old cookie replays the login answer, new cookie included, within the replay window", async () => {
    const { victim } = await plantedCookie();
    const old = victim.cookie;
    const key = idemKey();
    const first = await login(victim, 'victim', key);
    const rotated = victim.cookie;
    // The answer was lost: the browser still holds the old cookie and resends.
    victim.cookie = old;
    clock += 119_000;
    const resend = await login(victim, 'victim', key);
    expect(resend.status).toBe(200);
    expect(resend.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(resend.epoch()).toBe(first.epoch());
    expect(victim.cookie).toBe(rotated);

    // Past the window, the same resend is a 410 that sets no new cookie; it names no epoch, so it clears the
    // tombstone's (issue 20 §6: no answer of the login can set the new one any more).
    victim.cookie = old;
    clock += 2_000;
    const late = await login(victim, 'victim', key);
    expect(late.status).toBe(410);
    expect(setCookies(late)).toEqual([expect.stringMatching(/^sl_session=; Max-Age=0; /)]);
  });

  it("a tombstone's 410 clears the cookie only past the replay window, and only for a request that names no epoch (reads and writes alike)", async () => {
    const { victim } = await plantedCookie();
    const old = victim.cookie!;
    const before = await me(victim);
    expect((await login(victim, 'victim')).status).toBe(200);
    const probe = (path: string, epoch?: string) =>
      fetch(server.url + path, {
        method: path === '/me' ? 'GET' : 'POST',
        headers: {
          cookie: old,
          ...(path === '/me' ? { 'session-read': '"user", "cart"' } : { 'session-write': '"cart"', 'idempotency-key': idemKey() }),
          ...(epoch ? { 'session-epoch': `"${epoch}"` } : {}),
        },
        ...(path === '/me' ? {} : { body: 'x' }),
      });
    clock += 119_000;
    for (const path of ['/me', '/cart']) {
      const within = await probe(path);
      expect(within.status, path).toBe(410);
      expect(within.headers.getSetCookie(), path).toEqual([]);
    }
    clock += 2_000;
    for (const path of ['/me', '/cart']) {
      const named = await probe(path, before.epoch()!);
      expect(named.status, path).toBe(410);
      expect(named.headers.getSetCookie(), path).toEqual([]);
      const unnamed = await probe(path);
      expect(unnamed.status, path).toBe(410);
      expect(unnamed.headers.getSetCookie(), path).toEqual(['sl_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax']);
    }
  });

  it("the replay of the rotating answer stops once the new session's epoch ends (logout)", async () => {
    const { victim } = await plantedCookie();
    const old = victim.cookie;
    const key = idemKey();
    await login(victim, 'victim', key);
    expect((await logout(victim)).status).toBe(204);
    victim.cookie = old;
    const resend = await login(victim, 'victim', key);
    expect(resend.status).toBe(410);
    expect(setCookies(resend)).toEqual([]);
  });

  it('keeps idempotency records: a write made before the login, resent after it with the new cookie, replays', async () => {
    const { victim } = await plantedCookie();
    const key = idemKey();
    const written = await addToCart(victim, 'milk', key);
    await login(victim, 'victim');
    const resend = await addToCart(victim, 'milk', key);
    expect(resend.status).toBe(200);
    expect(resend.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(resend.json()).toEqual(written.json());
    expect((await me(victim)).json().cart).toEqual(['bait', 'milk']);
  });

  // Issue 20 §6: before the fix the login's own `user` was dropped too (the user looked logged in and was not).
  for (const rotateFirst of [false, true]) {
    it(`rotate({ keepKeys: false }) drops the keys from before, never what the login sets (rotate() called ${rotateFirst ? 'before' : 'after'} set())`, async () => {
      const { victim } = await plantedCookie();
      const before = await me(victim);
      const answer = await victim.send('/login', {
        headers: { 'session-write': '"user"', 'idempotency-key': idemKey(), 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'victim', keepKeys: false, rotateFirst }),
      });
      expect(answer.status).toBe(200);
      expect(answer.response.headers.get('session-rotated')).toBe(`"${before.epoch()}";keys=?0`);
      expect(answer.versions()).toEqual({ user: 1 });
      const mine = await me(victim);
      expect(mine.json()).toEqual({ user: 'victim', cart: null });
      expect(mine.versions()).toEqual({ user: 1, cart: 0 });
    });
  }

  it("rotate({ keepKeys: false }) over a session that held the key already: the login's value, at the next version", async () => {
    const { victim } = await plantedCookie();
    expect((await login(victim, 'attacker')).status).toBe(200);
    const answer = await login(victim, 'victim', idemKey(), '/login', false);
    expect(answer.versions()).toEqual({ user: 2 });
    const mine = await me(victim);
    expect(mine.json()).toEqual({ user: 'victim', cart: null });
    expect(mine.versions()).toEqual({ user: 2, cart: 0 });
  });

  it("rotate({ keepKeys: ['cart'] }) carries the cart and drops the planted returnTo; Session-Versions name the kept keys", async () => {
    const { attacker, victim } = await plantedCookie();
    expect((await attacker.send('/return-to', { headers: { 'session-write': '"returnTo"', 'idempotency-key': idemKey() }, body: 'https://evil.example/' })).status).toBe(200);
    const before = await me(victim);
    const answer = await victim.send('/login-carrying', {
      headers: { 'session-write': '"user"', 'idempotency-key': idemKey(), 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'victim', keepKeys: ['cart'] }),
    });
    expect(answer.status).toBe(200);
    expect(answer.response.headers.get('session-rotated')).toBe(`"${before.epoch()}";keys=?0`);
    // Declared: user only; the kept cart is named too, at the version it moved with.
    expect(answer.versions()).toEqual({ user: 1, cart: 1 });
    const mine = await victim.send('/me-all', { method: 'GET', headers: { 'session-read': '"user", "cart", "returnTo"' } });
    expect(mine.json()).toEqual({ user: 'victim', cart: ['bait'], returnTo: null });
    expect(mine.versions()).toEqual({ user: 1, cart: 1, returnTo: 0 });
  });

  it('rotate({ keepKeys: [...] }) refuses a key its route does not declare, and anything but a list of names', async () => {
    const { victim } = await plantedCookie();
    for (const [keepKeys, type] of [
      [['secret'], 'undeclared-key'],
      [['cart', 1], 'handler-failed'],
      ['cart', 'handler-failed'],
    ] as const) {
      const answer = await victim.send('/login-carrying', {
        headers: { 'session-write': '"user"', 'idempotency-key': idemKey(), 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'victim', keepKeys }),
      });
      expect(answer.status, JSON.stringify(keepKeys)).toBe(500);
      expect(answer.json().type).toBe(`https://session-lanes.dev/problems/${type}`);
    }
    // Nothing rotated: the session serves on under its cookie.
    expect((await me(victim)).json().cart).toEqual(['bait']);
  });

  it('a write whose round trip 1 came before the rotation and whose commit came after gets 410 and lands in neither id', async () => {
    const { attacker, victim } = await plantedCookie();
    slow = { started: gate(), release: gate() };
    const straddling = addToCart(victim, 'slow');
    await slow.started.opened;
    const old = victim.cookie;
    expect((await login(victim, 'victim')).status).toBe(200);
    const rotated = victim.cookie;
    slow.release.open();
    const late = await straddling;
    expect(late.status).toBe(410);
    expect(setCookies(late)).toEqual([]);
    victim.cookie = rotated;
    expect((await me(victim)).json().cart).toEqual(['bait']);
    attacker.cookie = old;
    expect((await me(attacker)).status).toBe(410);
  });

  it('rotate() in a route not declared `rotates: true` fails with a message that says what to declare', async () => {
    const { victim } = await plantedCookie();
    const answer = await victim.send('/rotate-undeclared', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } });
    expect(answer.status).toBe(500);
    expect(String((events.find((event: any) => event.type === 'handler-error') as any)?.error)).toContain('declare the route `rotates: true`');
  });

  it('a cross-site form cannot log the user out: an `ends` route needs an Idempotency-Key before its handler runs', async () => {
    const { victim } = await plantedCookie();
    // What a form on another site sends: a simple POST with the user's cookie, no custom headers.
    const forged = await victim.send('/logout', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    expect(forged.status).toBe(400);
    expect(forged.json().header).toBe('idempotency-key');
    expect((await me(victim)).json().cart).toEqual(['bait']);
  });

  it('logout: an `ends` route destroys the session without a key list, clears no cookie (the next request\'s 410 does), and its resend replays', async () => {
    const { victim } = await plantedCookie();
    const cookie = victim.cookie;
    const key = idemKey();
    const answer = await logout(victim, key);
    expect(answer.status).toBe(204);
    expect(answer.epoch()).toBe('');
    expect(setCookies(answer)).toEqual([]);
    expect(victim.cookie).toBe(cookie);
    const resend = await logout(victim, key);
    expect(resend.status).toBe(204);
    expect(resend.response.headers.get(REPLAYED_HEADER)).toBe('true');
    const next = await me(victim);
    expect(next.status).toBe(410);
    expect(setCookies(next)[0]).toMatch(/^sl_session=; Max-Age=0/);
  });
});
