/**
 * Issue 20 §4: `__Host-` protects a user who does not hold one yet. Over real
 * HTTPS (Node's TLS, the Node adapter, `secure: 'auto'`), a sibling subdomain
 * plants a plain `sl_session` (Domain= the parent, a longer Path, so the
 * browser sends it first and a host-only clear cannot remove it) before the
 * victim's first visit, or after a logout. Before the fix the server read it:
 * the victim's writes landed in the attacker's session (fixation), and a
 * malformed one made every write 410 (lock-out).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createValidator, type SessionStore } from '../../src/server/index.js';
import type { CookieOptions } from '../../src/server/session-cookie.js';
import { describeEachStore } from '../support/each-store.js';
import { httpsFetch, selfSignedCertificate, startHttpsServer, type HttpsAnswer, type HttpsTestServer, type SelfSigned } from '../support/https-server.js';
import { idemKey } from '../support/session-http.js';

const SECRET = 'host-cookie-test-secret-of-at-least-32-bytes';
const ID = /^[\w-]{43}$/;

let tls: SelfSigned;
beforeAll(() => {
  tls = selfSignedCertificate();
});

/**
 * One browser of the victim: its own host-only cookies, as Set-Cookie leaves them, and the cookies a sibling
 * planted for the whole site, which the browser sends first (longer Path) and which no host-only clear removes.
 */
class Browser {
  readonly own = new Map<string, string>();
  planted: string[] = [];
  constructor(private readonly send: (path: string, init: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<HttpsAnswer>) {}
  cookieHeader(): string {
    return [...this.planted, ...[...this.own].map(([name, value]) => `${name}=${value}`)].join('; ');
  }
  async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
    const cookie = this.cookieHeader();
    const answer = await this.send(path, { ...init, headers: { ...(cookie ? { cookie } : {}), ...init.headers } });
    for (const line of answer.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (value === '' || /max-age=0/i.test(line)) this.own.delete(name);
      else this.own.set(name, value);
    }
    return answer;
  }
  write(item: string, headers: Record<string, string> = {}) {
    return this.request('/cart', { method: 'POST', headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), ...headers }, body: item });
  }
  read() {
    return this.request('/me', { headers: { 'session-read': '"cart"' } });
  }
}

describeEachStore('__Host- protects a user who holds none yet (HTTPS)', (kind) => {
  let store: SessionStore;
  let server: HttpsTestServer | undefined;

  async function serve(cookie: CookieOptions = {}) {
    await server?.close();
    const validator = createValidator({ store, secret: SECRET, cookie, onEvent: () => {} });
    server = await startHttpsServer(tls, {
      '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
        session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
        return Response.json({ cart: session.get('cart') });
      }),
      '/logout': validator.route({ ends: true }, (_request, session) => (session.destroy(), Response.json({}))),
      '/me': validator.route({ reads: ['cart'] }, (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
    });
  }
  const browser = () => new Browser((path, init) => httpsFetch(tls, server!.url + path, init));

  /** The attacker's own session (an anonymous write of theirs): the id they plant. */
  async function attackerId(): Promise<{ id: string; attacker: Browser }> {
    const attacker = browser();
    expect((await attacker.write('attacker-bait')).status).toBe(200);
    const id = attacker.own.get('__Host-sl_session')!;
    expect(id).toMatch(ID);
    return { id, attacker };
  }

  beforeEach(async () => {
    store = kind.open();
    await serve();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await store.close();
  });
  afterAll(() => kind.cleanup());

  it('a plain cookie planted before the first visit is never read: the first write makes the victim their own __Host- session', async () => {
    const { id, attacker } = await attackerId();
    const victim = browser();
    victim.planted = [`sl_session=${id}`];
    const first = await victim.write('victim-1');
    expect(first.status).toBe(200);
    expect(first.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/)]);
    expect(victim.own.get('__Host-sl_session')).not.toBe(id);
    expect(JSON.parse(first.text).cart).toEqual(['victim-1']);
    expect(JSON.parse((await victim.write('victim-2')).text).cart).toEqual(['victim-1', 'victim-2']);
    expect(JSON.parse((await victim.read()).text).cart).toEqual(['victim-1', 'victim-2']);
    // Nothing of the victim's in the attacker's session.
    expect(JSON.parse((await attacker.read()).text).cart).toEqual(['attacker-bait']);
  });

  it('a malformed or duplicated plain cookie locks nobody out: ignored, not cleared, not counted as a duplicate', async () => {
    const { id } = await attackerId();
    for (const planted of [['sl_session=not-a-session'], [`sl_session=${id}`, 'sl_session=x'], ['sl_session=']]) {
      const victim = browser();
      victim.planted = planted;
      const read = await victim.read();
      expect(read.status, planted.join('; ')).toBe(200);
      expect(JSON.parse(read.text).cart).toBeNull();
      expect(read.headers.getSetCookie()).toEqual([]);
      const write = await victim.write('mine');
      expect(write.status, planted.join('; ')).toBe(200);
      expect(write.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; /)]);
      // With the victim's own __Host- cookie present, the planted ones beside it change nothing either.
      expect(JSON.parse((await victim.write('again')).text).cart).toEqual(['mine', 'again']);
    }
  });

  it('after a logout, a planted plain cookie does not catch the next login: the dead __Host- cookie gets its clearing 410, then a fresh session', async () => {
    const { id, attacker } = await attackerId();
    const victim = browser();
    expect((await victim.write('before')).status).toBe(200);
    const logout = await victim.request('/logout', { method: 'POST', headers: { 'idempotency-key': idemKey() } });
    expect(logout.status).toBe(200);
    victim.planted = [`sl_session=${id}`];
    // The __Host- cookie keeps PROTOCOL.md's rules: it names an ended session, so the 410 clears it (and only it).
    const ended = await victim.write('after-1');
    expect(ended.status).toBe(410);
    expect(ended.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax; Secure$/)]);
    const fresh = await victim.write('after-2');
    expect(fresh.status).toBe(200);
    expect(JSON.parse(fresh.text).cart).toEqual(['after-2']);
    expect(victim.own.get('__Host-sl_session')).not.toBe(id);
    expect(JSON.parse((await attacker.read()).text).cart).toEqual(['attacker-bait']);
  });

  it('without migratePlain, a session begun under the plain name before the upgrade is not read (lost, as the docs say)', async () => {
    const legacy = browser();
    expect((await legacy.write('legacy')).status).toBe(200);
    const id = legacy.own.get('__Host-sl_session')!;
    legacy.own.clear();
    legacy.own.set('sl_session', id);
    expect(JSON.parse((await legacy.read()).text).cart).toBeNull();
    const write = await legacy.write('new');
    expect(JSON.parse(write.text).cart).toEqual(['new']);
    expect(legacy.own.get('__Host-sl_session')).not.toBe(id);
  });

  it('with migratePlain, a plain session is read and its first write rotates it to a fresh __Host- session (keys kept, old id a tombstone)', async () => {
    await serve({ migratePlain: true });
    const legacy = browser();
    expect((await legacy.write('legacy')).status).toBe(200);
    const id = legacy.own.get('__Host-sl_session')!;
    legacy.own.clear();
    legacy.own.set('sl_session', id);
    // A read is served from it as it is.
    const read = await legacy.read();
    expect(JSON.parse(read.text).cart).toEqual(['legacy']);
    expect(read.headers.getSetCookie()).toEqual([]);
    const epoch = read.headers.get('session-epoch');
    const write = await legacy.write('moved', { 'session-epoch': epoch! });
    expect(write.status).toBe(200);
    expect(JSON.parse(write.text).cart).toEqual(['legacy', 'moved']);
    expect(write.headers.get('session-rotated')).toBe(epoch);
    expect(write.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; /), 'sl_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure']);
    expect(legacy.own.get('__Host-sl_session')).not.toBe(id);
    expect(legacy.own.has('sl_session')).toBe(false);
    expect(JSON.parse((await legacy.read()).text).cart).toEqual(['legacy', 'moved']);
    // The old id is a tombstone: whoever still holds it (the attacker who planted it) reads nothing.
    const holder = browser();
    holder.own.set('sl_session', id);
    expect((await holder.read()).status).toBe(410);
  });

  it("with migratePlain, the migrating write's lost answer: its resend with the plain cookie replays it, __Host- cookie included", async () => {
    await serve({ migratePlain: true });
    const legacy = browser();
    expect((await legacy.write('legacy')).status).toBe(200);
    const id = legacy.own.get('__Host-sl_session')!;
    const headers = { cookie: `sl_session=${id}`, 'session-write': '"cart"', 'idempotency-key': idemKey() };
    const first = await httpsFetch(tls, `${server!.url}/cart`, { method: 'POST', headers, body: 'moved' });
    expect(first.status).toBe(200);
    const resent = await httpsFetch(tls, `${server!.url}/cart`, { method: 'POST', headers, body: 'moved' });
    expect(resent.status).toBe(200);
    expect(resent.headers.get('idempotent-replayed')).toBe('true');
    expect(resent.headers.getSetCookie()).toEqual(first.headers.getSetCookie());
    expect(JSON.parse(resent.text).cart).toEqual(['legacy', 'moved']);
  });

  it('with migratePlain, a well-formed plain cookie naming no live session still gets its 410 (what the docs say the option costs)', async () => {
    await serve({ migratePlain: true });
    const victim = browser();
    victim.planted = [`sl_session=${'A'.repeat(43)}`];
    const write = await victim.write('mine');
    expect(write.status).toBe(410);
    expect(write.headers.getSetCookie()).toEqual(['sl_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure']);
    // The clear removes a host-only cookie, not the sibling's: turned off after the upgrade, the option costs nothing.
    await serve({});
    expect((await victim.write('mine')).status).toBe(200);
  });

  it('with migratePlain, a malformed or duplicated plain cookie is still ignored (no lock-out during the migration)', async () => {
    await serve({ migratePlain: true });
    for (const planted of [['sl_session=not-a-session'], ['sl_session=a', 'sl_session=b']]) {
      const victim = browser();
      victim.planted = planted;
      expect((await victim.read()).status, planted.join('; ')).toBe(200);
      expect((await victim.write('mine')).status, planted.join('; ')).toBe(200);
      expect(victim.own.get('__Host-sl_session')).toMatch(ID);
    }
  });
});
