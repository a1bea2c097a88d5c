import type { Mode } from '../shop.js';
import { naiveApi } from './naive.js';
import type { ShopApi, ShopApiOptions } from './types.js';

export type { ShopApi, ShopApiOptions } from './types.js';

/** The shop's API in one mode; the session-lanes client is loaded only in its mode. */
export async function createShopApi(mode: Mode, options: ShopApiOptions): Promise<ShopApi> {
  if (mode === 'naive' || mode === 'lock') return naiveApi(options, mode);
  const { lanesApi } = await import('./lanes.js');
  return lanesApi(options);
}
