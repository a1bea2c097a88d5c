import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/race/checker.js';
import { HISTORY_FORMAT, type History, type Operation } from '../../src/race/history.js';

// Hand-written histories, each the smallest that shows (or must not show) one anomaly.
const URL_BASE = 'http://127.0.0.1:1';
let next = 0;
type Fields = Omit<Operation, 'id' | 'method' | 'url' | 'process'> & Pick<Partial<Operation>, 'id' | 'method' | 'url' | 'process'>;
function op(fields: Fields): Operation {
  next += 1;
  const write = fields.kind === 'append' || fields.kind === 'increment';
  return { id: `op-${next}`, process: 'client-1', method: write ? 'POST' : 'GET', url: `${URL_BASE}/${fields.kind}`, ...fields } as Operation;
}
const append = (token: string, sentAt: number, answeredAt: number | undefined, status: number | undefined, extra: Partial<Operation> = {}) =>
  op({ kind: 'append', token, sentAt, ...(answeredAt === undefined ? {} : { answeredAt }), ...(status === undefined ? {} : { status }), session: 's1', ...extra } as Fields);
const finalRead = (observed: string[], sentAt = 100, extra: Partial<Operation> = {}) =>
  op({ kind: 'read', sentAt, answeredAt: sentAt + 2, status: 200, observed, final: true, session: 's1', ...extra } as Fields);
const history = (...operations: Operation[]): History => ({
  format: HISTORY_FORMAT,
  seed: 1,
  scenario: 'test',
  driver: 'hand',
  target: URL_BASE,
  startedAt: '2026-01-01T00:00:00.000Z',
  operations,
});
const kinds = (h: History) => checkHistory(h).anomalies.map((anomaly) => `${anomaly.kind}:${anomaly.token ?? ''}`);

describe('checkHistory: clean histories pass', () => {
  it('every acknowledged token once, indeterminate at most once, rejected absent', () => {
    const h = history(
      append('a', 0, 5, 201),
      append('b', 1, 6, 200, { process: 'client-2' }),
      append('c', 2, undefined, undefined, { error: 'socket hang up' }),
      append('d', 2, 7, 503),
      append('e', 3, 8, 412),
      append('f', 3, 8, 409),
      finalRead(['a', 'b', 'd']),
    );
    const result = checkHistory(h);
    expect(result.anomalies).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.counts).toMatchObject({ operations: 7, writes: 6, reads: 1, finalReads: 1, acknowledged: 2, rejected: 1, indeterminate: 3 });
  });

  it('a login rotation keeps the data: a write of the old cookie is found under the new one', () => {
    const h = history(
      append('a', 0, 20, 201),
      op({ kind: 'login', sentAt: 5, answeredAt: 10, status: 200, session: 's1', sessionAfter: 's2' }),
      append('b', 12, 18, 201, { session: 's2' }),
      finalRead(['a', 'b'], 100, { session: 's2' }),
    );
    expect(kinds(h)).toEqual([]);
  });

  it('after a logout, writes of the ended session need not be there; the new session is judged alone', () => {
    const h = history(
      append('a', 0, 5, 201),
      op({ kind: 'logout', sentAt: 6, answeredAt: 9, status: 204, session: 's1', sessionAfter: '' }),
      op({ kind: 'append', token: 'b', sentAt: 12, answeredAt: 15, status: 201, sessionAfter: 's2' }),
      finalRead(['b'], 100, { session: 's2' }),
    );
    expect(kinds(h)).toEqual([]);
  });

  it('increments between acknowledged and acknowledged + indeterminate', () => {
    const writes = [op({ kind: 'increment', token: 'i1', sentAt: 0, answeredAt: 4, status: 200, session: 's1' }), op({ kind: 'increment', token: 'i2', sentAt: 1, status: 502, answeredAt: 3, session: 's1' })];
    for (const count of [1, 2]) {
      expect(kinds(history(...writes, op({ kind: 'read', sentAt: 50, answeredAt: 52, status: 200, observedCount: count, final: true, session: 's1' })))).toEqual([]);
    }
  });

  it('a flash handed out once, by any consuming read, passes', () => {
    const h = history(
      append('m1', 0, 5, 201),
      append('m2', 1, 6, 201),
      op({ kind: 'read', sentAt: 7, answeredAt: 9, status: 200, observed: ['m1'], consumes: true, session: 's1' }),
      finalRead(['m2'], 100, { consumes: true }),
    );
    expect(kinds(h)).toEqual([]);
  });
});

describe('checkHistory: each anomaly is found, with its witness', () => {
  it('lost-write: the Rails case, a slow and a fast write to different keys', () => {
    const slow = append('slow-1', 0, 30, 200, { key: 'cart', process: 'client-1' });
    const fast = append('fast-1', 5, 10, 200, { key: 'prefs', process: 'client-2' });
    const read = finalRead(['slow-1']);
    const result = checkHistory(history(slow, fast, read));
    expect(result.valid).toBe(false);
    expect(result.anomalies).toHaveLength(1);
    const [anomaly] = result.anomalies;
    expect(anomaly).toMatchObject({ kind: 'lost-write', token: 'fast-1', session: 's1#0' });
    expect(anomaly!.witness.acknowledgement).toEqual({ operation: fast.id, status: 200, at: 10 });
    expect(anomaly!.witness.read).toEqual({ operation: read.id, at: 102, holds: 1 });
    expect(anomaly!.witness.operations.map((step) => [step.id, step.role])).toEqual([
      [slow.id, 'overlapping'],
      [fast.id, 'write'],
      [read.id, 'read'],
    ]);
    expect(anomaly!.text).toContain("client-2's POST /append (token fast-1), sent at 5.0 ms, answered 200 at 10.0 ms");
    expect(anomaly!.text).toContain('lacks its token');
    expect(result.counts.anomalies['lost-write']).toBe(1);
  });

  it('duplicated-write: an indeterminate write applied twice', () => {
    expect(kinds(history(append('a', 0, 5, 503), finalRead(['a', 'a'])))).toEqual(['duplicated-write:a']);
  });

  it('rejected-write-applied: a 4xx write whose token shows up', () => {
    expect(kinds(history(append('a', 0, 5, 412), finalRead(['a'])))).toEqual(['rejected-write-applied:a']);
  });

  it('crossed-logout: a write sent before the logout answered lands in the next session', () => {
    const write = append('a', 5, 20, 200, { sessionAfter: 's2' });
    const logout = op({ kind: 'logout', sentAt: 4, answeredAt: 10, status: 200, session: 's1', sessionAfter: '' });
    const login = op({ kind: 'login', sentAt: 30, answeredAt: 32, status: 200, session: 's2', sessionAfter: 's2' });
    const read = finalRead(['a'], 100, { session: 's2' });
    const result = checkHistory(history(logout, write, login, read));
    expect(result.anomalies.map((anomaly) => anomaly.kind)).toEqual(['crossed-logout']);
    expect(result.anomalies[0]!.witness.operations.map((step) => step.role)).toEqual(['logout', 'write', 'read']);
  });

  it('crossed-logout also when the server resurrects the old cookie name', () => {
    const write = append('a', 5, 20, 200);
    const logout = op({ kind: 'logout', sentAt: 4, answeredAt: 10, status: 200, session: 's1', sessionAfter: '' });
    expect(kinds(history(logout, write, finalRead(['a'], 100)))).toEqual(['crossed-logout:a']);
  });

  it('a write sent after the logout answered may rightly make the new session', () => {
    const logout = op({ kind: 'logout', sentAt: 4, answeredAt: 10, status: 200, session: 's1', sessionAfter: '' });
    const write = op({ kind: 'append', token: 'a', sentAt: 11, answeredAt: 20, status: 201, sessionAfter: 's2' });
    expect(kinds(history(logout, write, finalRead(['a'], 100, { session: 's2' })))).toEqual([]);
  });

  it('misplaced-write: a token in a session it was never sent in', () => {
    const other = append('b', 0, 4, 200, { session: 's2' });
    expect(kinds(history(append('a', 0, 5, 200), other, finalRead(['a']), finalRead(['a', 'b'], 100, { session: 's2' })))).toEqual(['misplaced-write:a']);
  });

  it('lost-increment and phantom-increment', () => {
    const writes = [1, 2, 3].map((n) => op({ kind: 'increment', token: `i${n}`, sentAt: n, answeredAt: n + 4, status: 200, session: 's1' }));
    const count = (observedCount: number) => op({ kind: 'read', sentAt: 50, answeredAt: 52, status: 200, observedCount, final: true, session: 's1' });
    expect(kinds(history(...writes, count(2)))).toEqual(['lost-increment:']);
    expect(kinds(history(...writes, count(4)))).toEqual(['phantom-increment:']);
    expect(checkHistory(history(...writes, count(2))).anomalies[0]!.text).toContain('1 acknowledged increments vanished');
  });

  it('flash: read twice, or lost', () => {
    const twice = history(
      append('m1', 0, 5, 201),
      op({ kind: 'read', sentAt: 7, answeredAt: 9, status: 200, observed: ['m1'], consumes: true, session: 's1' }),
      op({ kind: 'read', sentAt: 8, answeredAt: 10, status: 200, observed: ['m1'], consumes: true, session: 's1', process: 'client-2' }),
      finalRead([], 100, { consumes: true }),
    );
    expect(kinds(twice)).toEqual(['duplicated-write:m1']);
    const lost = history(append('m1', 0, 5, 201), op({ kind: 'read', sentAt: 1, answeredAt: 9, status: 200, observed: [], consumes: true, session: 's1' }), finalRead([], 100, { consumes: true }));
    expect(kinds(lost)).toEqual(['lost-write:m1']);
  });

  it('no-final-read: acknowledged writes but the final read failed', () => {
    const read = op({ kind: 'read', sentAt: 100, answeredAt: 102, status: 500, final: true, session: 's1' });
    expect(kinds(history(append('a', 0, 5, 201), read))).toEqual(['no-final-read:']);
    expect(kinds(history(append('a', 0, 5, 201)))).toEqual(['no-final-read:']);
  });

  it('lost-write when a competing Set-Cookie abandoned the session a write landed in', () => {
    const first = op({ kind: 'append', token: 'a', sentAt: 0, answeredAt: 5, status: 201, sessionAfter: 'x' });
    const second = op({ kind: 'append', token: 'b', sentAt: 0, answeredAt: 6, status: 201, sessionAfter: 'y' });
    expect(kinds(history(first, second, finalRead(['b'], 100, { session: 'y' })))).toEqual(['lost-write:a']);
  });

  it('refuses a history in another format or with a token carried twice', () => {
    expect(() => checkHistory({ ...history(), format: 'other' } as unknown as History)).toThrow(TypeError);
    expect(() => checkHistory(history(append('a', 0, 1, 200), append('a', 0, 1, 200)))).toThrow(/token a is carried by two writes/);
  });
});
