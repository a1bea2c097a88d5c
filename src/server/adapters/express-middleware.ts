import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { SchemaMap, TrackedSession } from '../tracked-session.js';
import type { RouteDeclaration, RouteSession, Validator } from '../validator.js';
import { consumedBody, NODE_FIX, writeProblem, type ParsedRequest } from './consumed-body.js';
import { captureResponse } from './express-capture.js';
import { overlaySession } from './express-session-overlay.js';
import { checkDeclaration, declaredMethod, servedBy, wrongMethodMessage } from './mounted-method.js';
import { getRequestListener } from './node-bridge.js';
import { pinRequestScheme } from './node.js';
import { isExpressErrorPage, watchedSession, type SessionFailures } from './session-failures.js';

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

/**
 * An Express middleware or route handler. Typed on Node's own request and
 * response, so that Express infers `req.params` of the handlers after it
 * from the route path.
 */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** `res.locals` under `withSession()` and `sessionRoutes()`: the route's tracked session, typed from its entry, beside the app's own locals. */
export type SessionLocals<Session> = Record<string, any> & { session: Session };

/**
 * `withSession()`'s middleware: typed on Node's request (Express infers
 * `req.params` from the route path) and on a response whose `locals` hold the
 * route's session, so that the handlers after it get `res.locals.session`
 * typed from the entry (only its keys; `set` only the written ones).
 */
export type SessionMiddleware<Session> = (req: IncomingMessage, res: ExpressResponse<any, SessionLocals<Session>>, next: (error?: unknown) => void) => void;


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
 * `req.body` is the parsed body too. A body parsed with nothing left to
 * read is answered with a 500 `body-already-read` problem whose detail names
 * the parser and the fix (never Express's HTML error page).
 *
 * The answer keeps the headers earlier middleware set on `res`, including
 * their Set-Cookie (express-session's too).
 */
export function expressRoute(handler: ExpressFetchHandler): ExpressMiddleware {
  if (typeof handler !== 'function') throw new TypeError('expressRoute(handler): handler must be a function, as validator.route() returns');
  const served = mount((request, context) => handler(request, { req: context.req, res: context.res }));
  return (req, res, next) => served(req as ExpressRequest, res as ExpressResponse, next);
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
 *   const { session } = res.locals;              // typed from routes.addToCart
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
 * (an error handler's too) commits nothing. An error the tracked session
 * threw (an invalid value, an undeclared key) is answered with its problem,
 * as `validator.route()` answers it, and Express's own error page with the
 * `handler-failed` problem; an error handler of the app's answers the rest. The validator reads a write's
 * body itself, so `req.body` is there when a parser ran before with the raw
 * bytes kept: `app.use(express.json({ verify: keepRawBody }))`; the body
 * rules of `expressRoute()` apply. `sessionId(request, context)` gets
 * `{ req, res }`.
 */
export function withSession<Schemas extends SchemaMap, const D extends RouteDeclaration<keyof Schemas & string> | RouteDeclaration>(
  validator: Validator<Schemas>,
  declaration: D,
): SessionMiddleware<RouteSession<Schemas, D>> {
  if (!validator || typeof validator.route !== 'function') throw new TypeError('withSession(validator, declaration): validator must be what createValidator() returns');
  checkDeclaration(declaration);
  const { reads = [], writes = [] } = declaration as { reads?: readonly string[]; writes?: readonly string[] };
  const route = validator.route(declaration, (_request: Request, session: unknown, { req, res, next }: MountContext) =>
    new Promise<Response>((resolve, reject) => {
      const failures: SessionFailures = {};
      const tracked = watchedSession(session as TrackedSession, failures);
      res.locals.session = tracked;
      const appSession = (req as { session?: unknown }).session;
      const appSessionId = (req as { sessionID?: unknown }).sessionID;
      const overlay = appSession && typeof appSession === 'object' ? overlaySession(appSession, tracked, reads, writes) : null;
      captureResponse(res, (response) => {
        try {
          overlay?.finish();
          if (appSession) followAppSession(validator, declaration, tracked, req, appSessionId);
          // A 5xx after the tracked session threw is that error's problem (invalid-value, undeclared-key…), whatever the error handler made of it;
          // Express's own HTML error page is the validator's handler-failed problem. An error handler of the app's answers as it likes.
          if (response.status >= 500 && 'error' in failures) return reject(failures.error);
          if (isExpressErrorPage(response)) return reject(new Error('The route handler failed (Express answered with its own error page)'));
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
    const consumed = consumedBody(req as ParsedRequest, NODE_FIX);
    if (consumed) return void writeProblem(res, consumed.problem).catch(next);
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
  (req as ParsedRequest).rawBody = buffer;
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

