/**
 * What the panel knows, built from the client's events only: each request's
 * way (queued, each attempt, its 412s and retries, its end), the session's
 * epochs, rotations, ends and fallbacks, and the outbox entries dropped.
 * Bounded: the oldest settled requests go first once `limit` is reached.
 */
import type { PendingWrite, SessionClientEvent, SessionClientEventOf } from '../client/index.js';
import { factsOf } from './hub.js';

export interface RequestStep {
  /** ms since the recorder started. */
  readonly at: number;
  readonly type: 'queued' | 'sent' | 'conflict' | 'retry' | 'committed' | 'failed';
  readonly attempt?: number;
  readonly status?: number;
  /** A retry's reason and delay, a failure's error name. */
  readonly detail?: string;
}

export interface RequestRecord {
  readonly id: number;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly queuedAt: number;
  sentAt?: number;
  answeredAt?: number;
  status?: number;
  error?: string;
  attempts: number;
  readonly steps: RequestStep[];
}

export interface SessionNote {
  readonly at: number;
  readonly type: 'sessionended' | 'rotated' | 'fallback';
  readonly text: string;
}

export interface DroppedNote {
  readonly at: number;
  readonly reason: SessionClientEventOf<'dropped'>['reason'];
  readonly entry: PendingWrite;
}

export interface Recorder {
  /** Wall-clock ms (Unix epoch) that `at` counts from. */
  readonly origin: number;
  record(event: SessionClientEvent): void;
  readonly requests: Map<number, RequestRecord>;
  readonly session: SessionNote[];
  readonly dropped: DroppedNote[];
  /** Bumped on every change: the panel redraws when it moved. */
  revision: number;
}

const errorName = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

export function createRecorder(limit = 2000, origin = performance.timeOrigin + performance.now()): Recorder {
  const recorder: Recorder = { origin, requests: new Map(), session: [], dropped: [], revision: 0, record };
  const keep = <T>(list: T[]) => list.length > limit && list.shift();

  function record(event: SessionClientEvent): void {
    recorder.revision++;
    const at = event.at - origin;
    switch (event.type) {
      case 'sessionended':
        recorder.session.push({ at, type: event.type, text: `session ${event.epoch ?? '(unknown)'} ended` });
        return void keep(recorder.session);
      case 'rotated':
        recorder.session.push({ at, type: event.type, text: `rotated ${event.from} → ${event.to}` });
        return void keep(recorder.session);
      case 'fallback':
        recorder.session.push({ at, type: event.type, text: `${event.part === 'locks' ? 'no Web Locks: lanes stay in this tab' : 'no IndexedDB: versions and outbox in memory'}${event.error ? ` (${errorName(event.error)})` : ''}` });
        return void keep(recorder.session);
      case 'dropped':
        recorder.dropped.push({ at, reason: event.reason, entry: event.entry });
        return void keep(recorder.dropped);
    }
    let request = recorder.requests.get(event.id);
    if (!request) {
      request = { id: event.id, reads: event.reads, writes: event.writes, queuedAt: at, attempts: 0, steps: [] };
      recorder.requests.set(event.id, request);
      if (recorder.requests.size > limit) dropOldestSettled();
    }
    switch (event.type) {
      case 'queued':
        request.steps.push({ at, type: 'queued' });
        break;
      case 'sent':
        request.sentAt ??= at;
        request.attempts = event.attempt;
        request.steps.push({ at, type: 'sent', attempt: event.attempt });
        break;
      case 'conflict':
        request.steps.push({ at, type: 'conflict', attempt: event.attempt, status: 412 });
        break;
      case 'retry':
        request.steps.push({ at, type: 'retry', detail: `${event.reason}, after ${Math.round(event.delay)} ms` });
        break;
      case 'committed':
        request.answeredAt = at;
        request.status = event.status;
        request.steps.push({ at, type: 'committed', status: event.status });
        break;
      case 'failed':
        request.answeredAt = at;
        request.error = errorName(event.error);
        request.steps.push({ at, type: 'failed', detail: request.error });
        break;
    }
  }

  function dropOldestSettled(): void {
    for (const [id, request] of recorder.requests) {
      if (request.answeredAt === undefined) continue;
      recorder.requests.delete(id);
      return;
    }
  }

  return recorder;
}

/** Marks the requests queued inside `run` (the app's own `client.fetch()` call) as made by this tab. */
export function noteMadeHere(event: SessionClientEvent, appCalls: number): void {
  if (event.type === 'queued' && appCalls > 0) factsOf(event.id).madeHere = true;
}
