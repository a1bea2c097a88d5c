import type { Timeline } from '../timeline.js';
import type { ListKey, Mode, Prefs, ShopState } from '../shop.js';

/** What the page asks of a mode: the same shop actions, naive or through session-lanes. */
export interface ShopApi {
  readonly mode: Mode;
  /** Appends an item to a list key; true when the server acknowledged it (2xx). */
  append(key: ListKey, item: string): Promise<boolean>;
  /** Counts a visit; the new count, or undefined when it was refused. */
  visit(): Promise<number | undefined>;
  setTheme(theme: Prefs['theme']): Promise<boolean>;
  /** The session as stored now. */
  state(): Promise<ShopState>;
  /** Empties the shop's keys. */
  reset(): Promise<void>;
}

export interface ShopApiOptions {
  /** The server delay to ask for, read at each request. */
  delay: () => number;
  timeline?: Timeline;
}
