import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore, type RedisStoreOptions } from '../../src/server/stores/redis.js';
import { StoreUnavailableError, type SessionStore } from '../../src/server/store.js';
import { startRedis, type PrivateRedis } from '../support/private-servers.js';
import { uniqueSuffix } from '../support/stores.js';

/**
 * The reserve's rules, one at a time, through the store's own calls (the
 * flood over HTTP is redis-reserve.test.ts). A private Redis with a
 * maxmemory of 64mb and a share of 0.001 is always "above the share"; a
 * store with share 1 on the same keys is the same Redis before the flood.
 */

const RETENTION = 48 * 3_600_000;
const IDLE = 14 * 24 * 3_600_000;
const T0 = 1_800_000_000_000;

let redis: PrivateRedis;
const opened: SessionStore[] = [];
beforeAll(async () => {
  redis = await startRedis(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
});
afterAll(async () => {
  for (const store of opened) await store.close();
  await redis.stop();
});

/** Two stores on one prefix: `open` never refuses, `full` is above the share. */
function stores(allowance: RedisStoreOptions['allowance'] = {}, prefix = `sl-allowance-${uniqueSuffix()}:`) {
  const open = redisStore({ url: redis.url, prefix, newSessionMemoryShare: 1, allowance });
  const full = redisStore({ url: redis.url, prefix, newSessionMemoryShare: 0.001, allowance });
  opened.push(open, full);
  return { open, full };
}

let counter = 0;
const fresh = (what: string) => `${what}-${uniqueSuffix()}-${counter++}-padding-to-length`;

/** One write through begin (claim) and commit, as the validator makes it. */
async function write(store: SessionStore, sessionId: string, options: { epoch: string; value?: string; create?: boolean; now?: number; key?: string; rotateTo?: string; destroy?: boolean }) {
  const now = options.now ?? T0;
  const claim = { key: options.key ?? fresh('k'), fingerprint: 'fp', leaseMs: 60_000, token: fresh('t') };
  const begun = await store.begin({ sessionId, keys: ['v'], claim, now });
  if (begun.claim?.status !== 'claimed') return begun.claim;
  const version = begun.entries.get('v')?.version ?? 0;
  return store.commit({
    sessionId,
    session: { mode: options.create ? 'create' : 'existing', epoch: options.epoch },
    expect: new Map([['v', version]]),
    changes: options.destroy ? new Map() : new Map([['v', JSON.stringify(options.value ?? 'x')]]),
    destroy: options.destroy === true,
    record: { key: claim.key, fingerprint: 'fp', answer: '{"ok":true}', state: 'done', retentionMs: RETENTION, leaseMs: 60_000, token: claim.token },
    ...(options.rotateTo ? { rotate: { sessionId: options.rotateTo, epoch: 'e2', keepKeys: true, replayWindowMs: 120_000 } } : {}),
    idleTtlMs: IDLE,
    now,
  });
}

const refused = expect.objectContaining({ name: 'StoreUnavailableError', message: expect.stringContaining('refused') });

describe('redisStore reserve: above the share', () => {
  it('refuses a new session (its claim and its creating commit); below the share the same is admitted', async () => {
    const { open, full } = stores();
    await expect(write(full, fresh('s'), { epoch: 'e', create: true })).rejects.toEqual(refused);
    await expect(write(full, fresh('s'), { epoch: 'e', create: true })).rejects.toBeInstanceOf(StoreUnavailableError);
    // A claim made below the share, committed above it: the creating commit itself is refused, and the claim released.
    const id = fresh('s');
    const claim = { key: fresh('k'), fingerprint: 'fp', leaseMs: 60_000, token: fresh('t') };
    expect((await open.begin({ sessionId: id, keys: ['v'], claim, now: T0 })).claim).toEqual({ status: 'claimed' });
    const commit = { sessionId: id, session: { mode: 'create', epoch: 'e' }, expect: new Map([['v', 0]]), changes: new Map([['v', '1']]), destroy: false, idleTtlMs: IDLE, now: T0 } as const;
    const record = { key: claim.key, fingerprint: 'fp', answer: '{}', state: 'done', retentionMs: RETENTION, leaseMs: 60_000, token: claim.token } as const;
    await expect(full.commit({ ...commit, record })).rejects.toEqual(refused);
    expect((await open.begin({ sessionId: id, keys: ['v'], claim: { ...claim, token: fresh('t') }, now: T0 })).claim).toEqual({ status: 'claimed' });
    expect(await write(open, fresh('s'), { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
  });

  it('lets an established session write within its allowance, refuses the record past it, and still answers reads, touches and resends', async () => {
    const { open, full } = stores({ records: 5 });
    const id = fresh('s');
    const first = fresh('k');
    expect(await write(open, id, { epoch: 'e', create: true, key: first })).toMatchObject({ status: 'committed' });
    for (let n = 2; n <= 5; n++) expect(await write(full, id, { epoch: 'e', value: `v${n}` })).toMatchObject({ status: 'committed' });
    await expect(write(full, id, { epoch: 'e', value: 'v6' })).rejects.toEqual(refused);
    // Nothing of the refused write landed.
    expect((await full.begin({ sessionId: id, keys: ['v'], now: T0 })).entries.get('v')).toEqual({ version: 5, value: '"v5"' });
    await full.touch({ sessionId: id, epoch: 'e', idleTtlMs: IDLE, now: T0 + 1 });
    // A resend of a write it made is answered from its record: no growth.
    expect(await full.begin({ sessionId: id, keys: ['v'], claim: { key: first, fingerprint: 'fp', leaseMs: 60_000, token: fresh('t') }, now: T0 })).toMatchObject({ claim: { status: 'replay' } });
    // Past its allowance even its logout is refused (its claim is a record), until Redis is below the share again…
    await expect(write(full, id, { epoch: 'e', destroy: true })).rejects.toEqual(refused);
    // …where the same session may grow past its allowance.
    expect(await write(open, id, { epoch: 'e', value: 'v6' })).toMatchObject({ status: 'committed' });
    // Another session within its allowance logs out above the share.
    const other = fresh('s');
    expect(await write(open, other, { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
    expect(await write(full, other, { epoch: 'e', destroy: true })).toMatchObject({ status: 'committed' });
    expect((await full.begin({ sessionId: other, keys: ['v'], now: T0 })).session).toBeNull();
  });

  it('counts records over one to two retention periods: two periods later the session has room again', async () => {
    const { open, full } = stores({ records: 3 });
    const id = fresh('s');
    expect(await write(open, id, { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
    for (let n = 0; n < 2; n++) expect(await write(full, id, { epoch: 'e', value: `a${n}` })).toMatchObject({ status: 'committed' });
    await expect(write(full, id, { epoch: 'e', value: 'late' })).rejects.toEqual(refused);
    // Its records are still live one period later (made near the start of the window: still counted).
    await expect(write(full, id, { epoch: 'e', value: 'late', now: T0 + RETENTION + 1 })).rejects.toEqual(refused);
    // Two periods after they were made, every one of them is gone.
    expect(await write(full, id, { epoch: 'e', value: 'later', now: T0 + 2 * RETENTION + 1 })).toMatchObject({ status: 'committed' });
  });

  it('bounds the bytes of values and records: a larger value is refused, the same size again is not', async () => {
    const { open, full } = stores({ bytes: 4_000 });
    const id = fresh('s');
    expect(await write(open, id, { epoch: 'e', create: true, value: 'a'.repeat(2_000) })).toMatchObject({ status: 'committed' });
    // Replacing a value by one of the same size adds only the record.
    expect(await write(full, id, { epoch: 'e', value: 'b'.repeat(2_000) })).toMatchObject({ status: 'committed' });
    await expect(write(full, id, { epoch: 'e', value: 'c'.repeat(4_000) })).rejects.toEqual(refused);
    expect(await write(full, id, { epoch: 'e', value: 'small' })).toMatchObject({ status: 'committed' });
  });

  it('bounds rotations across the sessions a login moves to: the account goes with the session', async () => {
    const { open, full } = stores({ rotations: 2 });
    let id = fresh('s');
    expect(await write(open, id, { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
    for (let n = 0; n < 2; n++) {
      const to = fresh('r');
      expect(await write(full, id, { epoch: n === 0 ? 'e' : 'e2', rotateTo: to })).toMatchObject({ status: 'committed' });
      id = to;
    }
    await expect(write(full, id, { epoch: 'e2', rotateTo: fresh('r') })).rejects.toEqual(refused);
    // Its ordinary writes are still within their allowance.
    expect(await write(full, id, { epoch: 'e2', value: 'still' })).toMatchObject({ status: 'committed' });
    // Below the share it may log in past its allowance; above it, past its allowance, it still writes, but logs in no more.
    const next = fresh('r');
    expect(await write(open, id, { epoch: 'e2', rotateTo: next })).toMatchObject({ status: 'committed' });
    expect(await write(full, next, { epoch: 'e2', value: 'again' })).toMatchObject({ status: 'committed' });
    await expect(write(full, next, { epoch: 'e2', rotateTo: fresh('r') })).rejects.toEqual(refused);
  });
});

describe('redisStore reserve under an ACL', () => {
  it('admits new sessions when the ACL denies INFO to the store (the reserve is off, as documented), never refusing every one', async () => {
    await redis.admin.call('ACL', 'SETUSER', 'no-info', 'on', '>a-password', '~*', '+@all', '-info');
    const store = redisStore({ url: redis.url.replace('redis://', 'redis://no-info:a-password@'), prefix: `sl-allowance-${uniqueSuffix()}:`, newSessionMemoryShare: 0.001 });
    opened.push(store);
    expect(await write(store, fresh('s'), { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
  });
});

describe('redisStore record index', () => {
  it("keeps a session's index near its live records: names of claims given back are pruned as new claims come", async () => {
    const prefix = `sl-allowance-${uniqueSuffix()}:`;
    const { open } = stores({}, prefix);
    const id = fresh('s');
    expect(await write(open, id, { epoch: 'e', create: true })).toMatchObject({ status: 'committed' });
    // 40 requests that claim and give back (a 412 does so): before, each left its name in the index for good.
    for (let n = 0; n < 40; n++) {
      const claim = { key: fresh('k'), fingerprint: 'fp', leaseMs: 60_000, token: fresh('t') };
      expect((await open.begin({ sessionId: id, keys: ['v'], claim, now: T0 })).claim).toEqual({ status: 'claimed' });
      await open.release({ sessionId: id, key: claim.key, token: claim.token });
    }
    expect(await redis.admin.scard(`${prefix}{${id}}:ri`)).toBeLessThanOrEqual(4);
  });
});

describe('redisStore allowance options', () => {
  const url = 'redis://127.0.0.1:1';
  it('takes whole numbers of at least 1 for records, bytes and rotations, and nothing else', () => {
    expect(() => redisStore({ url, allowance: { records: 0 } })).toThrow(new TypeError('redisStore(): allowance.records must be a whole number of at least 1, got 0'));
    expect(() => redisStore({ url, allowance: { bytes: 1.5 } })).toThrow(new TypeError('redisStore(): allowance.bytes must be a whole number of at least 1, got 1.5'));
    expect(() => redisStore({ url, allowance: { rotations: '3' as unknown as number } })).toThrow(new TypeError('redisStore(): allowance.rotations must be a whole number of at least 1, got 3'));
    expect(() => redisStore({ url, allowance: { record: 3 } as never })).toThrow(new TypeError('redisStore(): allowance.record is not an option (records, bytes, rotations)'));
    expect(() => redisStore({ url, allowance: 5 as never })).toThrow(new TypeError('redisStore(): allowance must be an object ({ records, bytes, rotations }), got 5'));
  });
});
