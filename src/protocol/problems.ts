/**
 * Problem types of wire protocol v1 (RFC 9457). The `type` URIs are stable
 * identifiers; clients match on them, never on `title` or `detail`.
 */
const BASE = 'https://session-lanes.dev/problems/';

export const PROBLEM = {
  stale: { type: `${BASE}stale`, status: 412, title: 'Stale session data' },
  inProgress: { type: `${BASE}in-progress`, status: 409, title: 'Request still in progress' },
  keyReused: { type: `${BASE}idempotency-key-reused`, status: 422, title: 'Idempotency-Key reused for another request' },
  sessionEnded: { type: `${BASE}session-ended`, status: 410, title: 'Session ended' },
  declarationRequired: { type: `${BASE}declaration-required`, status: 428, title: 'Session-Write declaration required' },
  invalidDeclaration: { type: `${BASE}invalid-declaration`, status: 400, title: 'Invalid session declaration' },
  invalidValue: { type: `${BASE}invalid-value`, status: 422, title: 'Invalid session value' },
  storeUnavailable: { type: `${BASE}store-unavailable`, status: 503, title: 'Session store unavailable' },
  partlyCommitted: { type: `${BASE}partly-committed`, status: 500, title: 'Request partly committed' },
  undeclaredKey: { type: `${BASE}undeclared-key`, status: 500, title: 'Handler used a key its route does not declare' },
  handlerFailed: { type: `${BASE}handler-failed`, status: 500, title: 'Handler failed' },
  bodyAlreadyRead: { type: `${BASE}body-already-read`, status: 500, title: 'Request body already read by another middleware' },
  bodyTooLarge: { type: `${BASE}body-too-large`, status: 413, title: 'Request body too large' },
  methodNotAllowed: { type: `${BASE}method-not-allowed`, status: 405, title: 'Method not allowed by the route table' },
  routeNotFound: { type: `${BASE}route-not-found`, status: 404, title: 'No route of the table matches' },
} as const;

export type ProblemName = keyof typeof PROBLEM;
export type ProblemType = (typeof PROBLEM)[ProblemName]['type'];

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
