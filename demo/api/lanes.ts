import type { ShopApi, ShopApiOptions } from './types.js';

export function lanesApi(_options: ShopApiOptions): ShopApi {
  throw new Error('session-lanes mode: the client has not landed yet');
}
