/**
 * `mountDevtools(client)`: the panel in one call, floating over the page (a
 * corner button that opens it) or embedded in an element of the app.
 */
import { createPanel } from './panel.js';
import type { Corner } from './state.js';
import type { InspectedClient } from './views.js';

export interface DevtoolsOptions {
  /**
   * Embedded mode: the panel is drawn inside this element, always open. Without it the panel floats over the
   * page, behind a corner button.
   * @default undefined (floating)
   */
  readonly container?: HTMLElement;
  /**
   * Floating mode: the corner the button and the panel sit in, until the user picks another (kept in `localStorage`).
   * @default 'bottom-right'
   */
  readonly corner?: Corner;
  /**
   * The `localStorage` key of the open/closed state and the corner.
   * @default 'session-lanes-devtools'
   */
  readonly storageKey?: string;
  /**
   * How often, while open, the panel reads the lanes of every tab (`navigator.locks.query()`) and the outbox, in ms.
   * @default 500
   */
  readonly pollInterval?: number;
  /**
   * The timeline shows the requests queued in this many last ms (the export holds every request kept).
   * @default 15000
   */
  readonly window?: number;
  /**
   * The timeline shows at most this many requests, the last ones.
   * @default 60
   */
  readonly bars?: number;
  /**
   * At most one redraw per this many ms (on an animation frame), however many events arrive: the panel must not
   * cost the app its frames.
   * @default 500
   */
  readonly refresh?: number;
}

/**
 * Mounts the devtools panel on `client`; returns the function that unmounts it.
 *
 * @example
 * if (import.meta.env.DEV) import('session-lanes/devtools').then(({ mountDevtools }) => mountDevtools(client));
 */
export function mountDevtools(client: InspectedClient, options: DevtoolsOptions = {}): () => void {
  const host = document.createElement('div');
  host.setAttribute('data-session-lanes-devtools', '');
  (options.container ?? document.body).append(host);
  const unmount = createPanel(host, client, {
    mode: options.container ? 'embedded' : 'floating',
    corner: options.corner ?? 'bottom-right',
    storageKey: options.storageKey ?? 'session-lanes-devtools',
    pollInterval: options.pollInterval ?? 500,
    window: options.window ?? 15_000,
    bars: options.bars ?? 60,
    refresh: options.refresh ?? 500,
  });
  return () => {
    unmount();
    host.remove();
  };
}
