import { afterAll, beforeAll, expect, it } from 'vitest';
import { createValidator } from '../../src/server/index.js';
import { ANSWER_NOT_KEPT_BODY } from '../../src/server/recorded-answer.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * The attack (issue 11, §3): 200 writes answering 100 kB each held 25.6 MiB
 * of recorded answers for 48 hours. A recorded answer is capped; above the
 * cap the record keeps the status, the session headers and a fixed body.
 */

const SECRET = 'a test secret of at least 32 bytes, shared';
const BIG = 100_000;

describeEachStore('recorded answers are capped', (kind) => {
  let store: SessionStore;
  let server: TestServer;

  beforeAll(async () => {
    store = kind.open();
    const validator = createValidator({ store, secret: SECRET, maxRecordedAnswerBytes: 4_096 });
    server = await startServer({
      '/big': validator.route({ writes: ['counter'] }, async (_request, session) => {
        session.set('counter', ((session.get('counter') as number | undefined) ?? 0) + 1);
        return new Response('x'.repeat(BIG), { headers: { 'content-type': 'text/plain', 'x-app': 'mine' } });
      }),
      '/login': validator.route({ writes: ['counter'], rotates: true }, async (_request, session) => {
        session.set('counter', ((session.get('counter') as number | undefined) ?? 0) + 1);
        session.rotate();
        return new Response('x'.repeat(BIG), { headers: { 'content-type': 'text/plain' } });
      }),
      '/read': validator.route({ reads: ['counter'] }, async (_request, session) => Response.json({ counter: session.get('counter') ?? null })),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });

  it('sends a large answer in full, records a fixed body with the status and session headers, and a resend never applies twice', async () => {
    const browser = new Browser(server.url);
    const key = idemKey();
    const send = () => browser.send('/big', { headers: { 'session-write': '"counter"', 'idempotency-key': key } });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.text.length).toBe(BIG);

    const replay = await send();
    expect(replay.status).toBe(200);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(ANSWER_NOT_KEPT_BODY);
    expect(replay.response.headers.get('content-type')).toBe('application/json');
    expect(replay.response.headers.get('x-app')).toBeNull();
    expect(replay.response.headers.get('session-versions')).toBe(first.response.headers.get('session-versions'));
    expect(replay.epoch()).toBe(first.epoch());
    // A creating write's record keeps its Set-Cookie: the replay within the window still logs the resend in.
    expect(replay.response.headers.get('set-cookie')).toBe(first.response.headers.get('set-cookie'));

    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.json()).toEqual({ counter: 1 });
    expect(read.versions()).toEqual({ counter: 1 });
  });

  it('keeps Session-Rotated in the record of a large login answer: its replay is still a rotation, not an end', async () => {
    const browser = new Browser(server.url);
    expect((await browser.send('/big', { headers: { 'session-write': '"counter"', 'idempotency-key': idemKey() } })).status).toBe(200);
    const oldCookie = browser.cookie!;
    const key = idemKey();
    const headers = { 'session-write': '"counter"', 'idempotency-key': key };
    const login = await browser.send('/login', { headers });
    expect(login.status).toBe(200);
    expect(login.response.headers.get('session-rotated')).not.toBeNull();
    // The answer was lost: the browser resends with the old cookie, within the window.
    const replay = await browser.send('/login', { headers: { ...headers, cookie: oldCookie } });
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(ANSWER_NOT_KEPT_BODY);
    expect(replay.response.headers.get('session-rotated')).toBe(login.response.headers.get('session-rotated'));
    expect(replay.response.headers.get('set-cookie')).toBe(login.response.headers.get('set-cookie'));
  });
});
