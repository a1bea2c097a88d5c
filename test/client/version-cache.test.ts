import { describe, expect, it, test } from 'vitest';
import { emptyCache, followEpoch, learnState, memoryVersionCache } from '../../src/client/version-cache.js';

test('versions never move backwards; a value is kept only at its version', () => {
  const cache = memoryVersionCache();
  cache.learn(undefined, 'E1', [['a', { version: 3, known: true, value: [1] }]]);
  expect(cache.epoch()).toBe('E1');
  cache.learn('E1', 'E1', [['a', { version: 2, known: false }]]);
  expect(cache.get('a')).toEqual({ version: 3, known: true, value: [1] });
  cache.learn('E1', 'E1', [['a', { version: 3, known: false }]]);
  expect(cache.get('a')).toEqual({ version: 3, known: true, value: [1] });
  cache.learn('E1', 'E1', [['a', { version: 4, known: false }]]);
  expect(cache.get('a')).toEqual({ version: 4, known: false });
  cache.learn('E1', 'E1', [['a', { version: 4, known: true }]]);
  expect(cache.get('a')).toEqual({ version: 4, known: true });
  expect(cache.versions()).toEqual({ a: 4 });
});

test('a new epoch replaces what is known, unless the answer is a late one of an older session', () => {
  const cache = memoryVersionCache();
  cache.learn(undefined, '', [['a', { version: 0, known: true }]]);
  expect(cache.epoch()).toBe('');
  cache.learn(undefined, 'E1', [['a', { version: 1, known: false }]]);
  expect(cache.epoch()).toBe('E1');
  cache.learn('E1', 'E2', [['b', { version: 5, known: false }]]);
  expect(cache.epoch()).toBe('E2');
  expect(cache.versions()).toEqual({ b: 5 });
  // Sent for E1, answered in E1, after the cache moved on: ignored.
  cache.learn('E1', 'E1', [['a', { version: 9, known: false }]]);
  expect(cache.epoch()).toBe('E2');
  expect(cache.versions()).toEqual({ b: 5 });
});

test('void forgets only the epoch it names', () => {
  const cache = memoryVersionCache();
  cache.learn(undefined, 'E2', [['b', { version: 5, known: false }]]);
  cache.void('E1');
  expect(cache.epoch()).toBe('E2');
  cache.void('E2');
  // A tombstone: no session ('' is not known, so the next write may create one)...
  expect(cache.epoch()).toBe('');
  expect(cache.versions()).toEqual({});
  // ...so that a late answer of the ended session is refused, while a new session's answer is taken.
  cache.learn('E2', 'E2', [['b', { version: 6, known: false }]]);
  expect(cache.epoch()).toBe('');
  cache.learn(undefined, 'E3', [['b', { version: 1, known: false }]]);
  expect(cache.epoch()).toBe('E3');
  expect(cache.versions()).toEqual({ b: 1 });
});

test('the pure transitions are public, as docs/client.md says (for a VersionCache of your own)', async () => {
  const { learnState, voidState } = await import('../../src/client/index.js');
  const state = learnState({ epoch: undefined, keys: new Map() }, undefined, 'E1', [['a', { version: 1, known: false }]]);
  expect(state.epoch).toBe('E1');
  expect(voidState(state, 'E1')).toEqual({ epoch: '', keys: new Map() });
});

test('followEpoch: left(E) once each time the epoch moves away from session E; never for no session or nothing known', async () => {
  const { followEpoch } = await import('../../src/client/version-cache.js');
  const left: string[] = [];
  const follow = followEpoch((epoch) => left.push(epoch));
  for (const epoch of [undefined, '', 'E1', 'E1', '', '', 'E2', 'E3', undefined]) follow(epoch);
  expect(left).toEqual(['E1', 'E2', 'E3']);
  const started = followEpoch((epoch) => left.push(epoch), 'E4');
  started('');
  expect(left).toEqual(['E1', 'E2', 'E3', 'E4']);
});

describe('rotation (a login): learnState and followEpoch', () => {
  const known = (version: number) => ({ version, known: false });
  const at = (epoch: string, keys: [string, number][]) => learnState(emptyCache, undefined, epoch, keys.map(([key, version]) => [key, known(version)] as const));

  it('moves the versions to the new epoch when the keys were kept, and remembers where it came from', () => {
    const state = learnState(at('E1', [['n', 4]]), 'E1', 'E2', [['user', known(1)]], ['E1', true]);
    expect(state.epoch).toBe('E2');
    expect(state.from).toBe('E1');
    expect(Object.fromEntries([...state.keys].map(([key, value]) => [key, value.version]))).toEqual({ n: 4, user: 1 });
    // A later answer of the new epoch keeps `from`, so a tab that reads the cache late still sees a rotation.
    expect(learnState(state, 'E2', 'E2', [['n', known(5)]]).from).toBe('E1');
  });

  it('starts empty when the keys were dropped, and takes a rotation learned by a request sent without the old epoch', () => {
    const state = learnState(at('E1', [['n', 4]]), undefined, 'E2', [['user', known(0)]], ['E1', false]);
    expect(state.epoch).toBe('E2');
    expect([...state.keys.keys()]).toEqual(['user']);
  });

  it('refuses a rotation of another epoch than the one it holds', () => {
    const state = at('E9', [['n', 1]]);
    expect(learnState(state, 'E1', 'E2', [], ['E1', true])).toBe(state);
  });

  it('followEpoch tells a rotation (to) from an end', () => {
    const left: [string, string | undefined][] = [];
    const follow = followEpoch((epoch, to) => left.push([epoch, to]), 'E1');
    follow('E2', 'E1');
    follow('');
    expect(left).toEqual([
      ['E1', 'E2'],
      ['E2', undefined],
    ]);
  });
});
