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
  /** 'auto': Secure when the request URL is https (behind a TLS-terminating proxy, say `true`). @default 'auto' */
  secure?: boolean | 'auto';
}

export type ResolvedCookieOptions = Required<Omit<CookieOptions, 'domain'>> & { domain: string | undefined };

// RFC 6265 cookie-name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const resolved = {
    name: options.name ?? 'sl_session',
    path: options.path ?? '/',
    domain: options.domain,
    sameSite: options.sameSite ?? 'Lax',
    secure: options.secure ?? 'auto',
  } as const;
  if (!TOKEN.test(resolved.name)) throw new TypeError(`cookie.name must be an RFC 6265 token, got ${JSON.stringify(resolved.name)}`);
  if (!['Strict', 'Lax', 'None'].includes(resolved.sameSite)) throw new TypeError(`cookie.sameSite must be 'Strict', 'Lax' or 'None'`);
  return resolved;
}

/** The value of the named cookie, or null. A cookie header that does not parse names no session. */
export function readCookie(headers: Headers, name: string): string | null {
  const header = headers.get('cookie');
  if (!header) return null;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    if (pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return null;
}

function attributes(options: ResolvedCookieOptions, request: Request): string {
  const secure = options.secure === 'auto' ? new URL(request.url).protocol === 'https:' : options.secure;
  return [
    `Path=${options.path}`,
    ...(options.domain ? [`Domain=${options.domain}`] : []),
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(secure || options.sameSite === 'None' ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookie(options: ResolvedCookieOptions, request: Request, sessionId: string): string {
  return `${options.name}=${sessionId}; ${attributes(options, request)}`;
}

export function clearedCookie(options: ResolvedCookieOptions, request: Request): string {
  return `${options.name}=; Max-Age=0; ${attributes(options, request)}`;
}
