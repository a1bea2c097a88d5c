import type { History, Operation } from './history.js';

/**
 * The burst as a picture: one row per process (or per key), a bar from each
 * request's send to its answer, ticks where it met a 412 or was retried, the
 * witness's requests outlined. A pure function from a history to an SVG
 * string — no DOM, no Node API — so that the HTML report, the demo and a
 * devtools panel draw the same timeline.
 */
export interface TimelineOptions {
  /** @default 960 */
  readonly width?: number;
  /** One row per `process` (tab, client) or per `key`. @default 'process' */
  readonly rows?: 'process' | 'key';
  /** Operation ids to outline (an anomaly's witness). */
  readonly highlight?: readonly string[];
  /** @default 22 */
  readonly rowHeight?: number;
}

const COLORS = {
  acknowledged: '#2e7d32',
  rejected: '#9e9e9e',
  indeterminate: '#ef6c00',
  read: '#1565c0',
  session: '#6a1b9a',
  highlight: '#d50000',
} as const;
const LABEL_WIDTH = 120;
const AXIS_HEIGHT = 28;

export function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

function colorOf(operation: Operation): string {
  if (operation.kind === 'login' || operation.kind === 'logout') return COLORS.session;
  if (operation.kind === 'read') return COLORS.read;
  const status = operation.status;
  if (status === undefined || status >= 500 || status === 409 || (status >= 300 && status < 400)) return COLORS.indeterminate;
  return status < 300 ? COLORS.acknowledged : COLORS.rejected;
}

function titleOf(operation: Operation): string {
  const answer = operation.status === undefined ? `no answer${operation.error === undefined ? '' : ` (${operation.error})`}` : `${operation.status} at ${operation.answeredAt?.toFixed(1)} ms`;
  const token = operation.token === undefined ? '' : ` token ${operation.token}`;
  const view = operation.observed !== undefined ? ` holds ${operation.observed.length}` : operation.observedCount !== undefined ? ` count ${operation.observedCount}` : '';
  return `${operation.id} ${operation.process} ${operation.kind} ${operation.method} ${operation.url}${token}: sent ${operation.sentAt.toFixed(1)} ms, ${answer}${view}${operation.final === true ? ' (final)' : ''}`;
}

/** A round step for the axis: 1, 2 or 5 × 10^n, about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = Math.max(span / count, 1e-3);
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

/** When the operation began waiting: its first `queued` event, or its send when it has none. */
function queuedAt(operation: Operation): number {
  const queued = operation.events?.find((event) => event.type === 'queued');
  return queued === undefined ? operation.sentAt : Math.min(queued.at, operation.sentAt);
}

export function renderTimelineSvg(history: History, options: TimelineOptions = {}): string {
  const width = options.width ?? 960;
  const rowHeight = options.rowHeight ?? 22;
  const highlight = new Set(options.highlight ?? []);
  const rowOf = (operation: Operation) => (options.rows === 'key' ? (operation.key ?? operation.kind) : operation.process);
  const rows = [...new Set(history.operations.map(rowOf))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const end = Math.max(1, ...history.operations.map((operation) => operation.answeredAt ?? operation.sentAt));
  const plot = width - LABEL_WIDTH - 12;
  const x = (at: number) => LABEL_WIDTH + (at / end) * plot;
  const height = AXIS_HEIGHT + rows.length * rowHeight + 8;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="${escapeXml(`Timeline of ${history.scenario}, seed ${history.seed}`)}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  const step = tickStep(end, 8);
  for (let at = 0; at <= end; at += step) {
    parts.push(`<line x1="${x(at).toFixed(1)}" y1="${AXIS_HEIGHT - 6}" x2="${x(at).toFixed(1)}" y2="${height - 4}" stroke="#eee"/>`);
    parts.push(`<text x="${x(at).toFixed(1)}" y="${AXIS_HEIGHT - 10}" text-anchor="middle" fill="#555">${Number(at.toFixed(3))} ms</text>`);
  }
  rows.forEach((row, index) => {
    const y = AXIS_HEIGHT + index * rowHeight;
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${(y + rowHeight / 2 + 4).toFixed(1)}" text-anchor="end" fill="#222">${escapeXml(row)}</text>`);
    parts.push(`<line x1="${LABEL_WIDTH}" y1="${y + rowHeight}" x2="${width - 12}" y2="${y + rowHeight}" stroke="#f3f3f3"/>`);
  });
  // Overlapping requests of one row share it in lanes: each bar takes a slice of the row's height.
  for (const row of rows) {
    const index = rows.indexOf(row);
    const members = history.operations.filter((operation) => rowOf(operation) === row);
    const laneEnds: number[] = [];
    const placed = members.map((operation) => {
      const finish = operation.answeredAt ?? end;
      let lane = laneEnds.findIndex((laneEnd) => laneEnd <= queuedAt(operation));
      if (lane === -1) lane = laneEnds.push(finish) - 1;
      else laneEnds[lane] = finish;
      return { operation, lane };
    });
    const lanes = Math.max(1, laneEnds.length);
    const barHeight = Math.max(3, (rowHeight - 6) / lanes);
    for (const { operation, lane } of placed) {
      const y = AXIS_HEIGHT + index * rowHeight + 3 + lane * barHeight;
      const queued = queuedAt(operation);
      if (queued < operation.sentAt) {
        // The wait for its lanes (a lock, a free connection): light, before the solid time at the server.
        const wait = `waited ${(operation.sentAt - queued).toFixed(1)} ms for its lanes, from ${queued.toFixed(1)} ms`;
        parts.push(`<rect data-wait="${escapeXml(operation.id)}" x="${x(queued).toFixed(1)}" y="${y.toFixed(1)}" width="${(x(operation.sentAt) - x(queued)).toFixed(1)}" height="${(barHeight - 1).toFixed(1)}" rx="2" fill="${colorOf(operation)}" fill-opacity="0.18"><title>${escapeXml(wait)}</title></rect>`);
      }
      const x1 = x(operation.sentAt);
      const x2 = Math.max(x1 + 2, x(operation.answeredAt ?? end));
      const outlined = highlight.has(operation.id);
      const dash = operation.answeredAt === undefined ? ' stroke-dasharray="3 2"' : '';
      const stroke = outlined ? ` stroke="${COLORS.highlight}" stroke-width="2"` : operation.answeredAt === undefined ? ` stroke="${colorOf(operation)}"` : '';
      const opacity = operation.answeredAt === undefined ? '0.35' : operation.final === true ? '0.6' : '0.85';
      parts.push(
        `<rect data-operation="${escapeXml(operation.id)}" x="${x1.toFixed(1)}" y="${y.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(barHeight - 1).toFixed(1)}" rx="2" fill="${colorOf(operation)}" fill-opacity="${opacity}"${stroke}${dash}><title>${escapeXml(titleOf(operation))}</title></rect>`,
      );
      for (const event of operation.events ?? []) {
        if (event.type !== 'conflict' && event.type !== 'retry') continue;
        const tick = x(event.at).toFixed(1);
        const color = event.type === 'conflict' ? COLORS.highlight : '#000';
        parts.push(`<line data-event="${event.type}" x1="${tick}" y1="${(y - 1).toFixed(1)}" x2="${tick}" y2="${(y + barHeight).toFixed(1)}" stroke="${color}" stroke-width="1.5"><title>${escapeXml(`${event.type}${event.status === undefined ? '' : ` ${event.status}`} at ${event.at.toFixed(1)} ms`)}</title></line>`);
      }
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
