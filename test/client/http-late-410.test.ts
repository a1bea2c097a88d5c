/**
 * The lost-write case of the torture bench's logout variant, made
 * deterministic: one browser (one cookie jar), tabs without cross-tab lanes
 * (as in the bench), a request made with the session's cookie whose 410 comes
 * back only after the browser, logged out, has made and written to a new
 * session. The late 410 must not take the new session's cookie with it: the
 * cookie has the same name, so a clearing Set-Cookie would drop it, the next
 * write would make a third session, and what was acknowledged in the second
 * would be out of the browser's reach.
 */
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createLanes, createSessionClient, isSessionEndedError } from '../../src/client/index.js';
import { createValidator, type SessionStore } from '../../src/server/index.js';
import { createCookieJar, type CookieJar } from '../support/client-cookie-jar.js';
import { describeEachStore } from '../support/each-store.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';

const SECRET = 'late-410-test-secret-of-at-least-32-bytes';
const KEYS = ['a', 'b'];
const IDLE = 60_000;

describeEachStore('a late 410 of an ended session', (kind) => {
  let store: SessionStore;
  let server: TestServer;
  let slowHandler: { started: ReturnType<typeof gate>; release: ReturnType<typeof gate> } | null;
  let clock: number;

  beforeEach(async () => {
    store = kind.open();
    slowHandler = null;
    clock = Date.now();
    const validator = createValidator({ store, secret: SECRET, idleTimeoutMs: IDLE, now: () => clock });
    const append = (key: string) =>
      validator.route({ writes: [key] }, async (request, session) => {
        const { token } = (await request.json()) as { token: string };
        if (token.startsWith('slow') && slowHandler) {
          slowHandler.started.open();
          await slowHandler.release.opened;
        }
        session.set(key, [...((session.get(key) as string[] | undefined) ?? []), token]);
        return Response.json({ ok: true });
      });
    server = await startServer({
      '/append/a': append('a'),
      '/append/b': append('b'),
      '/logout': validator.route({ writes: KEYS }, (_request, session) => (session.destroy(), Response.json({ ok: true }))),
      '/lists': validator.route({ reads: KEYS }, (_request, session) => Response.json(Object.fromEntries(KEYS.map((key) => [key, session.get(key) ?? []])))),
    });
  });
  afterEach(async () => {
    slowHandler?.release.open();
    await server.close();
    await store.close();
  });
  afterAll(() => kind.cleanup());

  /**
   * One browser: a cookie jar over a fetch that can hold an answer back after the server gave it
   * (a slow network, a proxy), and tabs that share only the first-write lane (as the bench's do).
   */
  function browser() {
    let holdNext: { path: string; arrived: ReturnType<typeof gate>; release: ReturnType<typeof gate> } | null = null;
    const network: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const hold = holdNext && new URL(String(input)).pathname === holdNext.path ? holdNext : null;
      if (hold) {
        holdNext = null;
        hold.arrived.open();
        await hold.release.opened;
      }
      return response;
    };
    const jar: CookieJar = createCookieJar(network);
    const firstWrite = createLanes();
    return {
      jar,
      tab: () => createSessionClient({ fetch: jar.fetch, firstWrite, retries: 0, deadline: 2_000 }),
      /** The next answer to `path` is held back (once the server gave it) until `release` opens. */
      holdAnswer(path: string) {
        const hold = { path, arrived: gate(), release: gate() };
        holdNext = hold;
        return hold;
      },
    };
  }

  const append = (tab: ReturnType<typeof createSessionClient>, key: string, token: string) =>
    tab.fetch(`${server.url}/append/${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), session: { writes: [key], blind: true } });
  const logout = (tab: ReturnType<typeof createSessionClient>) => tab.fetch(`${server.url}/logout`, { method: 'POST', session: { writes: KEYS, blind: true } });
  const lists = async (jar: CookieJar) => (await (await jar.fetch(`${server.url}/lists`, { headers: { 'session-read': '"a", "b"' } })).json()) as Record<string, string[]>;

  /** A browser with two tabs, each having written to the session; `first` is its cookie. */
  async function browserWithSession() {
    const made = browser();
    const [writer, leaver] = [made.tab(), made.tab()];
    expect((await append(writer, 'a', 'before')).status).toBe(200);
    expect((await append(leaver, 'b', 'before-b')).status).toBe(200);
    return { ...made, writer, leaver, first: made.jar.cookies.get('sl_session') };
  }

  it('at commit: a write in flight when another tab logs out gets 410, and the session made after the logout keeps its cookie', async () => {
    const { jar, writer, leaver, first } = await browserWithSession();

    // A write of the session is in its handler when another tab logs out…
    slowHandler = { started: gate(), release: gate() };
    const straddling = append(writer, 'a', 'slow').catch((error: unknown) => error);
    await slowHandler.started.opened;
    expect((await logout(leaver)).status).toBe(200);
    expect(jar.cookies.get('sl_session')).toBe(first); // the dead cookie goes with the next request's 410

    // …and that tab's next write makes the browser's next session, acknowledged.
    expect((await append(leaver, 'b', 'after')).status).toBe(200);
    const second = jar.cookies.get('sl_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);

    // Now the straddling write commits: its session is gone, 410, nothing applied.
    slowHandler.release.open();
    expect(isSessionEndedError(await straddling)).toBe(true);

    // The browser still names the session its acknowledged write is in.
    expect(jar.cookies.get('sl_session')).toBe(second);
    expect(await lists(jar)).toEqual({ a: [], b: ['after'] });
  });

  it('in round trip 1: a write sent before the logout answer arrived, answered 410 late, leaves the new session its cookie', async () => {
    const browserA = await browserWithSession();
    const { jar, writer, leaver, first } = browserA;

    // The logout is applied, but its answer is slow to come: the jar still holds the old cookie.
    const logoutAnswer = browserA.holdAnswer('/logout');
    const loggingOut = logout(leaver);
    await logoutAnswer.arrived.opened;
    // A write with the old cookie reaches the server after the logout: 410; its answer is slower still.
    const lateAnswer = browserA.holdAnswer('/append/a');
    const late = append(writer, 'a', 'late').catch((error: unknown) => error);
    await lateAnswer.arrived.opened;

    logoutAnswer.release.open();
    expect((await loggingOut).status).toBe(200);
    expect(jar.cookies.get('sl_session')).toBe(first);
    expect((await append(leaver, 'b', 'after')).status).toBe(200);
    const second = jar.cookies.get('sl_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);

    lateAnswer.release.open();
    expect(isSessionEndedError(await late)).toBe(true);
    expect(jar.cookies.get('sl_session')).toBe(second);
    expect(await lists(jar)).toEqual({ a: [], b: ['after'] });
  });

  // The bench's run that found this: the logout's own answer held back for seconds, while the other tabs learned of
  // the end (410), and one made the next session. Had the logout's answer cleared the cookie, it would have dropped that one.
  it("the logout's own answer, late: the session another tab made meanwhile keeps its cookie", async () => {
    const browserA = await browserWithSession();
    const { jar, writer, leaver, first } = browserA;

    const logoutAnswer = browserA.holdAnswer('/logout');
    const loggingOut = logout(leaver);
    await logoutAnswer.arrived.opened;
    // The writer's write made for the session: 410, the cookie left; the next, knowing there is none, makes the next session.
    expect(isSessionEndedError(await append(writer, 'a', 'ended').catch((error: unknown) => error))).toBe(true);
    expect(jar.cookies.get('sl_session')).toBe(first);
    expect((await append(writer, 'b', 'after')).status).toBe(200);
    const second = jar.cookies.get('sl_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);

    logoutAnswer.release.open();
    const answer = await loggingOut;
    expect(answer.status).toBe(200);
    expect(answer.headers.getSetCookie()).toEqual([]);
    expect(leaver.epoch()).toBe('');
    expect(jar.cookies.get('sl_session')).toBe(second);
    expect(await lists(jar)).toEqual({ a: [], b: ['after'] });
    // The tab that logged out writes on in the browser's session.
    expect((await append(leaver, 'a', 'later')).status).toBe(200);
    expect(await lists(jar)).toEqual({ a: ['later'], b: ['after'] });
  });

  // A read that knows no epoch gets the clearing 410 (a read-only visitor must not keep a dead cookie forever); a
  // first write in another tab must not make the next session while that answer is still on its way.
  it('a read sent knowing no session, answered 410 late, does not clear the session a first write makes meanwhile', async () => {
    const browserA = await browserWithSession();
    const { jar, tab, first } = browserA;
    // The session ends, and these tabs never heard of it (a logout in a tab long closed).
    expect((await jar.fetch(`${server.url}/logout`, { method: 'POST', headers: { 'session-write': '"a", "b"', 'idempotency-key': `"${crypto.randomUUID()}"` } })).status).toBe(200);
    const [reader, writer] = [tab(), tab()];

    const readAnswer = browserA.holdAnswer('/lists');
    const read = reader.fetch(`${server.url}/lists`, { session: { reads: KEYS } }).catch((error: unknown) => error);
    await readAnswer.arrived.opened; // answered 410, clearing the dead cookie; the answer is on its way
    // The writer makes the next session; had it gone out before the read's answer came, its first try would
    // meet the dead cookie (410, as a fresh page learns of an end), and its second would make it.
    const write = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await append(writer, 'b', 'after');
        } catch (error) {
          if (attempt === 2 || !isSessionEndedError(error)) throw error;
        }
      }
    })();
    // Time for the writes to make the next session if nothing holds them back (locally, far less than this).
    await Promise.race([write, new Promise((resolve) => setTimeout(resolve, 500))]);
    readAnswer.release.open();

    expect(isSessionEndedError(await read)).toBe(true);
    expect((await write).status).toBe(200);
    const second = jar.cookies.get('sl_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await lists(jar)).toEqual({ a: [], b: ['after'] });
  });

  // What keeping the cookie costs nothing: a session that expired (nobody told the browser) takes one 410, as before.
  it('after an expiry: the tab that knew the session gets one 410 (the cookie kept), and its next write starts a new session', async () => {
    const { jar, tab } = browser();
    const writer = tab();
    expect((await append(writer, 'a', 'before')).status).toBe(200);
    const first = jar.cookies.get('sl_session');
    clock += IDLE + 1_000;

    const expired = await append(writer, 'a', 'x').catch((error: unknown) => error);
    expect(isSessionEndedError(expired)).toBe(true);
    expect(jar.cookies.get('sl_session')).toBe(first); // made for the session: its 410 clears nothing
    expect(writer.epoch()).toBe('');

    // Made knowing there is no session: the ended cookie's 410 (which clears it) is followed by one resend, a new login.
    expect((await append(writer, 'b', 'after')).status).toBe(200);
    const second = jar.cookies.get('sl_session');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await lists(jar)).toEqual({ a: [], b: ['after'] });
  });
});
