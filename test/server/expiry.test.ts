import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore, type ValidatorEvent } from '../../src/server/index.js';
import { countingStore, type StoreCalls } from '../support/counting-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

const IDLE = 60_000;
const TOUCH_INTERVAL = 10_000;

let server: TestServer;
let calls: StoreCalls;
let reset: () => void;
let clock: number;
let events: ValidatorEvent[];

beforeEach(async () => {
  const counting = countingStore(memoryStore());
  calls = counting.calls;
  reset = counting.reset;
  clock = Date.now();
  events = [];
  const validator = createValidator({
    store: counting.store,
    idleTimeoutMs: IDLE,
    touchIntervalMs: TOUCH_INTERVAL,
    now: () => clock,
    onEvent: (event) => events.push(event),
  });
  server = await startServer({
    '/login': validator.route({ writes: ['user'] }, async (_request, session) => {
      session.set('user', 'ada');
      return Response.json({ ok: true });
    }),
    '/me': validator.route({ reads: ['user'] }, async (_request, session) => Response.json({ user: session.get('user') ?? null })),
  });
});
afterEach(() => server.close());

async function loggedIn() {
  const browser = new Browser(server.url);
  expect((await browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } })).status).toBe(200);
  return browser;
}

describe('sliding expiry', () => {
  it('touches a session at most once per interval: ten read-only requests in a row cost at most one store write', async () => {
    const browser = await loggedIn();
    reset();
    for (let i = 0; i < 10; i++) {
      expect((await browser.send('/me', { method: 'GET' })).status).toBe(200);
      clock += 500;
    }
    expect(calls.begin).toBe(10);
    expect(calls.writes).toBeLessThanOrEqual(1);
    expect(calls.commit + calls.release + calls.touch).toBe(0);
  });

  it('keeps a session busy with read-only requests alive past its idle time, and expires an idle one with 410', async () => {
    const busy = await loggedIn();
    const idle = await loggedIn();
    // Read-only requests every 20 s for three idle periods.
    for (let elapsed = 0; elapsed < 3 * IDLE; elapsed += 20_000) {
      clock += 20_000;
      expect((await busy.send('/me', { method: 'GET' })).json()).toEqual({ user: 'ada' });
    }
    const gone = await idle.send('/me', { method: 'GET' });
    expect(gone.status).toBe(410);
    expect(gone.response.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await busy.send('/me', { method: 'GET' })).status).toBe(200);
    expect(events.filter((event) => event.type === 'touch-failed')).toEqual([]);
  });
});
