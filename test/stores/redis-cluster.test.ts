import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type SessionStore } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { hashSlot } from '../../src/server/stores/redis-slots.js';
import { storeConformance } from '../store-conformance.js';
import { startRedisCluster, type PrivateRedisCluster } from '../support/private-servers.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { STORES_REQUIRED } from '../support/stores.js';

/**
 * The Redis store on a real Redis Cluster: three masters made with
 * `redis-cli --cluster create`, reached through ioredis's `Cluster`. Every
 * script of the store may touch one hash slot only (a CROSSSLOT error
 * otherwise), so the whole conformance suite runs here too, and the
 * validator's login rotation, whose new id must share the old id's slot.
 */

const SECRET = 'redis-cluster-test-secret-of-32-bytes-or-more';
const cluster: PrivateRedisCluster | Error = await startRedisCluster().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
if (cluster instanceof Error && !STORES_REQUIRED) console.warn(`[session-lanes] skipping the Redis Cluster tests: ${cluster.message}`);

const clusterClient = (nodes: PrivateRedisCluster) =>
  // As the store's docs ask of a client of the app's own: fail fast, resend nothing by itself.
  new Cluster(nodes.startupNodes, { redisOptions: { maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false } });

const describeOnCluster = cluster instanceof Error && !STORES_REQUIRED ? describe.skip : describe;

describeOnCluster('redisStore on a 3-master Redis Cluster', () => {
  const nodes = () => {
    if (cluster instanceof Error) throw new Error(`a private Redis Cluster could not be started (needs redis-server and redis-cli): ${cluster.message}`);
    return cluster;
  };
  const clients: Cluster[] = [];
  const openStore = (prefix: string): SessionStore => {
    const client = clusterClient(nodes());
    clients.push(client);
    return redisStore({ client, prefix });
  };

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    if (!(cluster instanceof Error)) await cluster.stop();
  });

  storeConformance('redisStore (Cluster)', { open: () => openStore('sl-cluster-conformance:') });

  describe('through the validator, over real HTTP', () => {
    let server: TestServer;

    beforeAll(async () => {
      const validator = createValidator({ store: openStore('sl-cluster-http:'), secret: SECRET, onEvent: () => {} });
      server = await startServer({
        '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
          session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
          return Response.json({ cart: session.get('cart') });
        }),
        '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
          session.set('user', await request.text());
          session.rotate();
          return Response.json({ ok: true });
        }),
        '/me': validator.route({ reads: ['user', 'cart'] }, async (_request, session) => Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null })),
      });
    });

    afterAll(async () => {
      await server.close();
    });

    const idOf = (browser: Browser) => browser.cookie!.split('=')[1]!;
    const addToCart = (browser: Browser, item: string) => browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: item });

    it('spreads sessions over every master, each session whole on one of them', async () => {
      const browsers = Array.from({ length: 24 }, () => new Browser(server.url));
      for (const browser of browsers) expect((await addToCart(browser, 'tea')).status).toBe(200);
      const keysPerNode = await Promise.all(nodes().nodes.map(async (node) => Number(await node.admin.dbsize())));
      expect(keysPerNode.every((count) => count > 0)).toBe(true);
      for (const browser of browsers) expect((await browser.send('/me', { method: 'GET', headers: { 'session-read': '"user", "cart"' } })).json().cart).toEqual(['tea']);
    });

    it('rotates at login within the old id’s slot: the session moves whole, the old id answers 410', async () => {
      const browser = new Browser(server.url);
      expect((await addToCart(browser, 'scone')).status).toBe(200);
      const before = idOf(browser);
      const oldCookie = browser.cookie!;
      const login = await browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() }, body: 'ada' });
      expect(login.status).toBe(200);
      const after = idOf(browser);
      expect(after).not.toBe(before);
      expect(hashSlot(after)).toBe(hashSlot(before));
      expect((await browser.send('/me', { method: 'GET', headers: { 'session-read': '"user", "cart"' } })).json()).toEqual({ user: 'ada', cart: ['scone'] });
      const stale = await browser.send('/cart', { headers: { cookie: oldCookie, 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'jam' });
      expect(stale.status).toBe(410);
    });

    it("gives a creating request an id in its Idempotency-Key's slot, so that its begin looks under both windows' ids in one script", async () => {
      const browser = new Browser(server.url);
      const key = idemKey();
      expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: 'tea' })).status).toBe(200);
      expect(hashSlot(idOf(browser))).toBe(hashSlot(key.slice(1, -1)));
    });

    it('answers a begin whose second id is in another slot for the first id only, without a CROSSSLOT error (the validator then looks itself)', async () => {
      const store = openStore('sl-cluster-slots:');
      const first = `a-${crypto.randomUUID()}`;
      let second = `b-${crypto.randomUUID()}`;
      while (hashSlot(second) === hashSlot(first)) second = `b-${crypto.randomUUID()}`;
      const result = await store.begin({ sessionId: first, keys: [], claim: { key: 'k', fingerprint: 'f', leaseMs: 1_000, token: 't', alsoUnder: second }, now: Date.now() });
      expect(result).toEqual({ session: null, entries: new Map(), claim: { status: 'claimed' } });
    });

    it('loses no update when 20 writes to one session race on the Cluster', async () => {
      const browser = new Browser(server.url);
      expect((await addToCart(browser, 'first')).status).toBe(200);
      // Blind appends race at the server: the commit's own check turns a lost race into a 412, sent again.
      const items = Array.from({ length: 20 }, (_, i) => `item-${i}`);
      let conflicts = 0;
      await Promise.all(
        items.map(async (item) => {
          for (let attempt = 0; attempt < 100; attempt++) {
            const answer = await addToCart(browser, item);
            if (answer.status === 200) return;
            expect(answer.status).toBe(412);
            conflicts++;
          }
          throw new Error(`${item} was refused 100 times`);
        }),
      );
      expect(conflicts).toBeGreaterThan(0); // they did race
      const cart = (await browser.send('/me', { method: 'GET', headers: { 'session-read': '"user", "cart"' } })).json().cart as string[];
      expect([...cart].sort()).toEqual(['first', ...items].sort());
    });
  });
});
