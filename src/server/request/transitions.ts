import type { CommitDecision, CommitOutcome } from './decide-commit.js';
import type { BeginDecision } from './decide-begin.js';
import type { HandlerDecision } from './decide-handler.js';
import type { IdentityDecision } from './decide-identity.js';

/**
 * The server's request as a state machine: where each decision's kind leads.
 * Each table is keyed by its decision's kinds, so that a new kind does not
 * compile until it is placed here; docs/architecture.md draws exactly these
 * edges (test/server/architecture-diagram.test.ts checks it).
 */
export type RequestState = 'identify' | 'begin' | 'tombstone' | 'handler' | 'commit' | 'outcomeQuery' | 'release' | 'answer';

type Next<Kind extends string> = Readonly<Record<Kind, readonly RequestState[]>>;

/** decide-identity.ts: a refused identity is answered at once; a visitor runs the handler without the store. */
export const AFTER_IDENTIFY: Next<IdentityDecision['kind']> = { refuse: ['answer'], visitor: ['handler'], session: ['begin'] };

/** decide-begin.ts: a refusal releases the claim first when round trip 1 took it. */
export const AFTER_BEGIN: Next<BeginDecision['kind']> = {
  'ask-tombstone': ['tombstone'],
  replay: ['answer'],
  'in-flight': ['answer'],
  refuse: ['answer', 'release'],
  stale: ['release'],
  run: ['handler'],
};

/** decideTombstone: the rotating request's resend replays; anything else is the tombstone's 410. */
export const AFTER_TOMBSTONE: Next<Exclude<BeginDecision['kind'], 'ask-tombstone' | 'in-flight' | 'stale' | 'run'>> = { replay: ['answer'], refuse: ['answer'] };

/** decide-handler.ts: partly-committed records its answer with its own commit and answers. */
export const AFTER_HANDLER: Next<HandlerDecision['kind']> = { answer: ['release'], fail: ['release'], 'partly-committed': ['answer'], commit: ['commit'] };

/** decide-commit.ts; 'unknown': the store failed as the commit went (asked once the blip is over, or a mid-request commit's 503). */
export const AFTER_COMMIT: Next<CommitDecision['kind'] | 'unknown'> = {
  committed: ['answer'],
  occupied: ['answer'],
  failed: ['answer'],
  'ask-outcome': ['outcomeQuery'],
  unknown: ['outcomeQuery', 'release'],
};

/** decideOutcome: not applied, the same commit is sent again; unknown, the claim goes back and the answer is 503. */
export const AFTER_OUTCOME_QUERY: Next<CommitOutcome> = { applied: ['answer'], 'not-applied': ['commit'], unknown: ['release'] };

/** Every edge of the machine, once, as [from, to]; '[*]' is the start and the end. */
export function requestTransitions(): ReadonlyArray<readonly [string, string]> {
  const edges = new Map<string, readonly [string, string]>();
  const add = (from: string, to: string) => edges.set(`${from} --> ${to}`, [from, to]);
  add('[*]', 'identify');
  const tables: [RequestState, Next<string>][] = [
    ['identify', AFTER_IDENTIFY],
    ['begin', AFTER_BEGIN],
    ['tombstone', AFTER_TOMBSTONE],
    ['handler', AFTER_HANDLER],
    ['commit', AFTER_COMMIT],
    ['outcomeQuery', AFTER_OUTCOME_QUERY],
  ];
  for (const [from, table] of tables) for (const targets of Object.values(table)) for (const to of targets) add(from, to);
  add('release', 'answer');
  add('answer', '[*]');
  return [...edges.values()];
}
