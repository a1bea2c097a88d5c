/**
 * `<session-lanes-devtools>` for any framework: set its `client` property;
 * `mode="floating"` (a corner button) or embedded where it stands (the
 * default); `corner` and `storage-key` as in `mountDevtools()`'s options.
 */
import { createPanel } from './panel.js';
import { CORNERS, type Corner } from './state.js';
import type { InspectedClient } from './views.js';

// Importing the module where there is no DOM (a server render) must not throw; only defining the element needs one.
const Base = (globalThis.HTMLElement ?? class {}) as typeof HTMLElement;

/** The element's class; `defineDevtoolsElement()` registers it. */
export class SessionLanesDevtoolsElement extends Base {
  #client: InspectedClient | undefined;
  #unmount: (() => void) | undefined;

  /** The client to inspect; setting it (re)draws the panel. */
  get client(): InspectedClient | undefined {
    return this.#client;
  }

  set client(client: InspectedClient | undefined) {
    this.#client = client;
    this.#remount();
  }

  connectedCallback(): void {
    this.#remount();
  }

  disconnectedCallback(): void {
    this.#unmount?.();
    this.#unmount = undefined;
  }

  #remount(): void {
    this.#unmount?.();
    this.#unmount = undefined;
    if (!this.#client || !this.isConnected) return;
    const corner = this.getAttribute('corner') as Corner | null;
    this.#unmount = createPanel(this, this.#client, {
      mode: this.getAttribute('mode') === 'floating' ? 'floating' : 'embedded',
      corner: corner && CORNERS.includes(corner) ? corner : 'bottom-right',
      storageKey: this.getAttribute('storage-key') ?? 'session-lanes-devtools',
      pollInterval: 500,
      window: 15_000,
      bars: 60,
      refresh: 500,
    });
  }
}

/**
 * Registers `<session-lanes-devtools>` (once; the package has no side effects on import, so this is a call).
 *
 * @example
 * defineDevtoolsElement();
 * document.querySelector('session-lanes-devtools').client = client;
 */
export function defineDevtoolsElement(name = 'session-lanes-devtools'): void {
  if (!customElements.get(name)) customElements.define(name, class extends SessionLanesDevtoolsElement {});
}
