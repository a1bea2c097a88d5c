import type { Operation } from './history.js';

/**
 * What the checker can find, each a way a session store loses or invents data:
 * - `lost-write`: an acknowledged write is missing from the final read of the session it landed in;
 * - `duplicated-write`: a write's token appears more than once (an acknowledged or indeterminate write
 *   applied twice, or a flash message handed out by two reads);
 * - `rejected-write-applied`: the token of a write answered 4xx (never applied) appears in a read;
 * - `crossed-logout`: a write sent before a logout's answer appears in a later session;
 * - `misplaced-write`: a write's token appears in a session it was not sent in, no logout explaining it;
 * - `lost-increment`: the final count is below the number of acknowledged increments;
 * - `phantom-increment`: the final count is above acknowledged + indeterminate increments;
 * - `no-final-read`: a session holding acknowledged writes has no successful final read, so nothing could be checked.
 */
export type AnomalyKind =
  | 'lost-write'
  | 'duplicated-write'
  | 'rejected-write-applied'
  | 'crossed-logout'
  | 'misplaced-write'
  | 'lost-increment'
  | 'phantom-increment'
  | 'no-final-read';

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'lost-write',
  'duplicated-write',
  'rejected-write-applied',
  'crossed-logout',
  'misplaced-write',
  'lost-increment',
  'phantom-increment',
  'no-final-read',
];

/** Why an operation is part of a witness. */
export type WitnessRole = 'write' | 'overlapping' | 'read' | 'logout' | 'login';

/** One request of a witness: what the history recorded of it, and its part in the anomaly. */
export interface WitnessStep {
  readonly role: WitnessRole;
  readonly id: string;
  readonly process: string;
  readonly kind: Operation['kind'];
  readonly method: string;
  readonly url: string;
  readonly token?: string;
  readonly key?: string;
  readonly sentAt: number;
  readonly answeredAt?: number;
  readonly status?: number;
  readonly error?: string;
  readonly session?: string;
  readonly sessionAfter?: string;
  /** For a read: how many tokens it held, or the count it read. */
  readonly holds?: number;
}

/**
 * The smallest set of requests that shows the anomaly, as Elle prints one: the write, the requests
 * that overlapped it in its session (the likely culprits), the logout or login involved, and the read.
 */
export interface Witness {
  /** In send order. */
  readonly operations: readonly WitnessStep[];
  /** The write's acknowledgement, when it had one. */
  readonly acknowledgement?: { readonly operation: string; readonly status: number; readonly at: number };
  /** The read that lacks the token (or holds it twice, or holds it in the wrong session). */
  readonly read?: { readonly operation: string; readonly at: number; readonly holds: number };
}

export interface Anomaly {
  readonly kind: AnomalyKind;
  /** The token it is about (absent for increments and `no-final-read`). */
  readonly token?: string;
  /** The session instance it is about (`<chain>#<generation>`). */
  readonly session?: string;
  readonly witness: Witness;
  /** One paragraph a person reads first. */
  readonly text: string;
}

export function witnessStep(operation: Operation, role: WitnessRole): WitnessStep {
  const step: { -readonly [K in keyof WitnessStep]: WitnessStep[K] } = {
    role,
    id: operation.id,
    process: operation.process,
    kind: operation.kind,
    method: operation.method,
    url: operation.url,
    sentAt: operation.sentAt,
  };
  if (operation.token !== undefined) step.token = operation.token;
  if (operation.key !== undefined) step.key = operation.key;
  if (operation.answeredAt !== undefined) step.answeredAt = operation.answeredAt;
  if (operation.status !== undefined) step.status = operation.status;
  if (operation.error !== undefined) step.error = operation.error;
  if (operation.session !== undefined) step.session = operation.session;
  if (operation.sessionAfter !== undefined) step.sessionAfter = operation.sessionAfter;
  if (operation.observed !== undefined) step.holds = operation.observed.length;
  else if (operation.observedCount !== undefined) step.holds = operation.observedCount;
  return step;
}

export function buildWitness(
  steps: readonly { operation: Operation; role: WitnessRole }[],
  write?: Operation,
  read?: Operation,
): Witness {
  const seen = new Set<string>();
  const operations = steps
    .filter(({ operation }) => (seen.has(operation.id) ? false : (seen.add(operation.id), true)))
    .map(({ operation, role }) => witnessStep(operation, role))
    .sort((a, b) => a.sentAt - b.sentAt);
  const witness: { -readonly [K in keyof Witness]: Witness[K] } = { operations };
  if (write?.status !== undefined && write.answeredAt !== undefined && write.status >= 200 && write.status < 300) {
    witness.acknowledgement = { operation: write.id, status: write.status, at: write.answeredAt };
  }
  if (read !== undefined) {
    witness.read = { operation: read.id, at: read.answeredAt ?? read.sentAt, holds: read.observed?.length ?? read.observedCount ?? 0 };
  }
  return witness;
}

const ms = (at: number | undefined) => (at === undefined ? 'never' : `${at.toFixed(1)} ms`);
const path = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
};

/** "client-2's POST /cart (token t7), sent at 3.0 ms, answered 201 at 9.0 ms" */
export function describeOperation(operation: Operation): string {
  const token = operation.token === undefined ? '' : ` (token ${operation.token})`;
  const answer =
    operation.status === undefined ? `no answer${operation.error === undefined ? '' : ` (${operation.error})`}` : `answered ${operation.status} at ${ms(operation.answeredAt)}`;
  return `${operation.process}'s ${operation.method} ${path(operation.url)}${token}, sent at ${ms(operation.sentAt)}, ${answer}`;
}

export function describeOverlaps(overlapping: readonly Operation[]): string {
  if (overlapping.length === 0) return 'No other request of its session overlapped it.';
  return `It overlapped ${overlapping.map(describeOperation).join('; ')}: a concurrent request saved a session that did not hold it.`;
}
