/** What the panel keeps across reloads, in `localStorage`: open or closed, and its corner. */

export const CORNERS = ['bottom-right', 'bottom-left', 'top-right', 'top-left'] as const;
export type Corner = (typeof CORNERS)[number];

export interface PanelState {
  readonly open: boolean;
  readonly corner: Corner;
}

export function loadState(key: string, corner: Corner): PanelState {
  try {
    const stored = JSON.parse(globalThis.localStorage?.getItem(key) ?? 'null') as Partial<PanelState> | null;
    return { open: stored?.open === true, corner: CORNERS.includes(stored?.corner as Corner) ? stored!.corner! : corner };
  } catch {
    // Storage denied (a sandboxed frame) or a value that is not ours: the defaults.
    return { open: false, corner };
  }
}

export function saveState(key: string, state: PanelState): void {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify(state));
  } catch {
    // Not kept, then: the panel works the same.
  }
}
