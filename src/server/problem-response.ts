import { PROBLEM, PROBLEM_CONTENT_TYPE, type ProblemName } from '../protocol/problems.js';

/** Builds an RFC 9457 problem response of one of our types, with extension members. */
export function problemResponse(
  name: ProblemName,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  const { type, status, title } = PROBLEM[name];
  const body = JSON.stringify({ type, title, status, detail, ...extensions });
  const responseHeaders = new Headers(headers);
  responseHeaders.set('content-type', PROBLEM_CONTENT_TYPE);
  responseHeaders.set('cache-control', 'no-store');
  return new Response(body, { status, headers: responseHeaders });
}

/** An answer decided early in the pipeline; the validator turns it into its problem response. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly problem: ProblemName,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}
