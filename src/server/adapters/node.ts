import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { markBufferedBody, markNodePath } from '../buffered-body.js';
import { heldParts, type HeldParts } from '../held-response.js';
import { consumedBody, NODE_FIX, writeProblem, type ParsedRequest } from './consumed-body.js';
import { getRequestListener, RESPONSE_ALREADY_SENT } from './node-bridge.js';

/** A Fetch API handler, as `validator.route()` returns. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A Node `http` request listener; Express 5 accepts it as a route handler too. */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * Request bodies up to this size, with a Content-Length, are read into memory
 * before the handler runs (Node's parser holds a body to its Content-Length);
 * larger or chunked ones stream. Small enough that buffering many at once
 * costs little, large enough for any session write.
 */
const BUFFER_BODIES_UP_TO = 64 * 1024;

/**
 * Serves a Fetch handler from Node's `http` server or Express 5:
 *
 * ```ts
 * http.createServer(toNodeListener(handler)).listen(3000);
 * app.post('/api/cart', toNodeListener(addToCart)); // Express: see expressRoute() of session-lanes/server/express
 * ```
 *
 * A write whose body a parser already read (`express.json()` before the
 * route) is served from the raw bytes the parser kept (`rawBody`, as
 * `verify: keepRawBody` keeps them; a Buffer `req.body` from `express.raw()`);
 * with none kept it is answered with a 500 `body-already-read` problem naming
 * the parser and the fix, never served an empty body.
 *
 * The Node-to-Fetch bridge is `@hono/node-server`'s: well kept, streaming,
 * and tolerant of Express's request objects. Two shortcuts keep web streams
 * off the hot path: a small request body is read with Node's own stream
 * (the bridge then serves `request.json()` and the validator's hash from
 * those bytes, and builds a real Request only if the handler asks for more),
 * and an answer the validator holds as bytes (every committed write's
 * recorded answer, every replay) is written from its status, headers and
 * bytes, without a web Response (held-response.ts).
 */
export function toNodeListener(handler: FetchHandler): NodeListener {
  // overrideGlobalObjects: false, so that the app keeps the platform's own Request and Response.
  const listener = getRequestListener(
    async (request, { incoming, outgoing }) => {
      const raw = (incoming as IncomingMessage & { rawBody?: unknown }).rawBody;
      if (raw instanceof Buffer) markBufferedBody(request, raw);
      markNodePath(request);
      const response = await handler(request);
      const held = response instanceof Response ? heldParts(response) : undefined;
      if (held === undefined) return response;
      // Our listener takes only HTTP/1 objects (NodeListener), so outgoing is a ServerResponse.
      writeHeld(held, outgoing as ServerResponse);
      return RESPONSE_ALREADY_SENT;
    },
    { overrideGlobalObjects: false },
  );
  return async (request, response) => {
    pinRequestScheme(request);
    const consumed = consumedBody(request as ParsedRequest, NODE_FIX);
    if (consumed) return writeProblem(response, consumed.problem);
    if (!(await bufferSmallBody(request))) {
      response.destroy(); // the client went away mid-body: nobody is left to answer
      return;
    }
    await listener(request, response);
  };
}

/**
 * The request's scheme is the connection's: https exactly when the socket is
 * TLS. An absolute-form target (`POST https://host/path HTTP/1.1`, which a
 * client may send to an origin too) names a scheme the client chose, and the
 * bridge would build the request URL from it, so that a plain-HTTP request
 * got a Secure `__Host-` cookie: its scheme is replaced by the socket's (the
 * authority stays, as RFC 9112 §3.2.2 says). Behind a TLS-terminating proxy,
 * `cookie.trustProxy` reads `X-Forwarded-Proto` instead.
 */
export function pinRequestScheme(request: IncomingMessage): void {
  const target = request.url ?? '';
  const colon = target.indexOf(':');
  // What the bridge takes as absolute-form: http:// or https://, as it matches them.
  if (!(target.startsWith('http://') || target.startsWith('https://'))) return;
  const scheme = (request.socket as Partial<TLSSocket> | undefined)?.encrypted === true ? 'https' : 'http';
  request.url = scheme + target.slice(colon);
}

/**
 * Reads a small body (see BUFFER_BODIES_UP_TO) into `rawBody`, the property
 * `@hono/node-server` serves a body from. Resolves false if the body could
 * not be read whole (the connection was cut), true otherwise.
 */
function bufferSmallBody(request: IncomingMessage & { rawBody?: unknown }): Promise<boolean> | true {
  if (request.method === 'GET' || request.method === 'HEAD' || request.rawBody !== undefined) return true;
  const declared = request.headers['content-length'];
  if (declared === undefined || request.readableDidRead || request.readableEnded) return true;
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length > BUFFER_BODIES_UP_TO) return true;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (whole: boolean) => {
      request.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
      if (whole) request.rawBody = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      resolve(whole);
    };
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = () => done(true);
    const onFail = () => done(false);
    const onClose = () => done(request.complete);
    request.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onClose);
  });
}

/**
 * Writes a held answer straight to Node, as the bridge would write its Response: Set-Cookie as a list, a name
 * given twice joined as `Headers` joins it, and a body without a type typed as the bridge types it.
 */
function writeHeld(held: HeldParts, outgoing: ServerResponse): void {
  const headers: Record<string, string | string[]> = {};
  const cookies: string[] = [];
  const add = (value: string, name: string) => {
    if (name === 'set-cookie') cookies.push(value);
    else headers[name] = headers[name] === undefined ? value : `${headers[name] as string}, ${value}`;
  };
  if (held.headers instanceof Headers) held.headers.forEach(add);
  else for (const [name, value] of held.headers) add(value, name);
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const { bytes } = held;
  if (bytes !== null) {
    headers['content-type'] ??= 'text/plain; charset=UTF-8';
    headers['content-length'] ??= String(bytes.byteLength); // a length the handler set stays, as the bridge keeps it
  }
  outgoing.writeHead(held.status, held.statusText || undefined, headers);
  outgoing.end(bytes ?? undefined);
}
