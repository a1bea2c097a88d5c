/**
 * A side channel for bodies already held in memory, so that neither side of
 * the Node bridge pays for web streams it does not need:
 * - the Node adapter buffers a small request body before the bridge sees it
 *   and marks the Request with its bytes: the validator hashes and limits
 *   those bytes and hands the handler the original Request, still unread;
 * - the validator marks a Response it built from a recorded answer with its
 *   bytes: the Node adapter writes them out without reading the stream.
 *
 * The mark is a registered symbol, not module state, so that it survives a
 * bundle that copies this module into two chunks. A body without a mark takes
 * the ordinary streaming path: the mark only ever saves work.
 */
const BODY = Symbol.for('session-lanes.buffered-body');

type Marked = { [BODY]?: Uint8Array };

/** Marks a Request or Response with the bytes of its body; returns it. */
export function markBufferedBody<T extends Request | Response>(message: T, bytes: Uint8Array): T {
  (message as T & Marked)[BODY] = bytes;
  return message;
}

/** The bytes a Request or Response was marked with, if its body is still unread. */
export function bufferedBodyOf(message: Request | Response): Uint8Array | undefined {
  const bytes = (message as (Request | Response) & Marked)[BODY];
  return bytes !== undefined && !message.bodyUsed ? bytes : undefined;
}
