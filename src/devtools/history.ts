/**
 * The panel's requests as the race kit's history (src/race/history.ts): one
 * operation per request and key it declared, so that a row per key shows
 * every request that touched it; the download button exports the same.
 */
import { HISTORY_FORMAT, type History, type Operation, type OperationEvent } from '../race/history.js';
import { hub } from './hub.js';
import type { Recorder, RequestRecord } from './recorder.js';

export interface HistoryOptions {
  /** The process name of this tab's operations. @default 'this-tab' */
  readonly process?: string;
  /**
   * Only requests queued at or after this time (ms since the recorder's origin): the panel's window. The history
   * then starts with its first request (its `startedAt` and every time moved there), so that the picture spans the window.
   */
  readonly since?: number;
  /** Only the last this many requests. @default all */
  readonly last?: number;
}

const stepEvents = (request: RequestRecord, at: (time: number) => number): OperationEvent[] =>
  request.steps.map((step): OperationEvent => {
    const type = step.type === 'committed' || step.type === 'failed' ? 'answered' : step.type;
    return { at: at(step.at), type, ...(step.status === undefined ? {} : { status: step.status }), ...(step.detail === undefined ? {} : { detail: step.detail }) };
  });

export function toHistory(recorder: Recorder, options: HistoryOptions = {}): History {
  const operations: Operation[] = [];
  const since = options.since ?? -Infinity;
  const all = [...recorder.requests.values()];
  const requests = all.slice(Math.max(0, all.length - (options.last ?? all.length))).filter((request) => request.queuedAt >= since);
  const start = options.since === undefined ? 0 : Math.min(...requests.map((request) => request.queuedAt));
  const at = (time: number) => time - start;
  for (const request of requests) {
    const facts = hub.requests.get(request.id);
    const keys = [...request.writes, ...request.reads];
    const simulated = facts?.simulated.length ? ` (devtools simulated ${facts.simulated.join(', ')})` : '';
    // A request that declares no key still gets a row: the session-wide one.
    for (const key of keys.length ? keys : ['(session)']) {
      const write = request.writes.includes(key);
      operations.push({
        id: keys.length > 1 ? `r${request.id}:${key}` : `r${request.id}`,
        process: options.process ?? 'this-tab',
        kind: write ? 'append' : 'read',
        // The Idempotency-Key names a write uniquely; without devtoolsFetch() the panel never saw it.
        ...(write ? { token: facts?.idempotencyKey ?? `r${request.id}` } : {}),
        key,
        method: facts?.method ?? (request.writes.length ? 'POST' : 'GET'),
        url: facts?.url ?? '(unknown: the app did not pass devtoolsFetch())',
        sentAt: at(request.sentAt ?? request.queuedAt),
        ...(request.answeredAt !== undefined && request.status !== undefined ? { answeredAt: at(request.answeredAt), status: request.status } : {}),
        ...(request.error !== undefined ? { error: request.error + simulated } : {}),
        events: stepEvents(request, at),
      });
    }
  }
  return {
    format: HISTORY_FORMAT,
    seed: 0,
    scenario: 'devtools',
    driver: 'devtools',
    target: globalThis.location?.origin ?? '',
    startedAt: new Date(recorder.origin + (requests.length ? start : 0)).toISOString(),
    operations,
  };
}
