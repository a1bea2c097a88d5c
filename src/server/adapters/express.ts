import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { SchemaMap, TrackedSession } from '../tracked-session.js';
import type { Validator } from '../validator.js';
import { captureResponse } from './express-capture.js';
import { overlaySession } from './express-session-overlay.js';
import { declaredMethod, servedBy, wrongMethodMessage } from './mounted-method.js';
import { pinRequestScheme } from './node.js';

/**
 * What an Express route hands a validator route after the request: the
 * handler gets it after `session`, and `sessionId(request, context)` as its
 * context. Route params (`req.params`), `res.locals` and whatever earlier
 * middleware put on `req` (auth, cookies, `req.session`) are all there.
 */
export interface ExpressContext {
  readonly req: ExpressRequest;
  readonly res: ExpressResponse;
}

/** A validator route as Express mounts it: `validator.route(entry, (request, session, { req, res }) => …)`. */
export type ExpressFetchHandler = (request: Request, context: ExpressContext) => Response | Promise<Response>;

/** A request body an Express body parser read before the validator route could, with no raw bytes left to read. */
export class BodyAlreadyReadError extends Error {
  override name = 'BodyAlreadyReadError';
}

/**
 * An Express middleware or route handler. Typed on Node's own request and
 * response, so that Express infers `req.params` of the handlers after it
 * from the route path.
 */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

type RawBodyRequest = IncomingMessage & { rawBody?: unknown; body?: unknown };

/**
 * Mounts a validator route on Express the way Express users write routes:
 *
 * ```ts
 * import { expressRoute } from 'session-lanes/server/express';
 *
 * app.post('/api/cart/:sku', requireUser, expressRoute(validator.route(routes.addToCart, async (request, session, { req, res }) => {
 *   session.set('cart', [...(session.get('cart') ?? []), req.params.sku]);
 *   return Response.json({ cart: session.get('cart'), user: res.locals.user });
 * })));
 * ```
 *
 * The validator buffers a write's body to fingerprint it, so it needs the
 * bytes: mount the route before a body parser, or keep the raw bytes with
 * `express.json({ verify: keepRawBody })` (or use `express.raw()`); then
 * `req.body` is the parsed body too. A body parsed
 * with nothing left to read fails the request with `BodyAlreadyReadError`,
 * passed to `next()`, whose message names the parser and the fix.
 *
 * The answer keeps the headers earlier middleware set on `res`, including
 * their Set-Cookie (express-session's too).
 */
export function expressRoute(handler: ExpressFetchHandler): ExpressMiddleware {
  if (typeof handler !== 'function') throw new TypeError('expressRoute(handler): handler must be a function, as validator.route() returns');
  const served = mount((request, context) => handler(request, { req: context.req, res: context.res }));
  return (req, res, next) => served(req as ExpressRequest, res as ExpressResponse, next);
}

declare global {
  namespace Express {
    interface Locals {
      /** The route's tracked session, under `withSession()` of session-lanes/server/express. */
      session?: TrackedSession;
    }
  }
}

/**
 * An Express middleware that serves the rest of its route through the
 * validator, for handlers written the Express way: the handler after it finds
 * the tracked session of the route's keys in `res.locals.session`, answers
 * with `res.json()`, `res.status()`, `res.send()`, or `next(error)`, and what
 * it writes is committed and sent with the session headers added.
 *
 * ```ts
 * import { withSession } from 'session-lanes/server/express';
 *
 * app.post('/api/cart/:sku', requireUser, withSession(validator, routes.addToCart), (req, res) => {
 *   const session = res.locals.session!;
 *   session.set('cart', [...(session.get('cart') ?? []), req.params.sku]);
 *   res.status(201).json({ cart: session.get('cart') });
 * });
 * ```
 *
 * With express-session (or any session object on `req.session`), the route's
 * keys on `req.session` are the tracked session's: a handler written for
 * express-session (`req.session.cart = [...]`, `req.session.cart.push(sku)`)
 * needs no change, the rest of `req.session` stays express-session's, and a
 * written key's old express-session value moves into session-lanes at its
 * first write.
 *
 * The answer is buffered until the handler ends it; an answer of 500 or more
 * (an error handler's too) commits nothing. The validator reads a write's
 * body itself, so `req.body` is there when a parser ran before with the raw
 * bytes kept: `app.use(express.json({ verify: keepRawBody }))`; the body
 * rules of `expressRoute()` apply. `sessionId(request, context)` gets
 * `{ req, res }`.
 */
export function withSession<Schemas extends SchemaMap>(validator: Validator<Schemas>, declaration: Parameters<Validator<Schemas>['route']>[0]): ExpressMiddleware {
  if (!validator || typeof validator.route !== 'function') throw new TypeError('withSession(validator, declaration): validator must be what createValidator() returns');
  const { reads = [], writes = [] } = declaration as { reads?: readonly string[]; writes?: readonly string[] };
  const route = validator.route(declaration, (_request: Request, session: unknown, { req, res, next }: MountContext) =>
    new Promise<Response>((resolve, reject) => {
      const tracked = session as TrackedSession;
      res.locals.session = tracked;
      const appSession = (req as { session?: unknown }).session;
      const appSessionId = (req as { sessionID?: unknown }).sessionID;
      const overlay = appSession && typeof appSession === 'object' ? overlaySession(appSession, tracked, reads, writes) : null;
      captureResponse(res, (response) => {
        try {
          overlay?.finish();
          if (appSession) followAppSession(validator, declaration, tracked, req, appSessionId);
          resolve(response);
        } catch (error) {
          reject(error);
        }
      });
      next();
    }),
  );
  const declared = declaredMethod(declaration);
  const served = mount(route);
  return function sessionLanesMiddleware(incoming, outgoing, next) {
    const req = incoming as ExpressRequest;
    const res = outgoing as ExpressResponse;
    // Under app.use() (no req.route) the validator's 405 still answers a wrong method.
    const mounted = req.route ? Object.keys((req.route as { methods: Record<string, boolean> }).methods).filter((method) => method !== '_all') : [];
    if (declared && mounted.length > 0 && !mounted.some((method) => servedBy(declared, method))) return next(new TypeError(wrongMethodMessage(declaration, mounted[0]!)));
    return served(req, res, next);
  };
}

/**
 * express-session's login and logout are the tracked session's too: in a
 * `rotates` route, a `req.session.regenerate()` (a new `req.sessionID`)
 * rotates it, to that id under a `sessionId` resolver; in an `ends` route, a
 * `req.session.destroy()` ends it.
 */
function followAppSession(validator: { resolvesIds: boolean }, declaration: unknown, session: TrackedSession, req: ExpressRequest, startId: unknown): void {
  const { rotates, ends } = declaration as { rotates?: unknown; ends?: unknown };
  const current = req as { session?: unknown; sessionID?: unknown };
  if (ends === true && !current.session) session.destroy();
  if (rotates === true && current.session && typeof current.sessionID === 'string' && current.sessionID !== startId) {
    const rotatable = session as TrackedSession & { rotate(options?: { id?: string }): void };
    rotatable.rotate(validator.resolvesIds ? { id: current.sessionID } : {});
  }
}

interface MountContext extends ExpressContext {
  readonly next: NextFunction;
}

/** Serves a Fetch handler from Express through @hono/node-server's bridge, handing it `{ req, res, next }`. */
function mount(handler: (request: Request, context: MountContext) => Response | Promise<Response>): (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => void {
  const contexts = new WeakMap<IncomingMessage, MountContext>();
  const listener = getRequestListener(
    async (request, env) => {
      const context = contexts.get(env.incoming as IncomingMessage)!;
      return withEarlierCookies(await handler(request, context), context.res);
    },
    // The app keeps the platform's own Request and Response.
    { overrideGlobalObjects: false },
  );
  return function sessionLanesRoute(req: ExpressRequest, res: ExpressResponse, next: NextFunction) {
    try {
      keepReadBody(req as RawBodyRequest);
    } catch (error) {
      return next(error);
    }
    contexts.set(req, { req, res, next });
    // Under app.use('/api', router) Express strips the mount path from req.url; the handler's request gets the whole URL.
    const url = req.url;
    req.url = req.originalUrl;
    pinRequestScheme(req);
    let served: Promise<void>;
    try {
      // The bridge reads req.url synchronously, before its first await.
      served = listener(req, res);
    } finally {
      req.url = url;
    }
    served.catch(next);
  };
}

/**
 * The `verify` option of Express's body parsers that keeps the raw bytes for
 * the validator, so that `req.body` can be parsed as before:
 * `app.use(express.json({ verify: keepRawBody }))`.
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buffer: Buffer): void {
  (req as RawBodyRequest).rawBody = buffer;
}

/** A body a parser read: use its raw bytes where it left them, and refuse otherwise, naming the parser. */
function keepReadBody(req: RawBodyRequest): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const read = req.readableEnded || (req.complete && !req.readable);
  if (!read || req.rawBody instanceof Uint8Array) return;
  if (req.body instanceof Uint8Array) {
    // express.raw(): the body is the bytes.
    req.rawBody = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    return;
  }
  if (req.headers['content-length'] === '0') {
    req.rawBody = Buffer.alloc(0);
    return;
  }
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  const parser = /\bjson\b|\+json/.test(type)
    ? 'express.json()'
    : type.startsWith('application/x-www-form-urlencoded')
      ? 'express.urlencoded()'
      : type.startsWith('text/')
        ? 'express.text()'
        : 'a body parser';
  throw new BodyAlreadyReadError(
    `session-lanes: ${parser} read the body of ${req.method} ${(req as ExpressRequest).originalUrl ?? req.url} before the validator route could, and left no raw bytes; ` +
      'the validator needs them to fingerprint the write. Mount the route before the parser (or apply the parser only to the routes that need it), ' +
      `or keep the raw bytes: ${parser === 'a body parser' ? 'express.json' : parser.slice(0, -2)}({ verify: keepRawBody }), keepRawBody from 'session-lanes/server/express'`,
  );
}

/** Set-Cookie headers earlier middleware put on `res` would be replaced by the answer's own: append them to it. */
function withEarlierCookies(response: Response, res: ExpressResponse): Response {
  const earlier = res.getHeader('set-cookie');
  if (earlier === undefined) return response;
  res.removeHeader('set-cookie');
  const headers = new Headers(response.headers);
  for (const cookie of Array.isArray(earlier) ? earlier : [String(earlier)]) headers.append('set-cookie', cookie);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
