export { createSessionClient, type SessionClient } from './client.js';
export type { SessionClientOptions, SessionDeclaration, SessionRequestInit, RebaseResult } from './options.js';
export type { SessionClientEvent, SessionClientEventType, SessionClientEventOf, RequestEventBase, Listener } from './events.js';
export {
  SessionLanesError,
  ConflictError,
  SessionEndedError,
  OutcomeUnknownError,
  UnreachableError,
  RequestRejectedError,
  InvalidValueError,
  InvalidAnswerError,
  isSessionLanesError,
  isConflictError,
  isSessionEndedError,
  isOutcomeUnknownError,
  isUnreachableError,
  isRequestRejectedError,
  isInvalidValueError,
  isInvalidAnswerError,
  type SessionLanesErrorOptions,
} from './errors.js';
export { createLanes, reduceLanes, type Lanes, type LaneClaim, type LaneEntry, type LaneState, type LaneAction } from './lanes.js';
export { memoryVersionCache, learnState, voidState, type VersionCache, type KnownKey, type CacheState } from './version-cache.js';
export { memoryPendingWrites, type PendingWrites, type PendingWrite, type OutboxEntry } from './pending.js';
export { webLocksLanes } from './web-locks.js';
export { sharedVersionCache, type Channel } from './shared-cache.js';
export { outbox, orphanFate, type StoredWrite } from './outbox.js';
export { idbStorage, type Storage } from './storage.js';
