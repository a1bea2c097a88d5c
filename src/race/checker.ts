import { ANOMALY_KINDS, buildWitness, describeOperation, describeOverlaps, type Anomaly, type AnomalyKind, type WitnessRole } from './anomaly.js';
import { HISTORY_FORMAT, type History, type Operation } from './history.js';
import { classifyOperation, isWrite, type Outcome, type OutcomeOptions } from './outcome.js';
import { mapSessions, type SessionInstance } from './sessions.js';

/**
 * The list-append check, as Jepsen's Elle does it, over a web session: every
 * write carries a unique token, the final reads name the tokens the session
 * holds, and the answers say which writes must, may or must not be there.
 */
export interface CheckOptions extends OutcomeOptions {
  /**
   * How many overlapping requests a lost write's witness names at most (the likely culprits).
   * @default 3
   */
  readonly witnessOverlaps?: number;
}

export interface CheckCounts {
  readonly operations: number;
  readonly writes: number;
  readonly reads: number;
  readonly finalReads: number;
  /** Writes answered 2xx. */
  readonly acknowledged: number;
  /** Writes answered 4xx (not 409): never applied. */
  readonly rejected: number;
  /** Writes answered 5xx, 409 or not at all: applied at most once. */
  readonly indeterminate: number;
  readonly anomalies: Readonly<Record<AnomalyKind, number>>;
}

export interface CheckResult {
  /** True when no anomaly was found. */
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly counts: CheckCounts;
}

const succeeded = (operation: Operation) => operation.status !== undefined && operation.status >= 200 && operation.status < 300;
const countOf = (tokens: readonly string[], token: string) => tokens.reduce((n, each) => (each === token ? n + 1 : n), 0);

/** Check a history: which acknowledged writes are lost, which writes are duplicated, misplaced or crossed a logout. */
export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  if (history.format !== HISTORY_FORMAT) throw new TypeError(`checkHistory: history.format must be "${HISTORY_FORMAT}", got ${JSON.stringify(history.format)}`);
  const overlapsShown = options.witnessOverlaps ?? 3;
  const operations = history.operations;
  const sessions = mapSessions(operations);
  const outcome = new Map<Operation, Outcome>();
  const writeOf = new Map<string, Operation>();
  for (const operation of operations) {
    if (!isWrite(operation)) continue;
    if (operation.token === undefined) throw new TypeError(`checkHistory: write ${operation.id} has no token`);
    if (writeOf.has(operation.token)) throw new TypeError(`checkHistory: token ${operation.token} is carried by two writes (${writeOf.get(operation.token)!.id}, ${operation.id})`);
    writeOf.set(operation.token, operation);
    outcome.set(operation, classifyOperation(operation, options));
  }
  const instanceOf = new Map<Operation, SessionInstance | undefined>(operations.map((operation) => [operation, sessions.instanceOf(operation)]));
  const sameInstance = (a: Operation, b: Operation) => instanceOf.get(a)?.id !== undefined && instanceOf.get(a)?.id === instanceOf.get(b)?.id;
  const reads = operations.filter((operation) => operation.kind === 'read');
  const goodReads = reads.filter(succeeded);
  const anomalies: Anomaly[] = [];
  const reported = new Set<string>();
  const report = (anomaly: Anomaly) => {
    const key = `${anomaly.kind}|${anomaly.token ?? ''}|${anomaly.session ?? ''}`;
    if (reported.has(key)) return;
    reported.add(key);
    anomalies.push(anomaly);
  };
  const sessionOf = (operation: Operation): { session?: string } => {
    const id = instanceOf.get(operation)?.id;
    return id === undefined ? {} : { session: id };
  };

  /** The requests of a write's session that overlapped it, those answered after it first (their save came last). */
  const overlapping = (write: Operation): Operation[] => {
    const end = write.answeredAt ?? Number.POSITIVE_INFINITY;
    return operations
      .filter((other) => other !== write && !other.final && sameInstance(other, write) && other.sentAt < end && (other.answeredAt ?? Number.POSITIVE_INFINITY) > write.sentAt)
      .sort((a, b) => (b.answeredAt ?? Number.POSITIVE_INFINITY) - (a.answeredAt ?? Number.POSITIVE_INFINITY))
      .slice(0, overlapsShown);
  };
  const steps = (...entries: [Operation | undefined, WitnessRole][]) =>
    entries.filter((entry): entry is [Operation, WitnessRole] => entry[0] !== undefined).map(([operation, role]) => ({ operation, role }));

  // 1. What each successful read holds: no rejected token, none in the wrong session, none twice.
  const consumingInstances = new Set(reads.filter((read) => read.consumes === true).map((read) => instanceOf.get(read)?.id));
  for (const read of goodReads) {
    const observed = read.observed ?? [];
    for (const token of new Set(observed)) {
      const write = writeOf.get(token);
      if (write === undefined) continue; // data from before the run, or the app's own
      if (read.consumes !== true && countOf(observed, token) > 1) {
        report({
          kind: 'duplicated-write',
          token,
          ...sessionOf(read),
          witness: buildWitness(steps([write, 'write'], [read, 'read']), write, read),
          text: `Duplicated write: ${describeOperation(write)}, was applied ${countOf(observed, token)} times: read ${read.id} (${describeOperation(read)}) holds its token ${countOf(observed, token)} times. A write is applied at most once, however often it is resent.`,
        });
      }
      if (outcome.get(write) === 'rejected') {
        report({
          kind: 'rejected-write-applied',
          token,
          ...sessionOf(read),
          witness: buildWitness(steps([write, 'write'], [read, 'read']), write, read),
          text: `Rejected write applied: ${describeOperation(write)}; a ${write.status} says nothing was applied, yet read ${read.id} (${describeOperation(read)}) holds its token.`,
        });
        continue;
      }
      const home = instanceOf.get(write);
      const here = instanceOf.get(read);
      if (home === undefined || here?.id === home.id) continue;
      if (sessions.hasUncertainLogout(home.chain) || (here !== undefined && sessions.hasUncertainLogout(here.chain))) continue;
      const ending = sessions.endingOf(home);
      if (ending !== undefined && write.sentAt < ending.at) {
        report({
          kind: 'crossed-logout',
          token,
          ...sessionOf(read),
          witness: buildWitness(steps([write, 'write'], [ending.logout, 'logout'], [read, 'read']), write, read),
          text: `Write crossed a logout: ${describeOperation(write)}, in session ${home.id}; the logout (${describeOperation(ending.logout)}) ended that session, yet read ${read.id} (${describeOperation(read)}) finds the token in ${here === undefined ? 'a request without a session' : `the later session ${here.id}`}. A write sent before a logout's answer never lands in the next session.`,
        });
      } else {
        report({
          kind: 'misplaced-write',
          token,
          ...sessionOf(read),
          witness: buildWitness(steps([write, 'write'], [read, 'read']), write, read),
          text: `Misplaced write: ${describeOperation(write)}, was sent in session ${home.id}, yet read ${read.id} (${describeOperation(read)}) finds its token in ${here === undefined ? 'a request without a session' : `session ${here.id}`}.`,
        });
      }
    }
  }

  // 2. Flash messages: across every consuming read of a session, each token is handed out at most once.
  for (const instance of consumingInstances) {
    if (instance === undefined) continue;
    const consumers = goodReads.filter((read) => read.consumes === true && instanceOf.get(read)?.id === instance);
    for (const [token, write] of writeOf) {
      const holders = consumers.filter((read) => (read.observed ?? []).includes(token));
      const times = holders.reduce((n, read) => n + countOf(read.observed ?? [], token), 0);
      if (times < 2) continue;
      report({
        kind: 'duplicated-write',
        token,
        session: instance,
        witness: buildWitness(steps([write, 'write'], ...holders.map((read): [Operation, WitnessRole] => [read, 'read'])), write, holders.at(-1)),
        text: `Flash message read ${times} times: ${describeOperation(write)}, was handed out by ${holders.map((read) => `${read.id} (${describeOperation(read)})`).join(' and ')}; a read that consumes a message takes it once.`,
      });
    }
  }

  // 3. Every acknowledged write in the final reads of its session; increments within their bounds.
  const finalReads = reads.filter((read) => read.final === true);
  const goodFinals = finalReads.filter(succeeded);
  const byInstance = new Map<string, { instance: SessionInstance; writes: Operation[] }>();
  for (const write of writeOf.values()) {
    const instance = instanceOf.get(write);
    if (instance === undefined || outcome.get(write) === 'rejected') continue;
    const group = byInstance.get(instance.id) ?? { instance, writes: [] };
    group.writes.push(write);
    byInstance.set(instance.id, group);
  }
  for (const { instance, writes } of byInstance.values()) {
    if (sessions.endingOf(instance) !== undefined || sessions.hasUncertainLogout(instance.chain)) continue; // ended: nothing left to read
    const acknowledged = writes.filter((write) => outcome.get(write) === 'acknowledged');
    if (acknowledged.length === 0) continue;
    const finals = goodFinals.filter((read) => instanceOf.get(read)?.id === instance.id);
    if (finals.length === 0) {
      const elsewhere = goodFinals;
      if (elsewhere.length === 0) {
        const failed = finalReads.find((read) => instanceOf.get(read)?.id === instance.id) ?? finalReads[0];
        report({
          kind: 'no-final-read',
          session: instance.id,
          witness: buildWitness(steps([acknowledged[0], 'write'], [failed, 'read']), acknowledged[0], failed),
          text: `No final read: session ${instance.id} holds ${acknowledged.length} acknowledged writes, but ${failed === undefined ? 'the history has no final read' : `its final read failed (${describeOperation(failed)})`}, so nothing could be checked.`,
        });
        continue;
      }
      // The client was moved off this session without a login or logout (two answers set competing cookies):
      // its acknowledged writes are gone for the user.
      for (const write of acknowledged) {
        const read = elsewhere[0]!;
        report({
          kind: write.kind === 'increment' ? 'lost-increment' : 'lost-write',
          token: write.token!,
          session: instance.id,
          witness: buildWitness(steps([write, 'write'], ...overlapping(write).map((other): [Operation, WitnessRole] => [other, 'overlapping']), [read, 'read']), write, read),
          text: `Lost write: ${describeOperation(write)}, landed in session ${instance.id}, which the client no longer holds: another answer replaced its cookie without a login or logout, and the final read ${read.id} (${describeOperation(read)}) reads another session.`,
        });
      }
      continue;
    }
    const consuming = consumingInstances.has(instance.id);
    if (consuming && reads.some((read) => read.consumes === true && instanceOf.get(read)?.id === instance.id && !succeeded(read))) continue; // a lost answer may have consumed anything
    const increments = writes.filter((write) => write.kind === 'increment');
    const appends = acknowledged.filter((write) => write.kind === 'append');
    for (const write of appends) {
      const token = write.token!;
      const holders = consuming ? goodReads.filter((read) => read.consumes === true && instanceOf.get(read)?.id === instance.id) : finals;
      const lacking = consuming ? (holders.some((read) => (read.observed ?? []).includes(token)) ? undefined : finals.at(-1)) : finals.find((read) => !(read.observed ?? []).includes(token));
      if (lacking === undefined) continue;
      const culprits = overlapping(write);
      report({
        kind: 'lost-write',
        token,
        session: instance.id,
        witness: buildWitness(steps([write, 'write'], ...culprits.map((other): [Operation, WitnessRole] => [other, 'overlapping']), [lacking, 'read']), write, lacking),
        text: `Lost write: ${describeOperation(write)}, in session ${instance.id}; ${consuming ? 'no read ever handed its message out, and ' : ''}the final read ${lacking.id} (${describeOperation(lacking)}) lacks its token. ${describeOverlaps(culprits)}`,
      });
    }
    if (increments.length > 0) checkIncrements(instance, increments, finals);
  }

  function checkIncrements(instance: SessionInstance, increments: Operation[], finals: Operation[]) {
    const acknowledged = increments.filter((write) => outcome.get(write) === 'acknowledged');
    const maybe = increments.filter((write) => outcome.get(write) === 'indeterminate').length;
    for (const read of finals) {
      if (read.observedCount === undefined) continue;
      const count = read.observedCount;
      const kind: AnomalyKind | undefined = count < acknowledged.length ? 'lost-increment' : count > acknowledged.length + maybe ? 'phantom-increment' : undefined;
      if (kind === undefined) continue;
      const shown = acknowledged.slice(-overlapsShown * 2);
      report({
        kind,
        session: instance.id,
        witness: buildWitness(steps(...shown.map((write): [Operation, WitnessRole] => [write, 'write']), [read, 'read']), acknowledged.at(-1), read),
        text:
          kind === 'lost-increment'
            ? `Lost increment: ${acknowledged.length} increments of session ${instance.id} were acknowledged (${maybe} more indeterminate), but the final read ${read.id} (${describeOperation(read)}) counts ${count}: ${acknowledged.length - count} acknowledged increments vanished.`
            : `Phantom increment: the final read ${read.id} (${describeOperation(read)}) counts ${count}, above the ${acknowledged.length} acknowledged and ${maybe} indeterminate increments of session ${instance.id}: a write was applied twice.`,
      });
    }
  }

  const byKind = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, anomalies.filter((anomaly) => anomaly.kind === kind).length])) as Record<AnomalyKind, number>;
  const writes = [...outcome.values()];
  return {
    valid: anomalies.length === 0,
    anomalies,
    counts: {
      operations: operations.length,
      writes: writes.length,
      reads: reads.length,
      finalReads: finalReads.length,
      acknowledged: writes.filter((each) => each === 'acknowledged').length,
      rejected: writes.filter((each) => each === 'rejected').length,
      indeterminate: writes.filter((each) => each === 'indeterminate').length,
      anomalies: byKind,
    },
  };
}
