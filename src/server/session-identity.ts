import { highestBase, type RequestDeclaration } from './declarations.js';
import { assertCreatingKey, creatingIds } from './creating-request.js';
import type { ResolvedOptions } from './options.js';
import { cookieName, readSessionCookie } from './session-cookie.js';
import { unstorable } from './storable-text.js';

/** Where a request's session comes from, before the store is asked. */
export type Identity =
  | { kind: 'visitor' }
  /** `clearCookie`: the cookie (of that name) names nothing this server issued, so the answer clears it. */
  | { kind: 'ended'; detail: string; clearCookie?: string }
  /** `creates`: the session may not exist yet and is created by the first commit. */
  | {
      kind: 'session';
      id: string;
      creates: boolean;
      viaCookie: boolean;
      /** A creating request's id in the previous id window, where its resend's record may be. */
      previousId?: string;
      /** Where the id came from: `__Host-<name>` or `<name>`. */
      cookieName?: string;
      /** A plain cookie read under `cookie.migratePlain` where `__Host-` is due: a write rotates it to a `__Host-` session. */
      migrate?: true;
    };

// Session ids the validator issues: base64url of an HMAC-SHA256.
const ISSUED_ID = /^[A-Za-z0-9_-]{43}$/;

/** Step 1 of PROTOCOL.md: which session a request is for (the app's resolver, the cookie, or the one it creates). */
export async function identify(options: ResolvedOptions, request: Request, declaration: RequestDeclaration, writes: boolean, context: unknown): Promise<Identity> {
  if (options.sessionId) {
    const id = await options.sessionId(request, context);
    if (id === null) {
      return declaration.epoch !== null || highestBase(declaration) > 0 ? { kind: 'ended', detail: 'The request was made for a session, but it has none' } : { kind: 'visitor' };
    }
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('options.sessionId() must return a non-empty string or null');
    const fault = unstorable(id);
    if (fault) throw new TypeError(`options.sessionId() returned ${JSON.stringify(id)}, which ${fault}: return well-formed text without U+0000 (encode binary ids, e.g. as hex)`);
    return { kind: 'session', id, creates: true, viaCookie: false };
  }
  const prefixed = cookieName(options.cookie, request) !== options.cookie.name;
  let cookie = readSessionCookie(request.headers, options.cookie.name, prefixed, options.cookie.migratePlain);
  // A plain cookie that names nothing is no session to migrate, and not the user's to be locked out by: ignored.
  if (cookie !== null && cookie !== 'ambiguous' && cookie.legacy && !ISSUED_ID.test(cookie.value)) cookie = null;
  // Clearing would delete the user's own cookie too, and using either could be the planted one: neither, and nothing cleared.
  if (cookie === 'ambiguous') return { kind: 'ended', detail: `The request carries two session cookies of one name; the server uses neither (did another subdomain set one, or did a client library such as fetch-cookie add the cookie twice?)` };
  if (cookie !== null) {
    if (!ISSUED_ID.test(cookie.value)) return { kind: 'ended', detail: 'The session cookie names no session this server issued', clearCookie: cookie.name };
    return { kind: 'session', id: cookie.value, creates: false, viaCookie: true, cookieName: cookie.name, ...(cookie.legacy ? { migrate: true as const } : {}) };
  }
  if (declaration.epoch !== null || highestBase(declaration) > 0) {
    return { kind: 'ended', detail: 'The request was made for a session (Session-Epoch or a base above 0) but carries no session cookie' };
  }
  if (!writes) return { kind: 'visitor' };
  // A creating request's session id is derived from its Idempotency-Key and the window it came in, so that its
  // resend, with or without the cookie, finds its record, and the same request never gets an id issued before.
  const key = declaration.idempotencyKey ?? '';
  assertCreatingKey(key);
  const { current, previous } = creatingIds(options.secret, key, options.now(), options.replayWindowMs, options.store.creatingId?.bind(options.store));
  return { kind: 'session', id: current, creates: true, viaCookie: false, previousId: previous };
}
