import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createLanes, initialLanes, reduceLanes, type LaneClaim, type LaneState } from '../../src/client/lanes.js';

const r = (key: string): LaneClaim => ({ key, write: false });
const w = (key: string): LaneClaim => ({ key, write: true });
const ids = (state: LaneState) => ({ held: state.held.map((e) => e.id), waiting: state.waiting.map((e) => e.id) });

describe('reduceLanes (pure)', () => {
  test('writers of one key run one at a time, in arrival order', () => {
    let s = initialLanes;
    s = reduceLanes(s, { type: 'request', entry: { id: 1, claims: [w('a')] } });
    s = reduceLanes(s, { type: 'request', entry: { id: 2, claims: [w('a')] } });
    s = reduceLanes(s, { type: 'request', entry: { id: 3, claims: [w('b')] } });
    expect(ids(s)).toEqual({ held: [1, 3], waiting: [2] });
    s = reduceLanes(s, { type: 'release', id: 1 });
    expect(ids(s)).toEqual({ held: [3, 2], waiting: [] });
  });

  test('readers share; a writer waits for them; readers after a waiting writer wait too (no starvation)', () => {
    let s = initialLanes;
    for (const [id, claims] of [[1, [r('a')]], [2, [r('a')]], [3, [w('a')]], [4, [r('a')]]] as const) s = reduceLanes(s, { type: 'request', entry: { id, claims } });
    expect(ids(s)).toEqual({ held: [1, 2], waiting: [3, 4] });
    s = reduceLanes(s, { type: 'release', id: 1 });
    expect(ids(s)).toEqual({ held: [2], waiting: [3, 4] });
    s = reduceLanes(s, { type: 'release', id: 2 });
    expect(ids(s)).toEqual({ held: [3], waiting: [4] });
    s = reduceLanes(s, { type: 'release', id: 3 });
    expect(ids(s)).toEqual({ held: [4], waiting: [] });
  });

  test('all keys at once, first come first served per key', () => {
    let s = initialLanes;
    s = reduceLanes(s, { type: 'request', entry: { id: 1, claims: [w('a')] } });
    s = reduceLanes(s, { type: 'request', entry: { id: 2, claims: [w('a'), w('b')] } }); // waits on a, keeps b for itself
    s = reduceLanes(s, { type: 'request', entry: { id: 3, claims: [w('b')] } }); // b is free, but 2 came first
    s = reduceLanes(s, { type: 'request', entry: { id: 4, claims: [w('c')] } });
    expect(ids(s)).toEqual({ held: [1, 4], waiting: [2, 3] });
    s = reduceLanes(s, { type: 'release', id: 1 });
    expect(ids(s)).toEqual({ held: [4, 2], waiting: [3] });
  });

  test('a waiter that leaves (abort) frees the keys it kept', () => {
    let s = initialLanes;
    s = reduceLanes(s, { type: 'request', entry: { id: 1, claims: [w('a')] } });
    s = reduceLanes(s, { type: 'request', entry: { id: 2, claims: [w('a'), w('b')] } });
    s = reduceLanes(s, { type: 'request', entry: { id: 3, claims: [r('b')] } });
    expect(ids(s)).toEqual({ held: [1], waiting: [2, 3] });
    s = reduceLanes(s, { type: 'release', id: 2 });
    expect(ids(s)).toEqual({ held: [1, 3], waiting: [] });
  });

  test('random workloads: never a conflicting pair held, never stuck, every request served', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const request = fc.uniqueArray(fc.tuple(fc.constantFrom(...keys), fc.boolean()), { selector: ([k]) => k, maxLength: 5 });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 200 }), (requests, picks) => {
        let s = initialLanes;
        requests.forEach((claims, i) => (s = reduceLanes(s, { type: 'request', entry: { id: i, claims: claims.map(([key, write]) => ({ key, write })) } })));
        const done: number[] = [];
        let step = 0;
        while (s.held.length > 0 || s.waiting.length > 0) {
          // No deadlock: somebody holds lanes whenever somebody waits.
          expect(s.held.length).toBeGreaterThan(0);
          for (const [i, x] of s.held.entries())
            for (const y of s.held.slice(i + 1))
              for (const cx of x.claims) for (const cy of y.claims) expect(cx.key === cy.key && (cx.write || cy.write)).toBe(false);
          const victim = s.held[(picks[step++] ?? 0) % s.held.length]!;
          done.push(victim.id);
          s = reduceLanes(s, { type: 'release', id: victim.id });
        }
        expect(done.sort((x, y) => x - y)).toEqual(requests.map((_, i) => i));
      }),
      { numRuns: 500 },
    );
  });
});

describe('createLanes (promises)', () => {
  test('exact order of grants and releases', async () => {
    const lanes = createLanes();
    const log: string[] = [];
    const run = async (name: string, claims: LaneClaim[], hold: Promise<void>) => {
      const release = await lanes.acquire(claims);
      log.push(`start-${name}`);
      await hold;
      log.push(`finish-${name}`);
      release();
    };
    let openA!: () => void;
    const a = run('A', [w('k')], new Promise((resolve) => (openA = resolve)));
    const b = run('B', [r('k')], Promise.resolve());
    const c = run('C', [r('k')], Promise.resolve());
    const d = run('D', [w('other')], Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log).toEqual(['start-A', 'start-D', 'finish-D']);
    openA();
    await Promise.all([a, b, c, d]);
    expect(log).toEqual(['start-A', 'start-D', 'finish-D', 'finish-A', 'start-B', 'start-C', 'finish-B', 'finish-C']);
    expect(lanes.state()).toEqual(initialLanes);
  });

  test('an abort while queued leaves the queue with the signal reason; a second release is harmless', async () => {
    const lanes = createLanes();
    const first = await lanes.acquire([w('k')]);
    const controller = new AbortController();
    const queued = lanes.acquire([w('k')], controller.signal);
    const after = lanes.acquire([w('k')]);
    controller.abort(new Error('stop'));
    await expect(queued).rejects.toThrow('stop');
    first();
    first();
    const third = await after;
    expect(ids(lanes.state())).toEqual({ held: [3], waiting: [] });
    third();
    expect(lanes.state()).toEqual(initialLanes);
    await expect(lanes.acquire([w('k')], AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
