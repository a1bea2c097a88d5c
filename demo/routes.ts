import { defineRoutes } from '../src/routes/index.js';
import type { ShopSessionKeys } from './server/keys.js';
import { API_BASE } from './shop.js';

/**
 * The shop's session-lanes routes, declared once: the browser's client tags
 * its plain fetch calls from this table (demo/api/lanes.ts), the server
 * serves each entry (demo/server/lanes.ts). Key names are checked against
 * the server's schemas through a type-only import: no zod in the browser.
 * Every write is blind (the default): its body does not depend on what the
 * tab knows, and the handler computes the change at the server.
 */
const base = API_BASE.lanes;
export const shopRoutes = defineRoutes<ShopSessionKeys>()({
  cart: { method: 'POST', path: `${base}/cart`, writes: ['cart'] },
  wishlist: { method: 'POST', path: `${base}/wishlist`, writes: ['wishlist'] },
  recent: { method: 'POST', path: `${base}/recent`, writes: ['recent'] },
  visits: { method: 'POST', path: `${base}/visits`, writes: ['visits'] },
  prefs: { method: 'POST', path: `${base}/prefs`, writes: ['prefs'] },
  state: { method: 'GET', path: `${base}/state`, reads: ['cart', 'wishlist', 'recent', 'visits', 'prefs'] },
  reset: { method: 'POST', path: `${base}/reset`, writes: ['cart', 'wishlist', 'recent', 'visits', 'prefs'] },
});
