/**
 * A browser's cookie jar for Node's fetch: what the client tests run
 * `createSessionClient({ fetch: jar.fetch })` on. Several clients sharing one
 * jar behave like tabs of one browser without cross-tab coordination.
 * Enough of RFC 6265 for one host: name=value, Max-Age=0 (and empty value)
 * deletes; attributes otherwise ignored.
 */
export interface CookieJar {
  readonly fetch: typeof globalThis.fetch;
  /** name -> value */
  readonly cookies: Map<string, string>;
  /** Every Set-Cookie value received, in order (counts sessions created). */
  readonly history: string[];
}

export function createCookieJar(base: typeof globalThis.fetch = globalThis.fetch): CookieJar {
  const cookies = new Map<string, string>();
  const history: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await base(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      history.push(line);
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || attributes.some((attribute) => /^\s*max-age\s*=\s*0\s*$/i.test(attribute))) cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  };
  return { fetch, cookies, history };
}
