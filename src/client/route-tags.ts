/**
 * Tags a call from the app's route table: the declaration of the route its
 * method and URL match, with the call's own `session` fields over it.
 */
import { createRouteMatcher } from '../routes/match.js';
import type { RouteTable } from '../routes/types.js';
import type { SessionDeclaration, SessionRequestInit } from './options.js';

/** The declaration a call goes out with; undefined: untouched. */
export type RouteTagger = (input: RequestInfo | URL, init: SessionRequestInit) => SessionDeclaration | undefined;

const SCHEME = /^[a-z][a-z\d+.-]*:/i;

export function routeTagger(routes: RouteTable, base = globalThis.location?.origin as string | URL | undefined): RouteTagger {
  if (base === undefined) throw new TypeError('options.base is needed outside a page');
  const match = createRouteMatcher(routes, base);
  // The origin of the base relative URLs resolve against, parsed again only when that base changes.
  let against: string | undefined;
  let origin = '';
  return (input, { session, method }) => {
    const request = typeof Request == 'function' && input instanceof Request ? input : undefined;
    let entry;
    try {
      let url = request ? request.url : String(input);
      // Relative URLs resolve as fetch resolves them: against the document's base URL.
      const resolveAgainst = String(globalThis.document?.baseURI ?? base);
      if (url[0] == '/' && url[1] != '/' && url[1] != '\\') {
        if (resolveAgainst !== against) origin = new URL((against = resolveAgainst)).origin;
        url = origin + url;
      } else if (!SCHEME.test(url)) url = new URL(url, resolveAgainst).href;
      entry = match(method ?? request?.method ?? 'GET', url)?.[2];
    } catch {
      // Not a URL: fetch rejects it, untagged.
    }
    // Field by field, the call's over the route's (a field the call gives as undefined is given: its default).
    return entry && session ? ({ ...entry, ...session } as SessionDeclaration) : entry ?? session;
  };
}
