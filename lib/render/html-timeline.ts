// The expiry timeline as HTML + CSS only (no script): one bar per certificate,
// notBefore -> notAfter on the shared axis, CAs heading their leaves, a today line.
import type { CheckEntry, CheckReport } from '../ops/inventory/check.js';
import { axisFraction, TimeAxis, timelineGroups, yearTicks } from '../ops/report/report-model.js';
import { daysLeft, escapeHtml, isoDay, statusClass } from './html.js';

const percent = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;
/** Left edge of the track column: the label column is 26rem wide (see the page's CSS). */
const onTrack = (fraction: number) => `calc(26rem + (100% - 26rem) * ${fraction.toFixed(5)})`;

function bar(entry: CheckEntry, axis: TimeAxis): string {
  const status = statusClass(entry.status);
  const tip = [entry.name, entry.status, entry.subject ? `subject: ${entry.subject}` : '', entry.issuer ? `issuer: ${entry.issuer}` : '', entry.notBefore ? `${entry.notBefore} → ${entry.notAfter}` : 'no dates (no readable certificate)', entry.path ?? '']
    .filter(Boolean)
    .join('\n');
  if (!entry.notBefore || !entry.notAfter) {
    // No dates to draw: a hatched bar across the whole track, so the row is never silently empty.
    return `<div class="bar ${status} nodates" style="left:0;width:100%" title="${escapeHtml(tip)}" data-name="${escapeHtml(entry.name)}">${escapeHtml(entry.status)}</div>`;
  }
  const left = axisFraction(axis, Date.parse(entry.notBefore));
  const right = axisFraction(axis, Date.parse(entry.notAfter));
  return `<div class="bar ${status}" style="left:${percent(left)};width:${percent(Math.max(right - left, 0.002))}" title="${escapeHtml(tip)}" data-name="${escapeHtml(entry.name)}"></div>`;
}

function row(entry: CheckEntry, axis: TimeAxis, isCa: boolean): string {
  const label = `<span class="name">${escapeHtml(entry.name)}</span><span class="status ${statusClass(entry.status)}">${escapeHtml(entry.status)}</span><span class="left">${escapeHtml(isoDay(entry.notAfter))} ${escapeHtml(daysLeft(entry.secondsLeft))}</span>`;
  return `<div class="row${isCa ? ' ca' : ''}" data-kind="${escapeHtml(entry.kind)}"><div class="label">${label}</div><div class="track">${bar(entry, axis)}</div></div>`;
}

export function htmlTimeline(check: CheckReport, axis: TimeAxis): string {
  const ticks = yearTicks(axis)
    .map((tick) => `<div class="tick" style="left:${onTrack(axisFraction(axis, tick.ms))}">${escapeHtml(tick.label)}</div>`)
    .join('');
  const groups = timelineGroups(check)
    .map((group) => {
      const head = group.ca ? row(group.ca, axis, true) : '<div class="row ca orphan"><div class="label"><span class="name">no CA on this host</span></div><div class="track"></div></div>';
      return `<div class="group">${head}${group.members.map((entry) => row(entry, axis, false)).join('')}</div>`;
    })
    .join('');
  const today = `<div class="today" style="left:${onTrack(axisFraction(axis, axis.nowMs))}" title="today ${escapeHtml(new Date(axis.nowMs).toISOString())}"><span>today</span></div>`;
  return `<div class="timeline"><div class="axis">${ticks}</div>${groups}${today}</div>`;
}
