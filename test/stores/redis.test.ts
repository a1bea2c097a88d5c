import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { redisStore } from '../../src/server/stores/redis.js';
import type { SessionStore } from '../../src/server/store.js';
import { storeConformance } from '../store-conformance.js';
import { describeWithServer, REDIS_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

const unreachable = await tcpUnreachable(REDIS_URL);

/** Every key under a prefix (SCAN, never KEYS: the server is shared). */
async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

async function deletePrefix(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL);
  try {
    const keys = await keysUnder(admin, prefix);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
}

describeWithServer('redisStore', `Redis at ${REDIS_URL}`, unreachable, () => {
  const prefix = `sl-test-${uniqueSuffix()}:`;
  // Each open() is its own connection: the suite's two stores act as two app servers.
  storeConformance('redisStore', { open: () => redisStore({ url: REDIS_URL, prefix }), cleanup: () => deletePrefix(prefix) });
});

describeWithServer('redisStore specifics', `Redis at ${REDIS_URL}`, unreachable, () => {
  const prefix = `sl-test-${uniqueSuffix()}:`;
  let client: Redis;
  let store: SessionStore;
  const sent: string[] = [];

  beforeAll(async () => {
    client = new Redis(REDIS_URL);
    await client.ping();
    // Count what goes on the wire: every command ioredis sends passes through sendCommand.
    const original = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (original as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof client.sendCommand;
    store = redisStore({ client, prefix });
  });

  afterAll(async () => {
    await store.close(); // a client of our own stays open
    expect(client.status).toBe('ready');
    client.disconnect();
    await deletePrefix(prefix);
  });

  it('makes each call one round trip: one script by SHA (the first on a connection by EVAL)', async () => {
    const now = Date.now();
    const sessionId = `rt-${uniqueSuffix()}`;
    sent.length = 0;
    const created = await store.commit({
      sessionId,
      now,
      session: { mode: 'create', epoch: 'e1' },
      expect: new Map([['a', 0], ['b', 0]]),
      changes: new Map([['a', '1'], ['b', '2']]),
      destroy: false,
      idleTtlMs: 60_000,
    });
    expect(created.status).toBe('committed');
    expect(sent).toHaveLength(1);
    sent.length = 0;
    const read = await store.begin({ sessionId, keys: ['a', 'b', 'c'], claim: { key: 'idem-rt-000000001', fingerprint: 'f', leaseMs: 30_000, token: 'attempt-1' }, touch: { idleTtlMs: 60_000 }, now });
    expect(read.claim).toEqual({ status: 'claimed' });
    expect(sent).toHaveLength(1);
    sent.length = 0;
    await store.commit({
      sessionId,
      now,
      session: { mode: 'existing', epoch: 'e1' },
      expect: new Map([['a', 1], ['b', 1], ['c', 0]]),
      changes: new Map([['a', '3']]),
      destroy: false,
      idleTtlMs: 60_000,
      record: { key: 'idem-rt-000000001', fingerprint: 'f', answer: 'x', state: 'done', retentionMs: 60_000, leaseMs: 30_000, token: 'attempt-1' },
    });
    await store.release({ sessionId, key: 'idem-rt-000000002', token: 'attempt-1' });
    await store.touch({ sessionId, epoch: 'e1', idleTtlMs: 60_000, now });
    await store.begin({ sessionId, keys: ['a'], now });
    expect(sent).toHaveLength(4);
    expect(sent.every((name) => name === 'evalsha' || name === 'eval')).toBe(true);
  });

  it('keeps every key of a session, its records included, under one hash tag, with a garbage-collection TTL', async () => {
    const now = Date.now();
    const tagged = redisStore({ client, prefix: `${prefix}tags:` });
    for (const sessionId of ['plain-id', 'with}brace{s', '~tilde']) {
      await tagged.begin({ sessionId, keys: [], claim: { key: 'idem-tag-00000001', fingerprint: 'f', leaseMs: 30_000, token: 'attempt-1' }, now });
      await tagged.commit({
        sessionId,
        now,
        session: { mode: 'create', epoch: 'e1' },
        expect: new Map([['a', 0]]),
        changes: new Map([['a', '1']]),
        destroy: false,
        idleTtlMs: 60_000,
        record: { key: 'idem-tag-00000001', fingerprint: 'f', answer: 'x', state: 'done', retentionMs: 120_000, leaseMs: 30_000, token: 'attempt-1' },
      });
    }
    const keys = await keysUnder(client, `${prefix}tags:`);
    const tags = new Map<string, string[]>();
    for (const key of keys) {
      const tag = /\{([^}]*)\}/.exec(key)?.[1];
      expect(tag, key).toBeTruthy();
      tags.set(tag!, [...(tags.get(tag!) ?? []), key]);
      const ttl = await client.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(120_000);
    }
    // Three sessions, each with meta, versions, values, one record and the record index, each set under one tag.
    expect([...tags.values()].map((group) => group.length).sort()).toEqual([5, 5, 5]);
    expect(tags.has('plain-id')).toBe(true);
  });

  it('rejects a prefix with a brace', () => {
    expect(() => redisStore({ client, prefix: 'a{b}:' })).toThrow(TypeError);
  });
});
