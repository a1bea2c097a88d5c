/** The validator-managed session cookie. */
export interface CookieOptions {
  /** @default 'sl_session' */
  name?: string;
  /** @default '/' */
  path?: string;
  /** @default undefined (host-only) */
  domain?: string;
  /** @default 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /**
   * 'auto': Secure when the request URL is https (or, with `trustProxy`, when
   * the proxy says so). A Secure cookie without Domain and with Path=/ is
   * named `__Host-<name>`, which no sibling subdomain can set.
   * @default 'auto'
   */
  secure?: boolean | 'auto';
  /**
   * Behind a TLS-terminating proxy you trust: `secure: 'auto'` also honours the
   * proxy's `X-Forwarded-Proto: https`. Only when every request comes through
   * that proxy, which overwrites the header: a client can send it too.
   * @default false
   */
  trustProxy?: boolean;
  /**
   * For the upgrade to `__Host-` (an app that served its session cookie
   * without the prefix before): on a request whose cookie qualifies for the
   * prefix and that carries no `__Host-<name>`, read one plain `<name>` once:
   * a read is served from its session as it is, and the first write rotates
   * that session to a fresh id under `__Host-<name>` (keys kept, the plain
   * cookie cleared, `Session-Rotated` on the answer), so whoever else holds
   * the plain id (a sibling subdomain that planted it) is left with a
   * tombstone. A malformed or duplicated plain cookie is ignored; a
   * well-formed one that names no live session gets the 410 of PROTOCOL.md
   * (whose clear cannot remove a sibling's Domain cookie). Without it,
   * a plain cookie is never read once the cookie qualifies for the prefix
   * (no sibling can fix or lock out a user who holds no `__Host-` cookie
   * yet), and sessions begun under the plain name are lost on the upgrade.
   * Turn it on for the upgrade period only: while on, a sibling that plants a
   * plain cookie of a live session before a user's first visit still puts
   * that user in it until the first write rotates.
   * @default false
   */
  migratePlain?: boolean;
}

export type ResolvedCookieOptions = Required<Omit<CookieOptions, 'domain'>> & { domain: string | undefined };

/**
 * Where a request's session cookie was found: its value, and the name it came under (`__Host-<name>` or `<name>`).
 * `legacy`: a plain `<name>` read under `migratePlain` on a request whose cookie qualifies for the prefix.
 */
export type FoundCookie = { readonly value: string; readonly name: string; readonly legacy?: true } | 'ambiguous' | null;

// RFC 6265 cookie-name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const resolved = {
    name: options.name ?? 'sl_session',
    path: options.path ?? '/',
    domain: options.domain,
    sameSite: options.sameSite ?? 'Lax',
    secure: options.secure ?? 'auto',
    trustProxy: options.trustProxy ?? false,
    migratePlain: options.migratePlain ?? false,
  } as const;
  if (!TOKEN.test(resolved.name)) throw new TypeError(`cookie.name must be an RFC 6265 token, got ${JSON.stringify(resolved.name)}`);
  if (!['Strict', 'Lax', 'None'].includes(resolved.sameSite)) throw new TypeError(`cookie.sameSite must be 'Strict', 'Lax' or 'None'`);
  if (resolved.secure !== 'auto' && typeof resolved.secure !== 'boolean') throw new TypeError(`cookie.secure must be true, false or 'auto'`);
  if (typeof resolved.trustProxy !== 'boolean') throw new TypeError('cookie.trustProxy must be a boolean');
  if (typeof resolved.migratePlain !== 'boolean') throw new TypeError('cookie.migratePlain must be a boolean');
  if (resolved.name.startsWith('__Host-') || resolved.name.startsWith('__Secure-')) {
    throw new TypeError(`cookie.name must not carry a prefix (${JSON.stringify(resolved.name)}): the validator adds __Host- itself whenever the cookie qualifies`);
  }
  return resolved;
}

/**
 * The session cookie. On a request whose cookie qualifies for `__Host-`
 * (`prefixed`), only `__Host-<name>` is read: a plain `<name>` may have been
 * planted by a sibling subdomain (or left after a logout), so it is not read,
 * not cleared and not counted as a duplicate — unless `migratePlain`, and
 * then only one plain cookie when no `__Host-<name>` is there. Otherwise
 * (plain HTTP, a Domain, a Path) the cookie is `<name>`. Two cookies of the
 * name read (a sibling can plant one with a longer Path, which the browser
 * sends first) are 'ambiguous': neither is used. A pair that does not parse
 * names nothing. One pass over the header: this runs on every request.
 */
export function readSessionCookie(headers: Headers, name: string, prefixed: boolean, migratePlain = false): FoundCookie {
  const names = [`__Host-${name}`, name] as const;
  const values: [string[], string[]] = [[], []];
  for (const pair of (headers.get('cookie') ?? '').split(';')) {
    const at = pair.indexOf('=');
    const index = at < 0 ? -1 : names.indexOf(pair.slice(0, at).trim() as (typeof names)[number]);
    if (index >= 0) values[index]!.push(pair.slice(at + 1).trim());
  }
  const [hosted, plain] = values;
  if (prefixed) {
    if (hosted.length > 1) return 'ambiguous';
    if (hosted.length === 1) return { value: hosted[0]!, name: names[0] };
    // A planted pair (or more) is nobody's to use: as if there were none.
    return migratePlain && plain.length === 1 ? { value: plain[0]!, name, legacy: true } : null;
  }
  // No prefix possible here: a __Host- cookie (set when the request was secure) is still the user's own.
  for (const [index, found] of values.entries()) {
    if (found.length > 1) return 'ambiguous';
    if (found.length === 1) return { value: found[0]!, name: names[index]! };
  }
  return null;
}

/** Whether the answer's cookie is Secure: by option, by the request's scheme, or by the trusted proxy's. */
function isSecure(options: ResolvedCookieOptions, request: Request): boolean {
  if (options.sameSite === 'None') return true;
  if (options.secure !== 'auto') return options.secure;
  if (new URL(request.url).protocol === 'https:') return true;
  return options.trustProxy && request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** The name a new session cookie gets: `__Host-<name>` exactly when it is Secure, has no Domain and has Path=/. */
export function cookieName(options: ResolvedCookieOptions, request: Request): string {
  return isSecure(options, request) && !options.domain && options.path === '/' ? `__Host-${options.name}` : options.name;
}

function attributes(options: ResolvedCookieOptions, request: Request): string {
  const secure = isSecure(options, request);
  return [
    `Path=${options.path}`,
    ...(options.domain ? [`Domain=${options.domain}`] : []),
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookie(options: ResolvedCookieOptions, request: Request, sessionId: string): string {
  return `${cookieName(options, request)}=${sessionId}; ${attributes(options, request)}`;
}

/** Clears the cookie under the name it was read from (default: the name a new one would get). */
export function clearedCookie(options: ResolvedCookieOptions, request: Request, name = cookieName(options, request)): string {
  // A __Host- cookie is only accepted (and so only cleared) with Secure.
  const attrs = name.startsWith('__Host-') && !isSecure(options, request) ? `${attributes(options, request)}; Secure` : attributes(options, request);
  return `${name}=; Max-Age=0; ${attrs}`;
}
