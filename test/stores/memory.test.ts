import { memoryStore } from '../../src/server/stores/memory.js';
import type { SessionStore } from '../../src/server/store.js';
import { storeConformance } from '../store-conformance.js';

// One process, one map: every open() is the same store, as two requests of one server see it.
let shared: SessionStore | undefined;
storeConformance('memoryStore', { open: () => (shared ??= memoryStore()) });
