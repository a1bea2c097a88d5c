/**
 * The session as one browser's client sees it: which epochs are over, and
 * what each was rotated to. Plain, structured-cloneable state, changed only
 * by the pure transitions below; the client holds one view and replaces it
 * whole. The live epoch itself is the version cache's (`cache.epoch()`:
 * `''` no session, undefined not known yet), shared by the tabs.
 *
 * What it decides is what becomes of a request made for a session that is
 * no longer the live one: a login moved it on (it goes out in the new
 * epoch), or it ended (it is refused unsent, with SessionEndedError).
 */

export interface SessionView {
  /**
   * Epochs that are over: an old epoch → the epoch a rotation (a login) moved
   * it on to, where a write made for the old one goes out; null: it ended.
   */
  readonly over: ReadonlyMap<string, string | null>;
  /**
   * How many times a write sent while no epoch was known met a 410: the
   * cookie named a session that ended. A write made before that, knowing no
   * epoch either, was made for that session.
   */
  readonly unknownEnded: number;
}

/** What a request was made for: the epoch known then (undefined: none), and how many unknown sessions had ended by then. */
export interface MadeFor {
  readonly epoch: string | undefined;
  readonly unknownEnded: number;
}

export const initialView: SessionView = { over: new Map(), unknownEnded: 0 };

/** A request made now, for `epoch` (a queued write's is the epoch stored with it). */
export const madeNow = (view: SessionView, epoch: string | undefined): MadeFor => ({ epoch, unknownEnded: view.unknownEnded });

/**
 * `epoch` is over: ended, or rotated `to` another. The next view; undefined
 * when it was over already, so that it is told once. An undefined epoch (a
 * session never known here) changes nothing, and is told every time.
 */
export function endEpoch(view: SessionView, epoch: string | undefined, to?: string): SessionView | undefined {
  if (epoch === undefined) return view;
  if (view.over.has(epoch)) return undefined;
  return { ...view, over: new Map(view.over).set(epoch, to ?? null) };
}

/** A 410 answered a write sent while no epoch was known: the session its cookie named is over. */
export const unknownSessionEnded = (view: SessionView): SessionView => ({ ...view, unknownEnded: view.unknownEnded + 1 });

/** Where a request made for `epoch` goes out: through every rotation since, to the epoch the last login moved on to. */
export function followRotations(view: SessionView, epoch: string | undefined): string | undefined {
  let target = epoch;
  while (target) {
    const next = view.over.get(target);
    if (!next) break;
    target = next;
  }
  return target;
}

/**
 * Whether a request made for `made` (its epoch followed through rotations)
 * may go out now that it holds its lanes, `live` being the cache's epoch: not
 * when the session it was made for ended meanwhile, here or in another tab;
 * for a write made knowing no epoch, not once a 410 ended the session its
 * cookie named.
 */
export const admitted = (view: SessionView, made: MadeFor, live: string | undefined, write: boolean): boolean =>
  made.epoch ? live === made.epoch : !write || made.unknownEnded === view.unknownEnded;
