import { expect, test } from 'vitest';
import type { SessionClientEvent } from '../../src/client/index.js';
import { toHistory } from '../../src/devtools/index.js';
import { createRecorder } from '../../src/devtools/recorder.js';
import { HISTORY_FORMAT } from '../../src/race/history.js';

// The panel's record of the client's events, as the race kit's history: one operation per request and key, its
// steps as the operation's events, times from the history's start.

const ORIGIN = 1_700_000_000_000;
const request = { reads: [] as string[], writes: ['cart'] };
const events: SessionClientEvent[] = [
  { at: ORIGIN + 10, id: 1, ...request, type: 'queued' },
  { at: ORIGIN + 12, id: 1, ...request, type: 'sent', attempt: 1 },
  { at: ORIGIN + 20, id: 1, ...request, type: 'conflict', attempt: 1 },
  { at: ORIGIN + 20, id: 1, ...request, type: 'retry', reason: 'stale', delay: 5 },
  { at: ORIGIN + 25, id: 1, ...request, type: 'sent', attempt: 2 },
  { at: ORIGIN + 30, id: 1, ...request, type: 'committed', status: 200 },
  { at: ORIGIN + 40, id: 2, reads: ['cart'], writes: ['prefs'], type: 'queued' },
  { at: ORIGIN + 41, id: 2, reads: ['cart'], writes: ['prefs'], type: 'sent', attempt: 1 },
  { at: ORIGIN + 50, id: 2, reads: ['cart'], writes: ['prefs'], type: 'failed', error: new TypeError('Failed to fetch') },
  { at: ORIGIN + 60, type: 'rotated', from: 'e1', to: 'e2' },
];

test('each request and key is an operation with its steps; a failed one has no answer but its error', () => {
  const recorder = createRecorder(100, ORIGIN);
  for (const event of events) recorder.record(event);
  const history = toHistory(recorder);
  expect(history).toMatchObject({ format: HISTORY_FORMAT, driver: 'devtools', scenario: 'devtools', startedAt: new Date(ORIGIN).toISOString() });
  expect(history.operations).toEqual([
    {
      id: 'r1',
      process: 'this-tab',
      kind: 'append',
      token: 'r1',
      key: 'cart',
      method: 'POST',
      url: '(unknown: the app did not pass devtoolsFetch())',
      sentAt: 12,
      answeredAt: 30,
      status: 200,
      events: [
        { at: 10, type: 'queued' },
        { at: 12, type: 'sent' },
        { at: 20, type: 'conflict', status: 412 },
        { at: 20, type: 'retry', detail: 'stale, after 5 ms' },
        { at: 25, type: 'sent' },
        { at: 30, type: 'answered', status: 200 },
      ],
    },
    expect.objectContaining({ id: 'r2:prefs', kind: 'append', key: 'prefs', sentAt: 41, error: 'TypeError: Failed to fetch' }),
    expect.objectContaining({ id: 'r2:cart', kind: 'read', key: 'cart', sentAt: 41 }),
  ]);
  expect(history.operations[1]).not.toHaveProperty('answeredAt');
  expect(recorder.session).toEqual([{ at: 60, type: 'rotated', text: 'rotated e1 → e2' }]);
});

test('a window: only the requests queued since, the history moved to start with the first of them; at most the last N', () => {
  const recorder = createRecorder(100, ORIGIN);
  for (const event of events) recorder.record(event);
  const windowed = toHistory(recorder, { since: 35 });
  expect(windowed.startedAt).toBe(new Date(ORIGIN + 40).toISOString());
  expect(windowed.operations.map((operation) => [operation.id, operation.sentAt, operation.events?.[0]?.at])).toEqual([
    ['r2:prefs', 1, 0],
    ['r2:cart', 1, 0],
  ]);
  expect(toHistory(recorder, { last: 1 }).operations.map((operation) => operation.id)).toEqual(['r2:prefs', 'r2:cart']);
});

test('bounded: past its limit the recorder forgets the oldest settled request, never one still running', () => {
  const recorder = createRecorder(2, ORIGIN);
  recorder.record({ at: ORIGIN, id: 1, ...request, type: 'queued' });
  for (const id of [2, 3]) {
    recorder.record({ at: ORIGIN + id, id, ...request, type: 'queued' });
    recorder.record({ at: ORIGIN + id, id, ...request, type: 'committed', status: 200 });
  }
  recorder.record({ at: ORIGIN + 9, id: 4, ...request, type: 'queued' });
  expect([...recorder.requests.keys()]).toEqual([1, 4]);
});
