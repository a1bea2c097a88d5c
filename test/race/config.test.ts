import { describe, expect, it } from 'vitest';
import { defineRaceConfig, resolveRaceConfig, type RaceConfig } from '../../src/race/config.js';
import { buildRequest } from '../../src/race/template.js';

const base: RaceConfig = { target: 'http://127.0.0.1:3000', writer: { path: '/cart/add', body: { sku: '{token}' } }, reader: { path: '/cart', tokens: (body) => body as string[] } };

describe('defineRaceConfig', () => {
  it('fills the defaults', () => {
    expect(defineRaceConfig(base)).toBe(base);
    expect(resolveRaceConfig(base)).toMatchObject({ target: 'http://127.0.0.1:3000', clients: 4, operations: 40, delayMs: [0, 10], timeoutMs: 5000, page: '/' });
    expect(resolveRaceConfig({ ...base, delayMs: 4 }).delayMs).toEqual([0, 4]);
  });

  it.each([
    [{ target: 'localhost:3000' }, 'race config: target must be an absolute http(s) URL such as "http://127.0.0.1:3000", got "localhost:3000"'],
    [{ writer: { path: '/cart/add' } }, 'race config: writer must hold the {token} placeholder in its path, body or headers, so that a read can name the write'],
    [{ writer: { path: 'cart', body: '{token}' } }, 'race config: writer.path must be a path starting with "/", got "cart"'],
    [{ writer: [] }, 'race config: writer must not be an empty array'],
    [{ writer: { path: '/{key}?t={token}' } }, "race config: writer uses {key} but gives no keys: add keys: ['a', 'b']"],
    [{ writer: { write: 'app.add' } }, 'race config: writer.write must be a function (token) => …, got string'],
    [{ reader: { path: '/cart' } }, 'race config: reader needs tokens: (body) => string[] (or count: (body) => number for increments)'],
    [{ clients: 0 }, 'race config: clients must be a positive integer, got 0'],
    [{ delayMs: [5, 1] }, 'race config: delayMs must be a maximum ≥ 0 or a [min, max] range with 0 ≤ min ≤ max, got [5,1]'],
    [{ cookie: 'a b' }, 'race config: cookie must be a cookie name, got "a b"'],
  ])('rejects %j', (change, message) => {
    expect(() => defineRaceConfig({ ...base, ...change } as unknown as RaceConfig)).toThrow(new TypeError(message));
  });

  it('fills {token} and {key} into the path, headers and body', () => {
    const { writers } = resolveRaceConfig({ ...base, writer: { path: '/{key}/add?t={token}', keys: ['cart'], body: { items: ['{token}'] }, headers: { 'Idempotency-Key': '"{token}"' } } });
    expect(buildRequest('http://127.0.0.1:3000', writers[0]!.request!, { token: 'tok1', key: 'cart' })).toEqual({
      method: 'POST',
      url: 'http://127.0.0.1:3000/cart/add?t=tok1',
      headers: { 'idempotency-key': '"tok1"', 'content-type': 'application/json' },
      body: '{"items":["tok1"]}',
    });
  });
});
