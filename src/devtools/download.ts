/** The export button's effect: the history as a JSON file in the race kit's format (src/race/history.ts). */
import type { History } from '../race/history.js';

export function downloadHistory(history: History, document: Document = globalThis.document): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(history, null, 2)], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `session-lanes-history-${history.startedAt.replace(/[:.]/g, '-')}.json`;
  link.click();
  // The click starts the download synchronously; the URL is not needed after this task.
  setTimeout(() => URL.revokeObjectURL(url));
}
