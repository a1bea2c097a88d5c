import type { CheckResult } from './checker.js';
import type { History } from './history.js';
import { formatAnomaly, formatSummary } from './report-text.js';
import { escapeXml, renderTimelineSvg } from './timeline-svg.js';

/** The HTML report: one self-contained page, the timeline of the burst with the first witness outlined, then every anomaly. */
export function renderHtmlReport(history: History, result: CheckResult): string {
  const first = result.anomalies[0];
  const highlight = first?.witness.operations.map((step) => step.id) ?? [];
  const anomalies = result.anomalies.map((anomaly, index) => `<section><pre>${escapeXml(formatAnomaly(anomaly, index))}</pre></section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(`race ${history.scenario}, seed ${history.seed}`)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #222; }
  pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
  .verdict { font-weight: 600; color: ${result.valid ? '#2e7d32' : '#c62828'}; }
  .legend span { display: inline-block; margin-right: 1rem; }
  .legend i { display: inline-block; width: 0.9rem; height: 0.6rem; margin-right: 0.3rem; border-radius: 2px; }
</style>
</head>
<body>
<h1>Race: ${escapeXml(history.scenario)}</h1>
<p class="verdict">${escapeXml(formatSummary(history, result))}</p>
<p>Started ${escapeXml(history.startedAt)}. Replay with <code>--seed ${history.seed}</code>.</p>
<p class="legend"><span><i style="background:#2e7d32"></i>acknowledged write</span><span><i style="background:#9e9e9e"></i>rejected (4xx)</span><span><i style="background:#ef6c00"></i>indeterminate</span><span><i style="background:#1565c0"></i>read</span><span><i style="background:#6a1b9a"></i>login / logout</span><span><i style="border:2px solid #d50000"></i>first witness</span><span>red tick: 412</span></p>
${renderTimelineSvg(history, { highlight })}
${anomalies || '<p>No anomaly.</p>'}
</body>
</html>
`;
}
