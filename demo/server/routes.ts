import type { FetchHandler } from '../../src/server/adapters/node.js';
import type { SessionStore } from '../../src/server/index.js';
import { fixtureRoutes } from './fixture.js';
import { lanesRoutes } from './lanes.js';
import { lockRoutes } from './lock.js';
import { naiveRoutes } from './naive.js';
import { storeFromEnvironment } from './store.js';

export interface DemoServer {
  routes: Record<string, FetchHandler>;
  /** The session-lanes routes' store, to close with the server. */
  store: SessionStore;
  /** Which store, for the console. */
  storeLabel: string;
}

/** Every route of the demo: the naive and lock ones (always in memory), the session-lanes ones (on SESSION_LANES_STORE), and the e2e suite's fixture routes under /e2e (in memory). */
export async function demoServer(): Promise<DemoServer> {
  const { store, label } = await storeFromEnvironment();
  return { routes: { ...naiveRoutes(), ...lockRoutes(), ...lanesRoutes(store), ...fixtureRoutes() }, store, storeLabel: label };
}
