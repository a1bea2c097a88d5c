import { describe, expect, it } from 'vitest';
import { HISTORY_FORMAT, type History } from '../../src/race/history.js';
import { renderTimelineSvg } from '../../src/race/timeline-svg.js';

const history: History = {
  format: HISTORY_FORMAT,
  seed: 9,
  scenario: 'distinct-keys',
  driver: 'hand',
  target: 'http://127.0.0.1:1',
  startedAt: '2026-01-01T00:00:00.000Z',
  operations: [
    { id: 'op-1', process: 'tab-1', kind: 'append', token: 'a<b', key: 'cart', method: 'POST', url: 'http://127.0.0.1:1/cart?x=1&y=2', sentAt: 0, answeredAt: 30, status: 201, session: 's1' },
    { id: 'op-2', process: 'tab-2', kind: 'append', token: 'b', key: 'prefs', method: 'POST', url: 'http://127.0.0.1:1/prefs', sentAt: 5, answeredAt: 12, status: 412, session: 's1', events: [{ at: 5, type: 'sent' }, { at: 12, type: 'conflict', status: 412 }, { at: 14, type: 'retry' }] },
    { id: 'op-3', process: 'tab-2', kind: 'append', token: 'c', key: 'prefs', method: 'POST', url: 'http://127.0.0.1:1/prefs', sentAt: 8, error: 'tab closed', session: 's1' },
    { id: 'op-4', process: 'tab-1', kind: 'read', method: 'GET', url: 'http://127.0.0.1:1/state', sentAt: 40, answeredAt: 44, status: 200, observed: ['a<b'], final: true, session: 's1' },
  ],
};

describe('renderTimelineSvg', () => {
  it('draws one row per process, one bar per request, ticks for 412s and retries, the witness outlined', () => {
    const svg = renderTimelineSvg(history, { highlight: ['op-2', 'op-4'] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect([...svg.matchAll(/data-operation="(op-\d)"/g)].map((match) => match[1])).toEqual(['op-1', 'op-4', 'op-2', 'op-3']);
    expect([...svg.matchAll(/data-event="(\w+)"/g)].map((match) => match[1])).toEqual(['conflict', 'retry']);
    expect(svg.match(/stroke="#d50000" stroke-width="2"/g)).toHaveLength(2);
    expect(svg).toContain('>tab-1</text>');
    expect(svg).toContain('stroke-dasharray="3 2"'); // the request that never got an answer
    // Tokens and URLs are escaped: the SVG is well-formed whatever the app sends.
    expect(svg).toContain('token a&lt;b');
    expect(svg).toContain('/cart?x=1&amp;y=2');
    expect(svg).not.toContain('a<b');
  });

  it('draws one row per key when asked', () => {
    const svg = renderTimelineSvg(history, { rows: 'key' });
    expect([...svg.matchAll(/text-anchor="end" fill="#222">([^<]+)</g)].map((match) => match[1])).toEqual(['cart', 'prefs', 'read']);
  });

  it('draws the wait for the lanes before the time at the server, from the first queued event', () => {
    const waited: History = {
      ...history,
      operations: [{ id: 'w-1', process: 'tab-1', kind: 'append', token: 'w', key: 'cart', method: 'POST', url: 'http://127.0.0.1:1/cart', sentAt: 20, answeredAt: 30, status: 200, events: [{ at: 5, type: 'queued' }, { at: 20, type: 'sent' }] }],
    };
    const svg = renderTimelineSvg(waited);
    expect(svg).toMatch(/data-wait="w-1"[^>]*><title>waited 15\.0 ms for its lanes, from 5\.0 ms<\/title>/);
    expect(renderTimelineSvg(history)).not.toContain('data-wait');
  });
});
