// Issue 11: what the client keeps (values of declared keys only) and which outbox entries it replays (pure checks).
import { describe, expect, test } from 'vitest';
import { createSessionClient, memoryVersionCache } from '../../src/client/index.js';
import { orphanFate, storedHeader, wellFormed } from '../../src/client/outbox.js';
import { PROBLEM } from '../../src/protocol/problems.js';

describe('values the client stores', () => {
  test('a 412 carrying a key the request did not declare: its value is never stored', async () => {
    const answers = [
      new Response(JSON.stringify({ type: PROBLEM.stale.type, title: 't', status: 412, keys: { n: { version: 1, value: 1 }, role: { version: 3, value: 'admin-secret' } } }), {
        status: 412,
        headers: { 'content-type': 'application/problem+json', 'session-epoch': '"E1"', 'session-versions': '"n";v=1' },
      }),
      new Response(null, { status: 200, headers: { 'session-epoch': '"E1"', 'session-versions': '"n";v=2' } }),
    ];
    const cache = memoryVersionCache();
    const client = createSessionClient({ fetch: async () => answers.shift()!, cache, pending: { put() {}, delete() {} }, backoff: 0 });
    expect((await client.fetch('http://x/n', { method: 'POST', session: { writes: ['n'], rebase: (current) => ({ body: JSON.stringify(current) }) } })).status).toBe(200);
    expect(cache.get('role')).toBeUndefined();
    expect(client.versions()).toEqual({ n: 2 });
  });
});

describe('outbox entries (pure)', () => {
  const now = 1_000_000;
  const entry = {
    key: 'k-00000000000000000000',
    epoch: 'E1',
    reads: [],
    writes: ['n'],
    blind: true,
    rebase: false,
    at: now - 10,
    tab: 't1',
    url: 'https://app.example/api/n',
    method: 'POST',
    headers: [['session-write', '"n"']],
    sent: true,
  };
  test('well formed: every field with its type, no other, at not in the future', () => {
    expect(wellFormed(entry, now)).toBe(true);
    expect(wellFormed({ ...entry, epoch: undefined, body: 'x' }, now)).toBe(true);
    expect(wellFormed({ ...entry, body: new Blob(['x']) }, now)).toBe(true);
    for (const bad of [
      { ...entry, at: now + 1 },
      { ...entry, extra: 1 },
      (({ url: _, ...rest }) => rest)(entry),
      { ...entry, writes: 'n' },
      { ...entry, reads: [1] },
      { ...entry, sent: 'yes' },
      { ...entry, headers: [['a', 1]] },
      { ...entry, headers: {} },
      { ...entry, body: { not: 'storable' } },
      { ...entry, epoch: 5 },
    ]) {
      expect(wellFormed(bad as never, now), JSON.stringify(bad)).toBe(false);
    }
  });
  test('headers: the session headers, content-type and those listed; never authorization, cookie or proxy-*', () => {
    for (const name of ['session-read', 'session-write', 'session-epoch', 'idempotency-key', 'content-type']) expect(storedHeader(name, [])).toBe(true);
    expect(storedHeader('x-csrf-token', [])).toBe(false);
    expect(storedHeader('x-csrf-token', ['x-csrf-token'])).toBe(true);
    for (const name of ['authorization', 'cookie', 'proxy-authorization']) expect(storedHeader(name, [name])).toBe(false);
  });
  test('a write that knows no epoch, sent or not, is not durable past the 120 s replay window', () => {
    expect(orphanFate({ at: now - 121_000, rebase: false, sent: {}, epoch: undefined }, now, 86_400_000)).toBe('expired');
    expect(orphanFate({ at: now - 119_000, rebase: false, sent: {}, epoch: undefined }, now, 86_400_000)).toBe('replay');
    expect(orphanFate({ at: now - 121_000, rebase: false, sent: {}, epoch: 'E1' }, now, 86_400_000)).toBe('replay');
    // Never sent, made while no epoch was known: it would go out in whatever session exists by then.
    expect(orphanFate({ at: now - 121_000, rebase: false, epoch: undefined }, now, 86_400_000)).toBe('expired');
    expect(orphanFate({ at: now - 119_000, rebase: false, epoch: undefined }, now, 86_400_000)).toBe('send');
    expect(orphanFate({ at: now - 121_000, rebase: false, epoch: 'E1' }, now, 86_400_000)).toBe('send');
  });
  test('well formed: the shape with rotates and ends (this release) and the one without (0.1.0); each flag a boolean', () => {
    expect(wellFormed({ ...entry, rotates: false, ends: true }, now)).toBe(true);
    expect(wellFormed({ ...entry, rotates: true }, now)).toBe(true);
    expect(wellFormed(entry, now)).toBe(true);
    for (const bad of [{ ...entry, rotates: 'yes' }, { ...entry, ends: 1 }, { ...entry, rotates: false, ends: null }]) {
      expect(wellFormed(bad as never, now), JSON.stringify(bad)).toBe(false);
    }
  });
});
