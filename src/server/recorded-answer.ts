import type { AnswerHeaders } from './answer-headers.js';
import { fromBase64, toBase64 } from './encoding.js';
import { heldResponse } from './held-response.js';

/** How an answer is kept in an idempotency record: status, headers and body bytes. */
interface Recorded {
  s: number;
  h: [string, string][];
  b: string;
  /** When it was recorded (ms since the epoch): a creating request's replay window starts here. */
  t?: number;
}

/** Header added to a replayed answer, so that logs and clients can tell a replay from a first answer. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** The default of `maxRecordedAnswerBytes`: the largest answer body an idempotency record keeps. */
export const DEFAULT_MAX_RECORDED_ANSWER_BYTES = 65_536;

/**
 * What a replay answers in place of a body that was larger than the record
 * keeps: always these bytes, so that a resend learns that the write applied
 * once, and nobody can grow the store by answering large bodies to writes.
 */
export const ANSWER_NOT_KEPT_BODY = JSON.stringify({
  answerNotKept: true,
  detail: 'This is a replay: the write was applied once, but its answer body was larger than the validator keeps (maxRecordedAnswerBytes)',
});

/**
 * The headers an over-large answer's record keeps: what tells a client about its session, not the handler's own
 * (Session-Rotated too: without it a login's replay would read as the session ending).
 */
const SESSION_HEADERS = new Set(['session-epoch', 'session-versions', 'session-rotated', 'cache-control', 'vary']);

/**
 * Buffers a response (with `headers` in place of its own) into its record;
 * returns the record and an unread copy to send, held as bytes (held-response.ts:
 * the Node adapter writes it without a web stream, the Fetch entry sends its
 * real Response). A body above `maxBodyBytes`
 * is sent in full but recorded as ANSWER_NOT_KEPT_BODY, with the status and
 * the session headers (Set-Cookie included).
 */
export async function recordAnswer(
  response: Response,
  responseHeaders: AnswerHeaders,
  maxBodyBytes = DEFAULT_MAX_RECORDED_ANSWER_BYTES,
  recordedAt?: number,
): Promise<{ answer: string; response: Response }> {
  const body = new Uint8Array(await response.arrayBuffer());
  const all = responseHeaders.list;
  const sent: Recorded = { s: response.status, h: all, b: '', ...(recordedAt === undefined ? {} : { t: recordedAt }) };
  if (body.byteLength <= maxBodyBytes) {
    const recorded: Recorded = { ...sent, b: toBase64(body) };
    return { answer: JSON.stringify(recorded), response: rebuild(sent, body, false) };
  }
  const headers = all.filter(([name]) => name === 'set-cookie' || SESSION_HEADERS.has(name));
  headers.push(['content-type', 'application/json']);
  const recorded: Recorded = { ...sent, h: headers, b: toBase64(new TextEncoder().encode(ANSWER_NOT_KEPT_BODY)) };
  return { answer: JSON.stringify(recorded), response: rebuild(sent, body, false) };
}

/** The recorded answer, held as bytes like recordAnswer's copy. */
export function replayAnswer(answer: string): Response {
  const recorded = JSON.parse(answer) as Recorded;
  return rebuild(recorded, fromBase64(recorded.b), true);
}

function rebuild(recorded: Recorded, body: Uint8Array, replayed: boolean): Response {
  // The list goes into the Response as it is (names are lowercase, as a record has always kept them).
  const headers = replayed ? [...recorded.h.filter(([name]) => name !== REPLAYED_HEADER), [REPLAYED_HEADER, 'true'] as [string, string]] : recorded.h;
  // Statuses that forbid a body (204, 304) must get null, not an empty buffer.
  const nullBody = recorded.s === 204 || recorded.s === 304 || body.length === 0;
  return heldResponse(nullBody ? null : body, recorded.s, headers);
}
