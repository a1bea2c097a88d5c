/**
 * The fuzzer's history (src/race/history.ts): each operation's outcome as its
 * tab heard it, and its sessions and times as the server log saw its
 * attempts (a page cannot read the HttpOnly cookie). An operation whose tab
 * was closed before it settled takes the server's answers: a 2xx to it, or to
 * another tab's replay of it from the outbox, applied it.
 */
import { HISTORY_FORMAT, type History, type Operation } from '../../src/race/history.js';
import type { Started } from './fuzzer.js';
import type { FuzzServer, ServedAttempt } from './server.js';

const clock = () => performance.timeOrigin + performance.now();

export function buildHistory(seed: number, server: FuzzServer, started: Map<string, Started>, log: readonly ServedAttempt[], origin: number, startedAt: string): History {
  const attemptsOf = new Map<string, ServedAttempt[]>();
  for (const attempt of log) if (attempt.tag !== undefined) attemptsOf.set(attempt.tag, [...(attemptsOf.get(attempt.tag) ?? []), attempt]);
  const at = (time: number) => Math.round((time - origin) * 1000) / 1000;
  const operations: Operation[] = [];
  for (const entry of started.values()) {
    const { operation } = entry;
    const attempts = attemptsOf.get(operation.token ?? operation.id) ?? [];
    const last = attempts.at(-1);
    const applied = attempts.find((attempt) => attempt.status >= 200 && attempt.status < 300);
    let status: number | undefined = entry.report?.status;
    let error = entry.report?.error;
    if (status === undefined) {
      // No 2xx heard: the server's answers say what happened (a 2xx to a tab that was closed, or to another tab's replay, applied it).
      if (applied) status = applied.status;
      else if (last && last.status >= 400 && last.status < 500 && last.status !== 409 && (entry.tabClosed || /Conflict|SessionEnded/.test(error ?? ''))) status = last.status;
      if (entry.tabClosed) error = 'tab closed';
      if (status !== undefined) error = undefined;
    }
    const landing = status !== undefined && status >= 200 && status < 300 ? (applied ?? last) : last;
    const first = attempts.find((attempt) => attempt.session === landing?.session);
    const kind: Operation['kind'] = operation.kind === 'append' ? 'append' : operation.kind;
    const url = operation.kind === 'append' ? `${server.url}/fuzz/append/${operation.key}` : operation.kind === 'read' ? `${server.url}/fuzz/state` : `${server.url}/fuzz/${operation.kind}`;
    operations.push({
      id: operation.id,
      process: entry.tab,
      kind,
      method: operation.kind === 'read' ? 'GET' : 'POST',
      url,
      sentAt: at(first?.at ?? entry.calledAt),
      ...(operation.token ? { token: operation.token } : {}),
      ...(operation.key ? { key: operation.key } : {}),
      ...(status !== undefined ? { status, answeredAt: at(landing?.answeredAt ?? entry.report?.at ?? clock()) } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(landing?.session !== undefined ? { session: landing.session } : {}),
      ...(landing?.sessionAfter !== undefined ? { sessionAfter: landing.sessionAfter } : {}),
      ...(entry.report?.observed ? { observed: entry.report.observed } : {}),
      ...(entry.final ? { final: true } : {}),
      events: attempts.map((attempt, index) => ({ at: at(attempt.at), type: index === 0 ? ('sent' as const) : ('retry' as const), status: attempt.status })),
    });
  }
  operations.sort((a, b) => a.sentAt - b.sentAt);
  return { format: HISTORY_FORMAT, seed, scenario: 'fuzz', driver: 'fuzzer', target: server.url, startedAt, operations };
}
