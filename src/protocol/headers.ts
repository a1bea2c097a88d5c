/** Header names of wire protocol v1 (see PROTOCOL.md). Lower-case, as Fetch normalises them. */
export const HEADER = {
  read: 'session-read',
  write: 'session-write',
  epoch: 'session-epoch',
  versions: 'session-versions',
  idempotencyKey: 'idempotency-key',
  /** On the answer of a request that rotated the session: the epoch it rotated from (see PROTOCOL.md, Rotation). */
  rotated: 'session-rotated',
} as const;

export type HeaderName = (typeof HEADER)[keyof typeof HEADER];

/** Length bounds of an Idempotency-Key, as in the IETF draft's guidance. */
export const IDEMPOTENCY_KEY_MIN_LENGTH = 16;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** The largest version a header may carry: sf-integers have at most 15 digits. */
export const MAX_VERSION = 999_999_999_999_999;
