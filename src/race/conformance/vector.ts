/**
 * The conformance vectors' format: PROTOCOL.md's required behaviours as
 * language-neutral JSON (`conformance/vectors/*.json` in the package), so that
 * a server in any language can prove it speaks the protocol the browser
 * client expects. A vector is a few HTTP exchanges with one cookie jar;
 * `conformance/README.md` describes the format for people writing a runner of
 * their own and lists the test routes a server exposes.
 */

/** Text with `{{name}}` placeholders, filled from the vector's variables. */
export type Template = string;

/**
 * What a header (or a body field) must be:
 * a string is an exact match (after filling placeholders); `{ absent: true }`,
 * `{ present: true }`, `{ pattern }` (a regular expression, whole value),
 * `{ not }` (anything but this value, absent included), `{ equals }` (JSON
 * equality, for body fields).
 */
export type Matcher =
  | Template
  | { readonly absent: true }
  | { readonly present: true }
  | { readonly pattern: string }
  | { readonly not: Template }
  | { readonly equals: unknown };

export interface VectorRequest {
  readonly method: string;
  /** Path and query, from the server's base URL. */
  readonly path: Template;
  readonly headers?: Readonly<Record<string, Template>>;
  /** A string is sent as it is (placeholders filled); anything else as JSON. */
  readonly body?: unknown;
  /** Instead of `body`: a text body of this many bytes (`x` repeated), for the size limit. */
  readonly bodyBytes?: number;
  /**
   * `jar` (default): the vector's cookie jar is sent, and the answer's
   * Set-Cookie updates it; `none`: no Cookie header, and the jar is left as it
   * is; a template: exactly this Cookie header, and the jar is left as it is.
   */
  readonly cookie?: 'jar' | 'none' | { readonly header: Template };
}

export interface VectorExpectation {
  /** The status, or any of several. */
  readonly status: number | readonly number[];
  /** Response headers by name (case-insensitive). */
  readonly headers?: Readonly<Record<string, Matcher>>;
  /**
   * What the answer does to the session cookie: `set` (a Set-Cookie of the
   * session cookie with a value), `cleared` (one that removes it: `Max-Age=0`
   * or an expiry in the past), `untouched` (no Set-Cookie of it).
   */
  readonly cookie?: 'set' | 'cleared' | 'untouched';
  /** Body fields by dotted path (`keys.items.version`), the body parsed as JSON. */
  readonly body?: Readonly<Record<string, Matcher>>;
}

export interface VectorStep {
  /** What the step shows, for the report. */
  readonly title?: string;
  readonly request: VectorRequest;
  readonly expect?: VectorExpectation;
  /**
   * Variables taken from the answer for later steps: `header:<name>`,
   * `body:<dotted path>` (JSON-encoded unless a string), or `cookie` (the
   * session cookie's value from Set-Cookie, or from the jar).
   */
  readonly save?: Readonly<Record<string, string>>;
  /** Send this step while the next one runs: it starts, then the next starts `afterMs` later (the 409 vectors). */
  readonly concurrentWithNext?: { readonly afterMs: number };
  /** Move the server's clock forward first (`POST /__conformance/clock`), for vectors about leases and windows. */
  readonly advanceClockMs?: number;
}

export interface Vector {
  /** Unique and stable: PROTOCOL.md's MUSTs name vectors by id. */
  readonly id: string;
  readonly title: string;
  /** The numbered requirements of PROTOCOL.md it checks (`R12`); PROTOCOL.md names the vectors of each one too. */
  readonly requirements?: readonly string[];
  /** Set when the vector needs the clock route (a server in test mode). */
  readonly needsClock?: boolean;
  readonly steps: readonly VectorStep[];
}

export interface VectorFile {
  readonly format: 'session-lanes/conformance@1';
  readonly vectors: readonly Vector[];
}

export const VECTOR_FORMAT = 'session-lanes/conformance@1';
