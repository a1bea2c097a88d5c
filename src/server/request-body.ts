import { bufferedBodyOf } from './buffered-body.js';
import { sha256Hex } from './encoding.js';
import { ProblemError } from './problem-response.js';

/**
 * Reads a write's body, at most maxBodyBytes of it (a chunked body is cut
 * off as soon as it passes the limit), and returns a request over the bytes
 * read for the handler, since the original's body is now consumed.
 */
export async function readBody(request: Request, maxBodyBytes: number): Promise<{ body: Uint8Array; handlerRequest: Request }> {
  const tooLarge = () => new ProblemError('bodyTooLarge', `A write request's body may have at most ${maxBodyBytes} bytes`);
  if (Number(request.headers.get('content-length') ?? 0) > maxBodyBytes) throw tooLarge();
  // Already in memory (the Node adapter read it): the handler reads the same bytes from the original, unread Request.
  const buffered = bufferedBodyOf(request);
  if (buffered !== undefined) {
    if (buffered.byteLength > maxBodyBytes) throw tooLarge();
    return { body: buffered, handlerRequest: request };
  }
  const stream = request.body;
  if (!stream) return { body: new Uint8Array(0), handlerRequest: request };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBodyBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // A new Request from parts: some bridges (the Node one) hand over Request look-alikes that cannot be copied with `new Request(request, init)`.
  const { url, method, headers, signal } = request;
  const handlerRequest = new Request(url, { method, headers, signal, ...(method === 'GET' || method === 'HEAD' ? {} : { body: body as Uint8Array<ArrayBuffer> }) });
  return { body, handlerRequest };
}

/** What makes two requests the same request for an Idempotency-Key. */
export function requestFingerprint(request: Request, body: Uint8Array): string {
  // Not the session headers: a resend with fresher bases is the same request.
  return sha256Hex([`${request.method}\n${pathAndQuery(request.url)}\n`, body]);
}

// A path and query the URL parser keeps exactly as written: no percent sign, no dot segment, no fragment, no empty query,
// and none of the characters it would encode (in a query of an http(s) URL that includes the apostrophe).
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]+)?$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;
const PLAIN_AUTHORITY = /^[^?#\\\s]+$/;

/**
 * `new URL(url).pathname + search`, read off the string when the URL is
 * already written as the parser would write it (as a Request's URL nearly
 * always is): parsing a URL is a good part of a fingerprint's cost.
 */
export function pathAndQuery(url: string): string {
  const start = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
  const slash = start === -1 ? -1 : url.indexOf('/', start);
  if (slash > start && PLAIN_AUTHORITY.test(url.slice(start, slash))) {
    const target = url.slice(slash);
    if (PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) return target;
  }
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}
