export { createValidator, type Validator, type RouteDeclaration, type SessionValues, type SessionKeysOf, type RouteSession, type RouteHandlers } from './validator.js';
export { serveRouteTable, type MountOptions } from './route-table.js';
export type { ValidatorOptions, ValidatorEvent } from './options.js';
export type { CookieOptions } from './session-cookie.js';
export type { TrackedSession } from './tracked-session.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export { InvalidValueError, SessionCommitError, UndeclaredKeyError, type ValueIssue } from './errors.js';
export { REPLAYED_HEADER } from './recorded-answer.js';
export { memoryStore, type MemoryStoreOptions } from './stores/memory.js';
export {
  STORE_CONTRACT,
  StoreUnavailableError,
  type SessionStore,
  type StoredEntry,
  type BeginInput,
  type BeginResult,
  type ClaimOutcome,
  type CommitInput,
  type CommitResult,
  type IdempotencyClaim,
  type IdempotencyRecord,
  type ReleaseInput,
  type TouchInput,
} from './store.js';
