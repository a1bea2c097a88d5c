import { parseKeyVersions, parseStringItem } from '../../src/protocol/versions.js';

/** A browser's cookie for one session, and request helpers that speak the wire protocol by hand. */
export class Browser {
  cookie: string | null = null;

  constructor(readonly baseUrl: string) {}

  async send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (this.cookie !== null && !headers.has('cookie')) headers.set('cookie', this.cookie);
    const response = await fetch(this.baseUrl + path, { method: init.method ?? 'POST', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair] = setCookie.split(';');
      const [name, value] = pair!.split('=');
      this.cookie = value === '' || /max-age=0/i.test(setCookie) ? null : `${name}=${value}`;
    }
    const text = await response.text();
    return new Answer(response, text);
  }
}

export class Answer {
  constructor(
    readonly response: Response,
    readonly text: string,
  ) {}
  get status() {
    return this.response.status;
  }
  json(): any {
    return JSON.parse(this.text);
  }
  /** Session-Versions as key -> version. */
  versions(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const { key, version } of parseKeyVersions('session-versions', this.response.headers.get('session-versions'))) {
      // defineProperty: a key named __proto__ must be an own property, not the prototype.
      Object.defineProperty(result, key, { value: version ?? -1, enumerable: true, writable: true, configurable: true });
    }
    return result;
  }
  epoch(): string | null {
    return parseStringItem('session-epoch', this.response.headers.get('session-epoch'));
  }
}

let counter = 0;
/** A fresh Idempotency-Key header value. */
export function idemKey(): string {
  return `"${crypto.randomUUID()}-${counter++}"`;
}
