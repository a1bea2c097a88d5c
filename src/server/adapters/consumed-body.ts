/**
 * A write whose body an earlier middleware (a body parser) already read: the
 * validator fingerprints the bytes that arrived, so an adapter uses them where
 * the parser kept them, and otherwise answers a `body-already-read` problem
 * that names the parser and the fix, rather than serving the handler an empty
 * body (and the client a 500 `handler-failed`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { problemResponse } from '../problem-response.js';

/** A Node request as body parsers leave it: `rawBody` is where `keepRawBody` (and some frameworks) keep the bytes. */
export type ParsedRequest = IncomingMessage & { rawBody?: unknown; body?: unknown; originalUrl?: string };

/**
 * The raw bytes of a body a parser consumed (they become `rawBody`), or, when
 * none are left, the problem to answer. `undefined` when the body is unread (or
 * there is none): the adapter reads it as usual.
 */
export function consumedBody(req: ParsedRequest, fix: string): { problem: Response } | undefined {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const read = req.readableEnded || req.readableDidRead || (req.complete && !req.readable);
  if (!read || req.rawBody instanceof Uint8Array) return;
  if (req.body instanceof Uint8Array) {
    // express.raw() (or any parser that leaves a Buffer): the body is the bytes.
    req.rawBody = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    return;
  }
  if (req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)) {
    req.rawBody = Buffer.alloc(0);
    return;
  }
  const parser = parserOf(req.headers['content-type']);
  return { problem: bodyAlreadyRead(parser, `${req.method} ${req.originalUrl ?? req.url}`, fix.replaceAll('{parser}', parser === 'a body parser' ? 'express.json' : parser.slice(0, -2))) };
}

/** The Express parser that reads a body of this Content-Type. */
function parserOf(contentType: string | undefined): string {
  const type = String(contentType ?? '').toLowerCase();
  if (/\bjson\b|\+json/.test(type)) return 'express.json()';
  if (type.startsWith('application/x-www-form-urlencoded')) return 'express.urlencoded()';
  if (type.startsWith('text/')) return 'express.text()';
  return 'a body parser';
}

/** The 500 `body-already-read` problem: what read the body, of which request, and what to do. */
export function bodyAlreadyRead(parser: string, request: string, fix: string): Response {
  return problemResponse(
    'bodyAlreadyRead',
    `session-lanes: ${parser} read the body of ${request} before session-lanes could, and kept no raw bytes; ` +
      `the validator fingerprints the bytes that arrived, so that a resend is known as the same request. ${fix}`,
    { parser },
  );
}

/** The fix for an app on Node `http`, Connect or Express, with `{parser}` for the parser's function (`express.json`). */
export const NODE_FIX =
  'Mount the route before the parser (or apply the parser only to the routes that need it), ' +
  "or keep the raw bytes: {parser}({ verify: keepRawBody }), keepRawBody from 'session-lanes/server/express'";

/** Writes a problem built by `problemResponse()` to a Node response. */
export async function writeProblem(res: ServerResponse, problem: Response): Promise<void> {
  const body = await problem.text();
  const headers: Record<string, string> = {};
  problem.headers.forEach((value, name) => (headers[name] = value));
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(problem.status, headers);
  res.end(body);
}
