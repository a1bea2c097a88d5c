import type { SessionClient } from '../../src/client/index.js';
import type { BurstRecorder } from '../recorder.js';
import type { ListKey, Mode, ShopState } from '../shop.js';

/** What the page asks of a mode: the same shop actions, naive, under a lock, or through session-lanes. */
export interface ShopApi {
  readonly mode: Mode;
  /** The session-lanes client (lanes mode only): the devtools panel inspects it. */
  readonly client?: SessionClient;
  /** Appends an item to a list key; true when the server acknowledged it (2xx). */
  append(key: ListKey, item: string): Promise<boolean>;
  /** Counts a visit; the new count, or undefined when it was refused. */
  visit(): Promise<number | undefined>;
  /** The session as stored now. */
  state(): Promise<ShopState>;
  /** Empties the shop's keys. */
  reset(): Promise<void>;
}

export interface ShopApiOptions {
  /** The server delay to ask for, read at each request. */
  delay: () => number;
  /** Where the appends of a burst are recorded, for the column's figures and timeline. */
  recorder?: BurstRecorder;
}
