export { memoryStore, type MemoryStoreOptions } from './stores/memory.js';
export {
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
