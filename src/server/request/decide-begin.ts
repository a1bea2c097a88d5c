import { recordedSession } from '../creating-request.js';
import type { RequestDeclaration } from '../declarations.js';
import type { BeginResult, StoredEntry, Tombstone } from '../store.js';

/**
 * What a request does once round trip 1 answered (PROTOCOL.md steps 1–2):
 * pure, over what the request declared, where its id came from, and what
 * `store.begin` returned. The driver (driver.ts) carries the decision out.
 */
export interface BeginFacts {
  readonly declaration: Pick<RequestDeclaration, 'epoch' | 'reads' | 'writes'>;
  /** A write route (keys written, or a login, or a logout). */
  readonly writes: boolean;
  /** The request claimed its Idempotency-Key in round trip 1. */
  readonly claimed: boolean;
  /** `creates`: the session may not exist yet; `viaCookie`: the id came from the cookie. */
  readonly identity: { readonly creates: boolean; readonly viaCookie: boolean };
  /** The app resolves session ids itself (`options.sessionId`). */
  readonly appIds: boolean;
  readonly begun: BeginResult;
}

/** The problems a request is refused with after round trip 1. */
export type Refusal =
  /**
   * `release`: the claim this request took goes back; `clearCookie`: the answer clears the session cookie
   * (only ever a 410 to a request that names no Session-Epoch: PROTOCOL.md, "Which 410 clears the cookie");
   * `epoch`: the Session-Epoch the answer carries.
   */
  { readonly kind: 'refuse'; readonly problem: 'sessionEnded' | 'keyReused'; readonly detail: string; readonly release: boolean; readonly clearCookie: boolean; readonly epoch: string };

export type BeginDecision =
  /** The id was rotated away: ask the session it moved to whether this is the rotating request's resend (decideTombstone). */
  | { readonly kind: 'ask-tombstone'; readonly tombstone: Tombstone }
  /** The key's finished record: answer it again, do nothing else. */
  | { readonly kind: 'replay'; readonly answer: string }
  /** Another attempt holds the key: 409 with Retry-After. */
  | { readonly kind: 'in-flight'; readonly retryAfterMs: number; readonly epoch: string }
  | Refusal
  /** A base the request declared is not the current version: release the claim, 412 with the current state. */
  | { readonly kind: 'stale'; readonly why: string; readonly epoch: string }
  /** Run the handler on this session ('create': the first commit makes it, with a fresh epoch). */
  | { readonly kind: 'run'; readonly mode: 'existing' | 'create'; readonly epoch: string };

const refuse = (detail: string, facts: BeginFacts, release: boolean, clears: boolean, epoch = ''): Refusal => ({
  kind: 'refuse',
  problem: 'sessionEnded',
  detail,
  release: release && facts.claimed,
  // A request that names the epoch was made for a session its client knew: a newer cookie may be on its way.
  clearCookie: clears && facts.declaration.epoch === null,
  epoch,
});

export const ENDED_DETAIL = {
  rotated: 'The session id was rotated away (a login or a privilege change); nothing was applied',
  missing: 'The session named by the cookie does not exist any more (logout or expiry)',
  epochOfNothing: 'Session-Epoch names a session that does not exist',
  otherEpoch: 'Session-Epoch names another session than the current one',
  tooOld: 'This session-creating request is older than its idempotency record; start again with a new Idempotency-Key',
  evicted: 'The session this request was applied to has been evicted from the store; it is not applied again',
  keyReused: 'This Idempotency-Key was used for a different request (method, path, query or body)',
} as const;

export function decideBegin(facts: BeginFacts): BeginDecision {
  const { begun, identity, declaration } = facts;
  if (begun.rotated) return { kind: 'ask-tombstone', tombstone: begun.rotated };
  const outcome = facts.claimed ? begun.claim : undefined;
  // The session was destroyed (logout, expiry): its old cookie replays nothing of it but the logout's own answer (epoch "").
  if (outcome?.status === 'replay' && begun.session === null && identity.viaCookie && recordedSession(outcome.answer).epoch !== '') {
    return refuse(ENDED_DETAIL.missing, facts, false, true);
  }
  const epoch = begun.session?.epoch ?? '';
  if (facts.claimed) {
    switch (outcome?.status) {
      case 'claimed':
        break;
      case 'replay':
        return { kind: 'replay', answer: outcome.answer };
      case 'in-flight':
        return { kind: 'in-flight', retryAfterMs: outcome.retryAfterMs, epoch };
      case 'mismatch':
        return { kind: 'refuse', problem: 'keyReused', detail: ENDED_DETAIL.keyReused, release: false, clearCookie: false, epoch };
      case 'evicted':
        return { kind: 'refuse', problem: 'sessionEnded', detail: ENDED_DETAIL.evicted, release: false, clearCookie: false, epoch };
      default:
        throw new TypeError('The store answered begin() without the claim outcome');
    }
  }
  if (begun.session === null) {
    if (!identity.creates) return refuse(ENDED_DETAIL.missing, facts, true, identity.viaCookie);
    if (declaration.epoch !== null) return refuse(ENDED_DETAIL.epochOfNothing, facts, true, false);
    if (facts.writes && staleBase(declaration, begun.entries) !== null) return { kind: 'stale', why: staleBase(declaration, begun.entries)!, epoch: '' };
    return { kind: 'run', mode: 'create', epoch: '' };
  }
  if (declaration.epoch !== null && declaration.epoch !== epoch) return refuse(ENDED_DETAIL.otherEpoch, facts, true, false, epoch);
  // A session-creating request whose session exists but whose record is gone (past its retention): no
  // legitimate resend comes this late, and joining would make an old Idempotency-Key a credential.
  if (identity.creates && !identity.viaCookie && !facts.appIds) return refuse(ENDED_DETAIL.tooOld, facts, true, false);
  const stale = facts.writes ? staleBase(declaration, begun.entries) : null;
  if (stale !== null) return { kind: 'stale', why: stale, epoch };
  return { kind: 'run', mode: 'existing', epoch };
}

/** The first declared base (reads, then writes) that is not the key's current version, told as the 412 says it. */
export function staleBase(declaration: Pick<RequestDeclaration, 'reads' | 'writes'>, entries: ReadonlyMap<string, StoredEntry>): string | null {
  for (const map of [declaration.reads, declaration.writes]) {
    for (const [key, base] of map) {
      const current = entries.get(key)?.version ?? 0;
      if (base !== undefined && base !== current) return `${JSON.stringify(key)} is at version ${current}, not ${base}`;
    }
  }
  return null;
}

/**
 * After the moved session was asked (tombstone.ts): the rotating request's own resend replays its answer (`replayed`);
 * everything else is 410, which clears the cookie only once the rotation is older than the replay window, when no
 * answer of the login can still set the new cookie (before, a clear would drop the cookie its resend replays).
 */
export function decideTombstone(facts: { readonly replayed: string | null; readonly tombstone: Tombstone; readonly now: number; readonly declaredEpoch: string | null }): BeginDecision {
  if (facts.replayed !== null) return { kind: 'replay', answer: facts.replayed };
  const clears = facts.now >= facts.tombstone.replayUntil && facts.declaredEpoch === null;
  return { kind: 'refuse', problem: 'sessionEnded', detail: ENDED_DETAIL.rotated, release: false, clearCookie: clears, epoch: '' };
}
