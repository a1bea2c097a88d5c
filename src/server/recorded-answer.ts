import { markBufferedBody } from './buffered-body.js';
import { fromBase64, toBase64 } from './encoding.js';

/** How an answer is kept in an idempotency record: status, headers and body bytes. */
interface Recorded {
  s: number;
  h: [string, string][];
  b: string;
}

/** Header added to a replayed answer, so that logs and clients can tell a replay from a first answer. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** Buffers a response (with `headers` in place of its own) into its record; returns the record and an unread copy to send. */
export async function recordAnswer(response: Response, responseHeaders: Headers): Promise<{ answer: string; response: Response }> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: [string, string][] = [];
  responseHeaders.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value]);
  });
  for (const cookie of responseHeaders.getSetCookie()) headers.push(['set-cookie', cookie]);
  const recorded: Recorded = { s: response.status, h: headers, b: toBase64(body) };
  return { answer: JSON.stringify(recorded), response: rebuild(recorded, body, false) };
}

export function replayAnswer(answer: string): Response {
  const recorded = JSON.parse(answer) as Recorded;
  return rebuild(recorded, fromBase64(recorded.b), true);
}

function rebuild(recorded: Recorded, body: Uint8Array, replayed: boolean): Response {
  const headers = new Headers();
  for (const [name, value] of recorded.h) headers.append(name, value);
  if (replayed) headers.set(REPLAYED_HEADER, 'true');
  // Statuses that forbid a body (204, 304) must get null, not an empty buffer.
  const nullBody = recorded.s === 204 || recorded.s === 304 || body.length === 0;
  if (nullBody) return new Response(null, { status: recorded.s, headers });
  // Marked with its bytes, so that the Node adapter writes them without reading the stream back.
  return markBufferedBody(new Response(body as Uint8Array<ArrayBuffer>, { status: recorded.s, headers }), body);
}
