import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * Lets an Express handler write its answer as usual (`res.status()`,
 * `res.json()`, `res.send()`, `res.write()`/`res.end()`, an error handler
 * after `next(error)`) without sending anything yet: what it writes is
 * collected into a Fetch `Response`, handed to `done` at `res.end()`, and
 * `res` is given back untouched, so that the validator can commit, add the
 * session headers and then send the answer through `res` for real.
 *
 * The body is buffered (the validator records the answer of a write anyway).
 */
export function captureResponse(res: ServerResponse, done: (response: Response) => void): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  const chunks: Buffer[] = [];
  const collect = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array));
  };
  const callbackOf = (...args: unknown[]) => args.find((arg): arg is () => void => typeof arg === 'function');

  res.writeHead = function writeHead(this: ServerResponse, status: number, reason?: unknown, headers?: unknown) {
    res.statusCode = status;
    if (typeof reason === 'string') res.statusMessage = reason;
    else headers = reason;
    if (Array.isArray(headers)) {
      for (let at = 0; at + 1 < headers.length; at += 2) res.setHeader(String(headers[at]), headers[at + 1] as string);
    } else if (headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) if (value !== undefined) res.setHeader(name, value);
    }
    return res;
  } as ServerResponse['writeHead'];
  res.flushHeaders = () => {};
  res.write = function write(chunk: unknown, encoding?: unknown, callback?: unknown) {
    collect(chunk, encoding);
    const cb = callbackOf(encoding, callback);
    if (cb) queueMicrotask(cb);
    return true;
  } as ServerResponse['write'];
  res.end = function end(chunk?: unknown, encoding?: unknown, callback?: unknown) {
    collect(chunk, encoding);
    Object.assign(res, original);
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
      res.removeHeader(name);
    }
    // The answer is sent later, with its length as the validator leaves it.
    headers.delete('content-length');
    const status = res.statusCode;
    const bodyless = status === 204 || status === 304;
    done(new Response(bodyless ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers }));
    const cb = callbackOf(chunk, encoding, callback);
    if (cb) res.once('finish', cb);
    return res;
  } as ServerResponse['end'];
}
