import type { JsonBody, ResolvedRequest } from './config.js';

/** The values a request template's placeholders take for one operation. */
export interface TemplateValues {
  readonly token: string;
  readonly key?: string;
}

/** A request ready for the wire. */
export interface WireRequest {
  readonly method: string;
  /** Absolute. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export function fillTemplate(text: string, values: TemplateValues): string {
  return text.replaceAll('{token}', values.token).replaceAll('{key}', values.key ?? '');
}

function fillBody(body: JsonBody, values: TemplateValues): JsonBody {
  if (typeof body === 'string') return fillTemplate(body, values);
  if (Array.isArray(body)) return body.map((item: JsonBody) => fillBody(item, values));
  if (typeof body === 'object' && body !== null) return Object.fromEntries(Object.entries(body).map(([name, item]) => [name, fillBody(item, values)]));
  return body;
}

/** Fill a request template for one operation: path, headers and body get the token and key. */
export function buildRequest(target: string, request: ResolvedRequest, values: TemplateValues): WireRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = fillTemplate(value, values);
  const url = new URL(fillTemplate(request.path, values), `${target}/`).href;
  if (request.body === undefined) return { method: request.method, url, headers };
  const filled = fillBody(request.body, values);
  if (typeof filled === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return { method: request.method, url, headers, body: filled };
  }
  headers['content-type'] ??= 'application/json';
  return { method: request.method, url, headers, body: JSON.stringify(filled) };
}

/** An answer body as the reader's functions see it: parsed JSON when it parses, else the text. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
