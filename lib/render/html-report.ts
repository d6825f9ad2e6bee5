// `report --html`: one self-contained page (inline CSS, no script, no fonts, no
// images, no URL of any kind) — it is opened on air-gapped desktops. For one
// host: timeline, problems, audit history. For a fleet: a summary table (worst
// node first) and each node's timeline and problems folded in <details>.
import { SEVERITY } from '../ops/inventory/check.js';
import type { AuditHistoryRow } from '../ops/report/audit-history.js';
import { allEntries, NodeReport, ReportModel, timeAxis, TimeAxis } from '../ops/report/report-model.js';
import { daysLeft, escapeHtml, isoDay, statusClass } from './html.js';
import { htmlTimeline } from './html-timeline.js';
import { REPORT_CSS } from './html-style.js';

function problemList(node: NodeReport): string {
  // Worst first: what breaks the node is read before what merely expires.
  const items = allEntries(node.check)
    .filter((entry) => entry.problems.length)
    .sort((a, b) => SEVERITY.indexOf(a.status) - SEVERITY.indexOf(b.status))
    .map((entry) => `<li class="problem ${statusClass(entry.status)}"><span class="status ${statusClass(entry.status)}">${escapeHtml(entry.status)}</span> <b>${escapeHtml(entry.name)}</b>${entry.path ? ` <code>${escapeHtml(entry.path)}</code>` : ''}: ${escapeHtml(entry.problems.join('; '))}</li>`);
  return items.length ? `<ul class="problems">${items.join('')}</ul>` : '<p class="none">No problems.</p>';
}

function auditSection(audit: AuditHistoryRow[] | null): string {
  if (audit === null) return '<section id="audit"><h2>Audit history</h2><p class="none">Not part of <code>check --json</code> files: run <code>rescue-kit report --html FILE --root /</code> on a node for its history.</p></section>';
  if (!audit.length) return '<section id="audit"><h2>Audit history</h2><p class="none">No audit log on this host (no renew, rollback or other change recorded).</p></section>';
  const rows = audit.map((row) =>
    row.parsed
      ? `<tr class="audit-row"><td>${escapeHtml(row.line)}</td><td>${escapeHtml(row.time)}</td><td><code>${escapeHtml(row.command)}</code></td><td>${escapeHtml(row.operator)}</td><td class="result-${escapeHtml(row.result.replace(/[^a-z-]/gi, ''))}">${escapeHtml(row.result)}</td><td>${escapeHtml(row.runId ?? '')}</td><td>${escapeHtml(row.certificates.join(', '))}</td></tr>`
      : `<tr class="audit-row unparsable"><td>${escapeHtml(row.line || '')}</td><td colspan="6"><b>unparsable line</b> (${escapeHtml(row.reason)}): <code>${escapeHtml(row.raw.slice(0, 300))}${row.raw.length > 300 ? '…' : ''}</code></td></tr>`,
  );
  return `<section id="audit"><h2>Audit history</h2><table class="audit"><thead><tr><th>#</th><th>time</th><th>command</th><th>operator</th><th>result</th><th>run</th><th>certificates</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function summaryCounts(node: NodeReport): string {
  return SEVERITY.filter((status) => node.check.summary?.[status])
    .map((status) => `<span class="status ${statusClass(status)}">${escapeHtml(status)} ${escapeHtml(node.check.summary[status])}</span>`)
    .join(' ');
}

function earliest(node: NodeReport, now: number): string {
  if (!node.earliestExpiry) return '';
  return `${escapeHtml(isoDay(node.earliestExpiry))} (${escapeHtml(daysLeft(Math.floor((Date.parse(node.earliestExpiry) - now) / 1000)))})`;
}

/** A check file older than two days says little about today (statuses are as of its check). */
const stale = (node: NodeReport, now: number) => now - Date.parse(node.check.now) > 2 * 86_400_000;

function fleetSummary(model: ReportModel, now: number): string {
  const rows = model.nodes.map(
    (node, index) =>
      `<tr class="node-row ${statusClass(node.worst)}"><td><a href="#node-${index}">${escapeHtml(node.node)}</a></td><td><span class="status ${statusClass(node.worst)}">${escapeHtml(node.worst)}</span></td><td>${earliest(node, now)}</td><td>${escapeHtml(node.problemCount)}</td><td>${summaryCounts(node)}</td><td class="${stale(node, now) ? 'stale' : ''}">${escapeHtml(node.check.now.slice(0, 16).replace('T', ' '))}</td></tr>`,
  );
  return `<section id="summary"><h2>Nodes (${model.nodes.length}), worst first</h2><table class="nodes"><thead><tr><th>node</th><th>worst</th><th>earliest expiry</th><th>problems</th><th>certificates by status</th><th>checked (UTC)</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function nodeBody(node: NodeReport, axis: TimeAxis): string {
  return `<h3>Timeline</h3>${htmlTimeline(node.check, axis)}<h3>Problems</h3>${problemList(node)}<p class="meta">checked ${escapeHtml(node.check.now)}, root <code>${escapeHtml(node.check.root)}</code>, layout ${escapeHtml(node.check.layout)}</p>`;
}

const LEGEND = `<p class="legend">${SEVERITY.map((status) => `<span class="swatch ${statusClass(status)}"></span>${escapeHtml(status)}`).join(' ')} <span class="swatch today-swatch"></span>today</p>`;

export function renderHtmlReport(model: ReportModel): string {
  const now = Date.parse(model.generatedAt);
  const axis = timeAxis(
    model.nodes.map((node) => node.check),
    new Date(now),
  );
  const fleet = model.fleet;
  const body = fleet
    ? `${fleetSummary(model, now)}<section id="nodes"><h2>Nodes</h2>${model.nodes
        .map((node, index) => `<details class="node" id="node-${index}"><summary><span class="status ${statusClass(node.worst)}">${escapeHtml(node.worst)}</span> ${escapeHtml(node.node)} — earliest expiry ${earliest(node, now)}</summary>${nodeBody(node, axis)}</details>`)
        .join('')}</section>`
    : model.nodes.map((node) => `<section class="node" id="node-0"><h2>${escapeHtml(node.node)} — <span class="status ${statusClass(node.worst)}">${escapeHtml(node.worst)}</span></h2>${nodeBody(node, axis)}</section>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${REPORT_CSS}</style></head>
<body><header><h1>${escapeHtml(model.title)}</h1><p class="meta">generated ${escapeHtml(model.generatedAt)} by rescue-kit · ${model.nodes.length} node${model.nodes.length === 1 ? '' : 's'}</p>${LEGEND}</header>
<main>${body}${auditSection(model.audit)}</main></body></html>
`;
}
