/**
 * A side channel between the Node adapter and the validator, so that neither
 * side of the Node bridge pays for web streams it does not need:
 * - the Node adapter buffers a small request body before the bridge sees it
 *   and marks the Request with its bytes: the validator hashes and limits
 *   those bytes and hands the handler the original Request, still unread;
 * - the Node adapter marks each Request it makes (markNodePath): the
 *   validator may then answer with a held answer (held-response.ts), whose
 *   bytes the adapter writes without a stream.
 *
 * The marks are registered symbols, not module state, so that they survive a
 * bundle that copies this module into two chunks. A Request without a mark
 * takes the ordinary Fetch path: a mark only ever saves work.
 */
const BODY = Symbol.for('session-lanes.buffered-body');
const NODE_PATH = Symbol.for('session-lanes.node-path');

type Marked = { [BODY]?: Uint8Array; [NODE_PATH]?: true };

/** Marks a Request the Node adapter made: its answer goes back to the adapter, which writes held answers itself. */
export function markNodePath(request: Request): void {
  (request as Request & Marked)[NODE_PATH] = true;
}

/** Whether the Node adapter made this Request (a copy an app makes of it is not marked, and gets real Responses). */
export function onNodePath(request: Request): boolean {
  return (request as Request & Marked)[NODE_PATH] === true;
}

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
