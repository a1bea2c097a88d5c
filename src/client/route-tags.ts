/**
 * Tags a call from the app's route table: the declaration of the route its
 * method and URL match, with the call's own `session` fields over it.
 */
import { createRouteMatcher } from '../routes/match.js';
import type { RouteTable } from '../routes/types.js';
import type { SessionDeclaration, SessionRequestInit } from './declaration.js';
import { isRequest } from './request-input.js';

/** The declaration a call goes out with; undefined: untouched. */
export type RouteTagger = (input: RequestInfo | URL, init: SessionRequestInit) => SessionDeclaration | undefined;

export function routeTagger(routes: RouteTable, base = globalThis.location?.origin as string | URL | undefined): RouteTagger {
  if (base === undefined) throw new TypeError('options.base is needed outside a page');
  const match = createRouteMatcher(routes, base);
  return (input, { session, method }) => {
    const request = isRequest(input) ? input : undefined;
    let entry;
    try {
      // Relative URLs resolve as fetch resolves them: against the document's base URL.
      entry = match(method ?? request?.method ?? 'GET', new URL(request ? request.url : String(input), globalThis.document?.baseURI ?? base))?.[2];
    } catch {
      // Not a URL: fetch rejects it, untagged.
    }
    // Field by field, the call's over the route's (a field the call gives as undefined is given: its default).
    return entry ? ({ ...entry, ...session } as SessionDeclaration) : session;
  };
}
