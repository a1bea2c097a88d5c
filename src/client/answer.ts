/**
 * Reads a server answer into what the client does next. Every session header
 * and every problem body of ours is checked before use: a malformed one is an
 * InvalidAnswerError, never a crash or a guess.
 */
import { HEADER } from '../protocol/headers.js';
import { PROBLEM_CONTENT_TYPE } from '../protocol/problems.js';
import { parseEpoch, parseVersions, PROBLEM_BASE, isProblem, readString, staleKeys, type StaleKey } from './codec.js';
import { InvalidAnswerError, InvalidValueError, RequestRejectedError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import type { Rotation } from './version-cache.js';

export interface Answer {
  /**
   * done: the answer stands (any status the app chose); stale: 412; ended: 410;
   * busy: resend unchanged (409 in progress, 503 store unavailable, or
   * 'network': a gateway error without our problem type).
   */
  readonly kind: 'done' | 'stale' | 'busy' | 'ended';
  /** Session-Epoch; null when absent. */
  readonly epoch: string | null;
  /** Session-Versions; null when absent. */
  readonly versions: ReadonlyMap<string, number> | null;
  /** Session-Rotated: the epoch the session was rotated from, and whether its keys were kept. */
  readonly rotated?: Rotation | undefined;
  readonly problem?: Record<string, unknown> | undefined;
  /** The 412's current versions and values. */
  readonly keys?: Record<string, StaleKey>;
  readonly reason?: 'in-progress' | 'unavailable' | 'network';
  /** Retry-After, in ms. */
  readonly retryAfter?: number | undefined;
  /**
   * The error to reject with (a problem of ours never retried), thrown by the caller only once it has
   * learned the answer's epoch and versions: a 500 partly committed did change versions.
   */
  readonly error?: Error;
}

export async function readAnswer(response: Response): Promise<Answer> {
  const { headers, status } = response;
  const invalid = (what: string) => new InvalidAnswerError(`Server answer ${status}: ${what}`, { response });
  const epoch = parseEpoch(headers.get(HEADER.epoch));
  const versions = parseVersions(headers.get(HEADER.versions));
  if (epoch === undefined || versions === undefined) throw invalid('malformed Session-Epoch or Session-Versions');
  let problem: Record<string, unknown> | undefined;
  if (status >= 400 && headers.get('content-type')?.startsWith(PROBLEM_CONTENT_TYPE)) {
    try {
      problem = (await response.clone().json()) as Record<string, unknown>;
    } catch {
      throw invalid('problem body not JSON');
    }
  }
  // The name of a problem type of ours ('stale', 'session-ended'…); undefined for the app's own problems.
  const type = problem?.type;
  const name = typeof type === 'string' && type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : undefined;
  // Ours, so it must be a valid problem.
  if (name && !isProblem(problem)) throw invalid('malformed problem body');
  // A rotation's old epoch; the keys were kept unless it says `keys=?0` (anything else it says: not kept, the safe side).
  const from = readString(headers.get(HEADER.rotated)?.trim() ?? '');
  const base = { epoch, versions, problem, rotated: from && ([from[0], !from[1]] as const) };
  const busy = (reason: 'in-progress' | 'unavailable' | 'network'): Answer => ({ ...base, kind: 'busy', reason, retryAfter: parseRetryAfter(headers.get('retry-after')) });
  // A valid problem's detail is a string or absent.
  const reject = (E: typeof RequestRejectedError): Answer => ({ ...base, kind: 'done', error: new E((problem!.detail as string | undefined) ?? `Server refused (${status})`, { response, problem }) });

  switch (name) {
    case 'stale': {
      const keys = staleKeys(problem);
      if (!keys) throw invalid('malformed stale problem');
      return { ...base, kind: 'stale', keys };
    }
    case 'in-progress':
      return busy('in-progress');
    case 'store-unavailable':
      return busy('unavailable');
    case 'session-ended':
      return { ...base, kind: 'ended' };
    case 'invalid-value':
      return reject(InvalidValueError);
    // The app's handler threw: an answer like any 500 of the app, nothing committed.
    case 'handler-failed':
      break;
    default:
      if (name) return reject(RequestRejectedError);
      if (status > 501 && status < 505 && epoch === null) return busy('network');
  }
  if (status < 300 && epoch === null) throw invalid('no Session-Epoch (route not behind the validator?)');
  return { ...base, kind: 'done' };
}
