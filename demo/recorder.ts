import { HISTORY_FORMAT, type History, type Operation, type OperationEvent } from '../src/race/history.js';

/**
 * One column's burst as the race kit's history (src/race/history.ts,
 * `session-lanes/race-history@1`): one operation per update, with the steps
 * the page saw (queued, each attempt sent, 412s, resends, the answer). The
 * column draws it with the race kit's renderer, the one its HTML report and
 * the devtools panel use, and `window.demo.history(mode)` hands it out, so a
 * burst seen in the demo can be checked or drawn by the race kit too.
 *
 * Times are `performance.now()` values; the history counts them from the
 * moment the burst started.
 */

export interface UpdateFacts {
  /** The session key the update writes: its timeline row. */
  readonly key: string;
  /** The unique item it appends. */
  readonly token: string;
  readonly method: string;
  readonly url: string;
}

interface Recorded {
  readonly facts: UpdateFacts;
  readonly events: OperationEvent[];
  answeredAt?: number;
  status?: number;
  error?: string;
}

export class BurstRecorder {
  readonly #process: string;
  readonly #operations = new Map<string, Recorded>();
  readonly #onChange: () => void;
  #origin = performance.now();
  #startedAt = new Date().toISOString();
  #recording = false;

  /** `process` names who made the updates (the tab); `onChange` runs after every step, to redraw. */
  constructor(process: string, onChange: () => void = () => {}) {
    this.#process = process;
    this.#onChange = onChange;
  }

  /** Forgets the last burst and records the updates begun from now on. */
  start(): void {
    this.#operations.clear();
    this.#origin = performance.now();
    this.#startedAt = new Date().toISOString();
    this.#recording = true;
  }

  /** Records no new update from now on (the page reading the session back is not part of the burst); updates begun still end. */
  stop(): void {
    this.#recording = false;
  }

  /** An update is made (and may wait: for a lane, a lock, a connection). Its id, or undefined when not recording. */
  begin(facts: UpdateFacts, at = performance.now()): string | undefined {
    if (!this.#recording) return undefined;
    const id = `u${this.#operations.size + 1}`;
    this.#operations.set(id, { facts, events: [{ at: at - this.#origin, type: 'queued' }] });
    this.#onChange();
    return id;
  }

  /** An attempt goes on the wire; a second one is a resend. */
  sent(id: string | undefined, at = performance.now()): void {
    const operation = this.#get(id);
    if (!operation) return;
    if (operation.events.some((event) => event.type === 'sent')) operation.events.push({ at: at - this.#origin, type: 'retry' });
    operation.events.push({ at: at - this.#origin, type: 'sent' });
    this.#onChange();
  }

  /** An attempt was answered 412: the server committed nothing, and the client will resend. */
  conflict(id: string | undefined, status: number, at = performance.now()): void {
    this.#get(id)?.events.push({ at: at - this.#origin, type: 'conflict', status });
    this.#onChange();
  }

  /** The final answer. */
  answered(id: string | undefined, status: number, at = performance.now()): void {
    const operation = this.#get(id);
    if (!operation) return;
    operation.events.push({ at: at - this.#origin, type: 'answered', status });
    operation.answeredAt = at - this.#origin;
    operation.status = status;
    this.#onChange();
  }

  /** No answer came (a network error). */
  failed(id: string | undefined, error: unknown): void {
    const operation = this.#get(id);
    if (!operation) return;
    operation.error = error instanceof Error ? error.message : String(error);
    this.#onChange();
  }

  /** 412 answers and resends over the burst. */
  counts(): { conflicts: number; retries: number } {
    let conflicts = 0;
    let retries = 0;
    for (const { events } of this.#operations.values()) {
      conflicts += events.filter((event) => event.type === 'conflict').length;
      retries += events.filter((event) => event.type === 'retry').length;
    }
    return { conflicts, retries };
  }

  /** The ids of the updates that carried these tokens. */
  idsOf(tokens: ReadonlySet<string>): string[] {
    return [...this.#operations].filter(([, { facts }]) => tokens.has(facts.token)).map(([id]) => id);
  }

  history(scenario: string): History {
    const operations = [...this.#operations].map(([id, { facts, events, answeredAt, status, error }]): Operation => {
      const sorted = [...events].sort((a, b) => a.at - b.at);
      const firstSend = sorted.find((event) => event.type === 'sent') ?? sorted[0]!;
      return {
        id,
        process: this.#process,
        kind: 'append',
        token: facts.token,
        key: facts.key,
        method: facts.method,
        url: new URL(facts.url, location.href).href,
        sentAt: firstSend.at,
        ...(answeredAt === undefined || status === undefined ? {} : { answeredAt, status }),
        ...(error === undefined ? {} : { error }),
        events: sorted,
      };
    });
    return { format: HISTORY_FORMAT, seed: 0, scenario, driver: 'demo', target: location.origin, startedAt: this.#startedAt, operations };
  }

  #get(id: string | undefined): Recorded | undefined {
    return id === undefined ? undefined : this.#operations.get(id);
  }
}
