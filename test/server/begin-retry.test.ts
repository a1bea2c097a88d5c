import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type ValidatorEvent } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { deleteRedisPrefix } from '../support/each-store.js';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { describeWithServer, REDIS_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * A begin that applied and then failed: the Redis connection is cut after
 * the store ran the call (its claim taken) and before its reply came back.
 * The validator retries it once with the same claim token and finds the claim
 * its own; when the retry fails too, it gives the claim back and answers 503,
 * so that the client's resend is not refused with 409 for a whole lease.
 */
const unreachable = await tcpUnreachable(REDIS_URL);

describeWithServer('a begin whose outcome is unknown', `Redis at ${REDIS_URL}`, unreachable, () => {
  const prefix = `sl-cut-${uniqueSuffix()}:`;
  const { hostname, port } = new URL(REDIS_URL);
  let proxy: CuttingProxy;
  let server: TestServer;
  let store: ReturnType<typeof redisStore>;
  const events: ValidatorEvent[] = [];

  beforeAll(async () => {
    proxy = await startCuttingProxy({ host: hostname, port: Number(port || 6379) });
    store = redisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix });
    // touchIntervalMs far away: the first request touches (nothing to touch yet), later ones do not.
    const validator = createValidator({ store, secret: 'a shared secret of at least thirty-two bytes', touchIntervalMs: 3_600_000, onEvent: (event) => events.push(event) });
    server = await startServer({
      '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
        session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
        return Response.json({ cart: session.get('cart') });
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await proxy.close();
    await deleteRedisPrefix(prefix);
  });

  const add = (browser: Browser, item: string, key: string) => browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: item });

  async function loggedIn(): Promise<Browser> {
    const browser = new Browser(server.url);
    expect((await add(browser, 'apple', idemKey())).status).toBe(200);
    // A second write, so that the next one's begin is a plain claim with no touch due.
    expect((await add(browser, 'plum', idemKey())).status).toBe(200);
    return browser;
  }

  it('is retried once with the same claim token: the write is applied in the same request, once', async () => {
    const browser = await loggedIn();
    events.length = 0;
    const key = idemKey();
    proxy.cutReplies(1);
    const write = await add(browser, 'pear', key);
    expect(proxy.cut).toBeGreaterThanOrEqual(1);
    expect(write.status, write.text).toBe(200);
    expect(write.json()).toEqual({ cart: ['apple', 'plum', 'pear'] });
    expect(events.map((event) => event.type === 'store-error' && event.phase)).toEqual(['begin']);
    const resent = await add(browser, 'pear', key);
    expect(resent.response.headers.get('idempotent-replayed')).toBe('true');
    expect(resent.json()).toEqual({ cart: ['apple', 'plum', 'pear'] });
  });

  it('when the retry fails too: 503, and the claim is given back, so the resend is applied at once (not 409)', async () => {
    const browser = await loggedIn();
    const cutBefore = proxy.cut;
    const key = idemKey();
    // The begin's reply, then twice the reconnected client's ready check and the retry's reply (each retry waits a
    // blip's length, so the client reconnects first): every try of the begin fails.
    proxy.cutReplies(5);
    const write = await add(browser, 'pear', key);
    expect(proxy.cut - cutBefore).toBe(5);
    expect(write.status, write.text).toBe(503);
    expect(write.json().type).toBe('https://session-lanes.dev/problems/store-unavailable');
    const resent = await add(browser, 'pear', key);
    expect(resent.status, resent.text).toBe(200);
    expect(resent.json()).toEqual({ cart: ['apple', 'plum', 'pear'] });
  });
});
