import type { ResolvedReader, ResolvedRequest, ResolvedWriter } from './config.js';

/**
 * A scenario's schedule, drawn from the seed before anything is sent: what
 * each client does and when. Both drivers (Node clients, Playwright tabs)
 * run the same plan, so the same seed gives the same schedule on either.
 */
export type PlannedAction =
  | { readonly kind: 'append' | 'increment'; readonly writer: ResolvedWriter; readonly key?: string }
  | { readonly kind: 'read'; readonly reader: ResolvedReader; readonly consumes?: boolean; readonly final?: boolean; readonly key?: string }
  | { readonly kind: 'login' | 'logout'; readonly request: ResolvedRequest };

export interface PlannedStep {
  /** Which client (tab) sends it: 0 … clients − 1. */
  readonly client: number;
  /** When, in ms after the burst starts (later if the client is still busy with its previous request). */
  readonly at: number;
  readonly action: PlannedAction;
}

export interface ScenarioPlan {
  /** Sent one after another by client 0 before the burst (a login, or a first write that makes the session). */
  readonly setup: readonly PlannedAction[];
  readonly burst: readonly PlannedStep[];
  /** Writes of the burst not yet sent when a logout has been answered are left out (a write sent after it may rightly make a new session). */
  readonly stopWritesAtLogout: boolean;
  /** Sent one after another by client 0 after the burst: the final reads (and a login after a logout). */
  readonly after: readonly PlannedAction[];
}
