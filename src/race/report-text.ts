import type { Anomaly, WitnessStep } from './anomaly.js';
import type { CheckResult } from './checker.js';
import type { History } from './history.js';

/**
 * The checker's verdict as a terminal prints it: a summary line with the
 * seed, then each anomaly's paragraph and its witness as a table, the way
 * Elle prints one (the requests in send order, the read last).
 */
const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const time = (at: number | undefined) => (at === undefined ? '—' : at.toFixed(1));
const pathOf = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
};

export function formatWitness(anomaly: Anomaly): string {
  const header = ['', 'op', 'process', 'role', 'request', 'token', 'sent', 'answered', 'status', 'session'];
  const rows = anomaly.witness.operations.map((step: WitnessStep) => [
    anomaly.witness.read?.operation === step.id ? '→' : anomaly.witness.acknowledgement?.operation === step.id ? '✓' : ' ',
    step.id,
    step.process,
    step.role,
    `${step.method} ${pathOf(step.url)}`,
    step.token ?? (step.holds === undefined ? '' : `holds ${step.holds}`),
    time(step.sentAt),
    time(step.answeredAt),
    step.status === undefined ? (step.error ?? 'none') : String(step.status),
    step.sessionAfter === undefined ? (step.session ?? '') : `${step.session ?? '∅'} → ${step.sessionAfter === '' ? '∅' : step.sessionAfter}`,
  ]);
  const widths = header.map((_, column) => Math.max(header[column]!.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, column) => pad(cell, widths[column]!)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatAnomaly(anomaly: Anomaly, index: number): string {
  const subject = anomaly.token === undefined ? (anomaly.session ?? '') : `token ${anomaly.token}`;
  return `#${index + 1} ${anomaly.kind} ${subject}\n${anomaly.text}\n\n${formatWitness(anomaly)}`;
}

export function formatSummary(history: History, result: CheckResult): string {
  const { counts } = result;
  const found = Object.entries(counts.anomalies)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  return (
    `${history.scenario} (${history.driver}) against ${history.target}, seed ${history.seed}: ` +
    `${counts.operations} requests, ${counts.writes} writes (${counts.acknowledged} acknowledged, ${counts.rejected} rejected, ${counts.indeterminate} indeterminate) — ` +
    (result.valid ? 'no anomaly' : `${result.anomalies.length} anomalies: ${found}`)
  );
}

/** Summary, then every anomaly (at most `limit`, the rest counted) and how to replay the run. */
export function formatReport(history: History, result: CheckResult, limit = 3): string {
  const shown = result.anomalies.slice(0, limit).map(formatAnomaly);
  const more = result.anomalies.length > limit ? [`… and ${result.anomalies.length - limit} more in the JSON report`] : [];
  const replay = result.valid ? [] : [`Replay this schedule with --seed ${history.seed}.`];
  return [formatSummary(history, result), ...shown, ...more, ...replay].join('\n\n');
}
