/**
 * A history (the race kit's format) as an SVG string, DOM-free: one row per
 * key, each operation a bar from queued to answered: light while it waits for
 * its lane, solid while it is at the server (from its first send), red ticks
 * for 412s, dark ticks for retries, dashed while no answer came.
 */
import type { History, Operation } from '../race/history.js';

export interface TimelineOptions {
  /** @default 960 */
  readonly width?: number;
  /** One row per `key` or per `process`. @default 'key' */
  readonly rows?: 'key' | 'process';
  /** @default 18 */
  readonly rowHeight?: number;
}

const LABEL_WIDTH = 90;

export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const colorOf = (operation: Operation) =>
  operation.status === undefined ? '#ef6c00' : operation.status >= 400 ? '#9e9e9e' : operation.kind === 'read' ? '#1565c0' : '#2e7d32';

export function renderTimelineSvg(history: History, options: TimelineOptions = {}): string {
  const width = options.width ?? 960;
  const rowHeight = options.rowHeight ?? 18;
  const rowOf = (operation: Operation) => (options.rows === 'process' ? operation.process : (operation.key ?? operation.kind));
  const rows = [...new Set(history.operations.map(rowOf))].sort();
  const queuedAt = (operation: Operation) => operation.events?.find((event) => event.type === 'queued')?.at ?? operation.sentAt;
  const start = Math.min(...history.operations.map(queuedAt));
  const end = Math.max(start + 1, ...history.operations.map((operation) => operation.answeredAt ?? operation.events?.at(-1)?.at ?? operation.sentAt));
  const x = (at: number) => LABEL_WIDTH + ((at - start) / (end - start)) * (width - LABEL_WIDTH - 8);
  const height = Math.max(1, rows.length) * rowHeight + 4;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="Timeline of ${escapeXml(history.scenario)}">`];
  rows.forEach((row, index) => {
    const top = index * rowHeight + 2;
    parts.push(`<text x="4" y="${top + rowHeight / 2 + 4}" fill="#222">${escapeXml(row)}</text><line x1="${LABEL_WIDTH}" y1="${top + rowHeight}" x2="${width}" y2="${top + rowHeight}" stroke="#eee"/>`);
    // Overlapping operations of a row share it in sub-lanes.
    const laneEnds: number[] = [];
    const placed = history.operations.filter((operation) => rowOf(operation) === row).map((operation) => {
      const from = queuedAt(operation);
      const to = operation.answeredAt ?? end;
      let lane = laneEnds.findIndex((laneEnd) => laneEnd <= from);
      if (lane === -1) lane = laneEnds.push(to) - 1;
      else laneEnds[lane] = to;
      return { operation, lane, from, to };
    });
    const barHeight = Math.max(2, (rowHeight - 4) / Math.max(1, laneEnds.length));
    for (const { operation, lane, from, to } of placed) {
      const y = (top + 2 + lane * barHeight).toFixed(1);
      const h = Math.max(1, barHeight - 1).toFixed(1);
      const color = colorOf(operation);
      const dash = operation.answeredAt === undefined ? ' stroke-dasharray="2 2"' : '';
      const title = `<title>${escapeXml(`${operation.id} ${operation.method} ${operation.url}: ${operation.status ?? operation.error ?? 'pending'}`)}</title>`;
      parts.push(`<g data-operation="${escapeXml(operation.id)}">${title}`);
      parts.push(`<rect x="${x(from).toFixed(1)}" y="${y}" width="${Math.max(1, x(operation.sentAt) - x(from)).toFixed(1)}" height="${h}" fill="${color}" fill-opacity="0.25"/>`);
      parts.push(`<rect x="${x(operation.sentAt).toFixed(1)}" y="${y}" width="${Math.max(2, x(to) - x(operation.sentAt)).toFixed(1)}" height="${h}" fill="${color}" stroke="${color}"${dash}/>`);
      for (const event of operation.events ?? []) {
        if (event.type !== 'conflict' && event.type !== 'retry') continue;
        const tick = x(event.at).toFixed(1);
        parts.push(`<line data-event="${event.type}" x1="${tick}" y1="${y}" x2="${tick}" y2="${(Number(y) + barHeight).toFixed(1)}" stroke="${event.type === 'conflict' ? '#d50000' : '#000'}" stroke-width="2"/>`);
      }
      parts.push('</g>');
    }
  });
  parts.push('</svg>');
  return parts.join('');
}
