import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createValidator } from '../../src/server/index.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey, type Answer } from '../support/session-http.js';

/**
 * The attack (issue 11, §2): a session-creating request's Idempotency-Key
 * was a bearer credential. Whoever resent the login (same key, method, path,
 * body) without a cookie, from anywhere, got the victim's Set-Cookie for
 * 48 hours; a wrong body answered 422 where the right one replayed (an oracle
 * on the login body without the handler running); and after logout plus
 * retention the same request was given the same session id again.
 */

const SECRET = 'a test secret of at least 32 bytes, shared';
const WINDOW = 120_000;
/** A creating request's id window: twice its replay window (PROTOCOL.md). */
const ID_WINDOW = 2 * WINDOW;
const RETENTION = 48 * 3_600_000;
const IDLE = 14 * 24 * 3_600_000;

/** Everything of an answer but its Date header. */
function bytes(answer: Answer) {
  const headers = [...answer.response.headers].filter(([name]) => name !== 'date');
  return { status: answer.status, headers, body: answer.text };
}

describeEachStore('a session-creating request is no bearer credential', (kind) => {
  let store: SessionStore;
  let server: TestServer;
  let clock = 0;
  let logins = 0;

  beforeAll(async () => {
    store = kind.open();
    const validator = createValidator({ store, secret: SECRET, now: () => clock, retentionMs: RETENTION, idleTimeoutMs: IDLE });
    server = await startServer({
      '/login': validator.route({ writes: ['user'] }, async (request, session) => {
        logins++;
        session.set('user', await request.text());
        return Response.json({ welcome: true });
      }),
      '/logout': validator.route({ writes: ['user'] }, async (_request, session) => {
        session.destroy();
        return Response.json({ bye: true });
      }),
      '/note': validator.route({ writes: ['note'] }, async (request, session) => {
        session.set('note', await request.text());
        return Response.json({ noted: true });
      }),
      '/whoami': validator.route({ reads: ['user'] }, async (_request, session) => Response.json({ user: session.get('user') ?? null })),
      // A privilege change: the session moves to a new id and epoch.
      '/elevate': validator.route({ writes: ['user'], rotates: true }, async (_request, session) => {
        session.rotate();
        return Response.json({ elevated: true });
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });
  beforeEach(() => {
    // A fresh moment at the start of a replay window, far from the other tests' sessions.
    clock = (Math.floor(Date.now() / ID_WINDOW) + Math.floor(Math.random() * 1e6)) * ID_WINDOW + 1_000;
    logins = 0;
  });

  const login = (browser: Browser, key: string, body = 'ada') => browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': key }, body });
  const cookieOf = (answer: Answer) => answer.response.headers.get('set-cookie')?.split(';')[0] ?? null;

  it('replays the cookie to a resend within the window only: past it, the attacker gets 410 and no Set-Cookie', async () => {
    const key = idemKey();
    const victim = new Browser(server.url);
    const first = await login(victim, key);
    expect(first.status).toBe(200);

    clock += WINDOW / 2; // a legitimate resend: its answer was lost
    const resend = await login(new Browser(server.url), key);
    expect(resend.status).toBe(200);
    expect(cookieOf(resend)).toBe(cookieOf(first));

    clock += WINDOW; // the attacker's copy of the same request, past the window
    const attacker = new Browser(server.url);
    const stolen = await login(attacker, key);
    expect(stolen.status).toBe(410);
    expect(stolen.response.headers.get('set-cookie')).toBeNull();
    expect(stolen.epoch()).toBe('');
    expect(logins).toBe(1);
  });

  it('refuses a resend past the replay window alike wherever in its id window the first write came: never a second session', async () => {
    // The first write early, midway and late in its id window: a resend a replay window and a second later
    // must always find the record (it lands in the next id window at most) and get the fixed 410.
    const start = clock - 1_000;
    for (const offset of [1_000, WINDOW - 500, WINDOW + 1_000, 2 * WINDOW - 500]) {
      clock = start + offset;
      const key = idemKey();
      expect((await login(new Browser(server.url), key)).status).toBe(200);
      clock += WINDOW + 1_000;
      const resend = await login(new Browser(server.url), key);
      expect(resend.status, `first write ${offset} ms into its window`).toBe(410);
      expect(resend.response.headers.get('set-cookie')).toBeNull();
    }
    expect(logins).toBe(4);
  });

  it('answers a right and a wrong body byte-identically past the window and after the epoch changed: no oracle on the login body', async () => {
    const key = idemKey();
    const victim = new Browser(server.url);
    expect((await login(victim, key, 'right')).status).toBe(200);

    clock += WINDOW + 1;
    const right = await login(new Browser(server.url), key, 'right');
    const wrong = await login(new Browser(server.url), key, 'wrong');
    expect(right.status).toBe(410);
    expect(bytes(wrong)).toEqual(bytes(right));

    // Within the window, but after logout: the session's epoch is gone.
    const key2 = idemKey();
    const other = new Browser(server.url);
    expect((await login(other, key2, 'right')).status).toBe(200);
    expect((await other.send('/logout', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } })).status).toBe(200);
    const rightAfterLogout = await login(new Browser(server.url), key2, 'right');
    const wrongAfterLogout = await login(new Browser(server.url), key2, 'wrong');
    expect(rightAfterLogout.status).toBe(410);
    expect(rightAfterLogout.response.headers.get('set-cookie')).toBeNull();
    expect(bytes(wrongAfterLogout)).toEqual(bytes(rightAfterLogout));
    expect(bytes(rightAfterLogout)).toEqual(bytes(right));
  });

  it('never issues the same session id twice to the same creating request: after logout and the end of retention, after expiry', async () => {
    const key = idemKey();
    const first = await login(new Browser(server.url), key);
    const firstId = cookieOf(first);
    const browser = new Browser(server.url);
    browser.cookie = firstId;
    expect((await browser.send('/logout', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } })).status).toBe(200);

    clock += RETENTION + 1; // the records are gone too
    const again = await login(new Browser(server.url), key);
    expect(again.status).toBe(200);
    const againId = cookieOf(again);
    expect(againId).not.toBeNull();
    expect(againId).not.toBe(firstId);

    clock += IDLE + 1; // that session expired, and its record long before
    const third = await login(new Browser(server.url), key);
    expect(third.status).toBe(200);
    expect([firstId, againId]).not.toContain(cookieOf(third));
  });

  it('after a rotation: no replay of the creating answer (another epoch), and never the old or the rotated id again', async () => {
    const key = idemKey();
    const first = await login(new Browser(server.url), key, 'right');
    const firstId = cookieOf(first);
    const browser = new Browser(server.url);
    browser.cookie = firstId;
    const elevated = await browser.send('/elevate', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } });
    expect(elevated.status).toBe(200);
    const rotatedId = browser.cookie;
    expect(rotatedId).not.toBe(firstId);

    // Within the window, but the session moved to another id and epoch: right body or wrong, the same 410 without a cookie.
    clock += 1_000;
    const right = await login(new Browser(server.url), key, 'right');
    const wrong = await login(new Browser(server.url), key, 'wrong');
    expect(right.status).toBe(410);
    expect(right.response.headers.get('set-cookie')).toBeNull();
    expect(bytes(wrong)).toEqual(bytes(right));

    clock += RETENTION + 1;
    const again = await login(new Browser(server.url), key);
    expect(again.status).toBe(200);
    expect([firstId, rotatedId]).not.toContain(cookieOf(again));
  });

  it('finds the record of a resend that crossed into the next window, so it never applies twice', async () => {
    const key = idemKey();
    clock += ID_WINDOW - 1_001 - 10; // 10 ms before the id window ends
    const first = await login(new Browser(server.url), key);
    clock += 20; // the next window
    const resend = await login(new Browser(server.url), key);
    expect(resend.status).toBe(200);
    expect(resend.response.headers.get('idempotent-replayed')).toBe('true');
    expect(cookieOf(resend)).toBe(cookieOf(first));
    expect(logins).toBe(1);
  });

  it('refuses a creating Idempotency-Key that does not look random: 400 invalid-declaration naming idempotency-key', async () => {
    for (const key of ['"login-attempt-1234"', '"0123456789.0123456789abc"', `"${'a'.repeat(21)}"`, '"has space in it, twenty-two"']) {
      const answer = await login(new Browser(server.url), key);
      expect(answer.status, key).toBe(400);
      expect(answer.json()).toMatchObject({ type: 'https://session-lanes.dev/problems/invalid-declaration', header: 'idempotency-key' });
    }
    // Checked only where a key would create a session: an existing session's write may use any valid key.
    const browser = new Browser(server.url);
    expect((await login(browser, idemKey())).status).toBe(200);
    expect((await browser.send('/note', { headers: { 'session-write': '"note"', 'idempotency-key': '"login-attempt-1234"' }, body: 'x' })).status).toBe(200);
  });

  it("does not replay a destroyed session's recorded answers to its old cookie (the logout's own answer aside)", async () => {
    const browser = new Browser(server.url);
    expect((await login(browser, idemKey())).status).toBe(200);
    const oldCookie = browser.cookie;
    const noteKey = idemKey();
    const note = () => {
      const stale = new Browser(server.url);
      stale.cookie = oldCookie;
      return stale.send('/note', { headers: { 'session-write': '"note"', 'idempotency-key': noteKey }, body: 'private' });
    };
    expect((await note()).status).toBe(200);
    const logoutKey = idemKey();
    const logout = () => {
      const stale = new Browser(server.url);
      stale.cookie = oldCookie;
      return stale.send('/logout', { headers: { 'session-write': '"user"', 'idempotency-key': logoutKey } });
    };
    expect((await logout()).status).toBe(200);

    const replayed = await note();
    expect(replayed.status).toBe(410);
    expect(replayed.text).not.toContain('noted');
    const logoutAgain = await logout();
    expect(logoutAgain.status).toBe(200);
    expect(logoutAgain.response.headers.get('idempotent-replayed')).toBe('true');
  });
});
