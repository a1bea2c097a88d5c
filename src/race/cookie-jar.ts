import { createHash } from 'node:crypto';

/**
 * The cookie jar the Node driver's clients share, as the tabs of one browser
 * share one: enough of RFC 6265 for one origin (name=value; an empty value,
 * `Max-Age=0` or a past `Expires` deletes; other attributes are ignored).
 * The history never holds a cookie: sessions are named by a short hash.
 */
export interface CookieJar {
  /** The `Cookie` header to send, or undefined when the jar is empty. */
  header(): string | undefined;
  /** Store what one answer's `Set-Cookie` lines say. */
  store(setCookies: readonly string[]): void;
  /** The session the jar is in: a hash of the session cookie (or of every cookie when no name was given); undefined when none. */
  session(): string | undefined;
}

/** The name the history gives a cookie value: `s-` and 10 hex digits of its SHA-256. */
export function sessionName(value: string): string {
  return `s-${createHash('sha256').update(value).digest('hex').slice(0, 10)}`;
}

function deletes(value: string, attributes: readonly string[]): boolean {
  if (value === '') return true;
  for (const attribute of attributes) {
    const [rawName = '', ...rest] = attribute.split('=');
    const name = rawName.trim().toLowerCase();
    const argument = rest.join('=').trim();
    if (name === 'max-age' && Number(argument) <= 0) return true;
    if (name === 'expires' && Date.parse(argument) <= Date.now()) return true;
  }
  return false;
}

export function createCookieJar(sessionCookie?: string): CookieJar {
  const cookies = new Map<string, string>();
  return {
    header: () => (cookies.size === 0 ? undefined : [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')),
    store(setCookies) {
      for (const line of setCookies) {
        const [pair = '', ...attributes] = line.split(';');
        const at = pair.indexOf('=');
        if (at <= 0) continue;
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        if (deletes(value, attributes)) cookies.delete(name);
        else cookies.set(name, value);
      }
    },
    session() {
      if (sessionCookie !== undefined) {
        // A server may prefix the name (`__Host-sl_session`): match either.
        const value = cookies.get(sessionCookie) ?? cookies.get(`__Host-${sessionCookie}`) ?? cookies.get(`__Secure-${sessionCookie}`);
        return value === undefined ? undefined : sessionName(value);
      }
      if (cookies.size === 0) return undefined;
      return sessionName([...cookies].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => `${name}=${value}`).join('; '));
    },
  };
}
