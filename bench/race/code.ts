/**
 * Which code the race bench and the fuzzer run: this checkout's src/, or an
 * older copy of it (`git worktree add /tmp/old <commit>` with node_modules
 * linked beside it), so that the kit can be shown finding a defect the code
 * once had. The older copy's modules are imported as they are (tsx).
 */
import * as client from '../../src/client/index.js';
import * as adapter from '../../src/server/adapters/node.js';
import * as server from '../../src/server/index.js';

export interface ClientCode {
  readonly createSessionClient: typeof client.createSessionClient;
  readonly createLanes: typeof client.createLanes;
  readonly isConflictError: typeof client.isConflictError;
  readonly isSessionEndedError: typeof client.isSessionEndedError;
}

export interface ValidatorCode {
  readonly createValidator: typeof server.createValidator;
  readonly memoryStore: typeof server.memoryStore;
  readonly toNodeListener: typeof adapter.toNodeListener;
}

export const CURRENT: { readonly client: ClientCode; readonly validator: ValidatorCode } = {
  client,
  validator: { createValidator: server.createValidator, memoryStore: server.memoryStore, toNodeListener: adapter.toNodeListener },
};

/** The code of an older copy's src/ directory (its client and its validator), or this checkout's. */
export async function loadCode(src: string | undefined): Promise<typeof CURRENT> {
  if (!src) return CURRENT;
  const [olderClient, olderServer, olderAdapter] = (await Promise.all([import(`${src}/client/index.ts`), import(`${src}/server/index.ts`), import(`${src}/server/adapters/node.ts`)])) as [typeof client, typeof server, typeof adapter];
  return {
    client: olderClient,
    validator: { createValidator: olderServer.createValidator, memoryStore: olderServer.memoryStore, toNodeListener: olderAdapter.toNodeListener },
  };
}
