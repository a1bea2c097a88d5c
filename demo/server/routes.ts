import type { FetchHandler } from '../../src/server/adapters/node.js';
import { lanesRoutes } from './lanes.js';
import { naiveRoutes } from './naive.js';

/** Every route of the demo: the naive ones and the session-lanes ones. */
export async function demoRoutes(): Promise<Record<string, FetchHandler>> {
  return { ...naiveRoutes(), ...lanesRoutes() };
}
