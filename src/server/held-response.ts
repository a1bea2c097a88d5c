/**
 * An answer the validator holds as bytes (a recorded answer, sent or replayed)
 * on the Node adapter's path, where Node 20 would spend more on the web stream
 * of a real Response than on the rest of the answer: the Node adapter writes
 * its status, headers and bytes straight to Node's response.
 *
 * It answers every member of a Response, so that an app's wrapper between the
 * adapter and the validator can read or change it as it would a Response:
 * `status`, `statusText` and `ok` from what it holds, `headers` as a real
 * `Headers` made when first asked for, and any other member (`body`, `text()`,
 * `clone()`, …) from the real Response, built once when first needed.
 * `instanceof Response` holds. Only the Node adapter's path gets one: the
 * Fetch API entry answers with real Responses (realResponse()).
 */
const REAL = Symbol('real response');

/** The parts of a held answer, as the Node adapter writes them. */
export interface HeldParts {
  readonly status: number;
  readonly statusText: string;
  /** The list as the answer was made, or the `Headers` it became when someone asked for them (and maybe changed them). */
  readonly headers: readonly (readonly [string, string])[] | Headers;
  /** null for an answer without a body (204, 304, or empty). */
  readonly bytes: Uint8Array | null;
}

interface Held {
  readonly parts: { status: number; statusText: string; headers: [string, string][] | Headers; bytes: Uint8Array | null };
  [REAL]?: Response;
}

class HeldResponse implements Held {
  readonly parts: Held['parts'];
  [REAL]?: Response;

  constructor(bytes: Uint8Array | null, status: number, headers: [string, string][]) {
    this.parts = { status, statusText: '', headers, bytes };
  }

  get status(): number {
    return this.parts.status;
  }

  get statusText(): string {
    return this.parts.statusText;
  }

  get ok(): boolean {
    return this.parts.status >= 200 && this.parts.status < 300;
  }

  get headers(): Headers {
    const real = this[REAL];
    if (real) return real.headers;
    const { headers } = this.parts;
    return headers instanceof Headers ? headers : (this.parts.headers = new Headers(headers));
  }
}

/** The real Response of a held one, built on first need (with the headers as they are then); any other Response as it is. */
export function realResponse(response: Response): Response {
  if (!(response instanceof HeldResponse)) return response;
  const held = response as Held;
  const existing = held[REAL];
  if (existing) return existing;
  const { status, statusText, headers, bytes } = held.parts;
  const real = new Response(bytes as Uint8Array<ArrayBuffer> | null, { status, statusText, headers });
  held[REAL] = real;
  return real;
}

// Every other member of Response (body, bodyUsed, type, url, redirected, text(), json(), clone(), …) is the real
// Response's: read off the prototype, so that a member a later Node adds is served too.
const OWN = new Set(['constructor', 'status', 'statusText', 'ok', 'headers']);
for (const name of Object.getOwnPropertyNames(Response.prototype)) {
  if (OWN.has(name)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(Response.prototype, name)!;
  if (typeof descriptor.value === 'function') {
    Object.defineProperty(HeldResponse.prototype, name, {
      configurable: true,
      writable: true,
      value(this: Response, ...args: unknown[]) {
        const real = realResponse(this) as unknown as Record<string, (...args: unknown[]) => unknown>;
        return real[name]!(...args);
      },
    });
  } else if (descriptor.get) {
    Object.defineProperty(HeldResponse.prototype, name, {
      configurable: true,
      get(this: Response) {
        return (realResponse(this) as unknown as Record<string, unknown>)[name];
      },
    });
  }
}
Object.setPrototypeOf(HeldResponse.prototype, Response.prototype);

/** A held answer of these parts; it is a Response for everyone but the Node adapter, which writes its parts. */
export function heldResponse(bytes: Uint8Array | null, status: number, headers: [string, string][]): Response {
  return new HeldResponse(bytes, status, headers) as unknown as Response;
}

/** The parts to write of a held answer, while no real Response was built of it (after that, the real one is the answer). */
export function heldParts(response: Response): HeldParts | undefined {
  return response instanceof HeldResponse && (response as Held)[REAL] === undefined ? (response as Held).parts : undefined;
}
