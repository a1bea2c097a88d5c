/**
 * The demo shop's session, shared by the naive routes, the session-lanes
 * routes and the page: what each key holds and how each action changes it.
 * Both modes run exactly this code; only the session handling differs.
 */

/** The keys a burst writes: each action appends one unique item id, so that a lost update can be counted. */
export const LIST_KEYS = ['cart', 'wishlist', 'recent'] as const;
export type ListKey = (typeof LIST_KEYS)[number];

/** Every key of the shop's session. */
export const SHOP_KEYS = [...LIST_KEYS, 'visits', 'prefs'] as const;
export type ShopKey = (typeof SHOP_KEYS)[number];

export interface Prefs {
  theme: 'light' | 'dark';
}

export interface ShopState {
  cart: string[];
  wishlist: string[];
  recent: string[];
  visits: number;
  prefs: Prefs;
}

export const MODES = ['naive', 'lock', 'lanes'] as const;
export type Mode = (typeof MODES)[number];

/** Where each mode's routes live. */
export const API_BASE: Readonly<Record<Mode, string>> = { naive: '/naive', lock: '/lock', lanes: '/api' };

/** The server delay of a handler, between reading the session and writing it. @default 100 */
export const DEFAULT_DELAY_MS = 100;
export const MAX_DELAY_MS = 5_000;

export function isListKey(value: unknown): value is ListKey {
  return typeof value === 'string' && (LIST_KEYS as readonly string[]).includes(value);
}

/** A state read from a session in which any key may be missing or malformed. */
export function normalizeState(raw: Partial<Record<ShopKey, unknown>>): ShopState {
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const prefs = raw.prefs as Partial<Prefs> | undefined;
  return {
    cart: list(raw.cart),
    wishlist: list(raw.wishlist),
    recent: list(raw.recent),
    visits: typeof raw.visits === 'number' ? raw.visits : 0,
    prefs: { theme: prefs?.theme === 'dark' ? 'dark' : 'light' },
  };
}

/** Appends an item to a list key, ignoring an item already there (a resend must not add twice). */
export function appendItem(list: unknown, item: string): string[] {
  const items = Array.isArray(list) ? (list as string[]) : [];
  return items.includes(item) ? items : [...items, item];
}

/** Reads the `delay` query parameter of a demo request, in milliseconds. */
export function delayOf(request: Request): number {
  const raw = new URL(request.url).searchParams.get('delay');
  const delay = raw === null ? DEFAULT_DELAY_MS : Number(raw);
  return Number.isFinite(delay) ? Math.min(Math.max(0, Math.round(delay)), MAX_DELAY_MS) : DEFAULT_DELAY_MS;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The body of an append action: `{ "item": "tab1-7" }`. */
export async function itemOf(request: Request): Promise<string | undefined> {
  const body = (await request.json().catch(() => undefined)) as { item?: unknown } | undefined;
  return typeof body?.item === 'string' && body.item.length > 0 && body.item.length <= 200 ? body.item : undefined;
}

export function problem(status: number, title: string): Response {
  return Response.json({ type: 'about:blank', title, status }, { status, headers: { 'content-type': 'application/problem+json' } });
}
