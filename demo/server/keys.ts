import { z } from 'zod';
import type { SessionKeysOf } from '../../src/server/index.js';

/** The shop's session keys and their schemas: the validator checks values with them, the route table takes their types. */
export const shopKeys = {
  cart: z.array(z.string()),
  wishlist: z.array(z.string()),
  recent: z.array(z.string()),
  visits: z.number().int().nonnegative(),
  prefs: z.object({ theme: z.enum(['light', 'dark']) }),
};

/** The session's key types, for the route table (a type-only import on the browser's side). */
export type ShopSessionKeys = SessionKeysOf<typeof shopKeys>;
