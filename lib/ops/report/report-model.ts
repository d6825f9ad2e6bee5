// What a report shows, for one host or for a fleet of `check --json` files:
// per node the worst status and the earliest expiry (so the node that breaks
// first is on top), CAs with their leaves, and one time axis shared by all bars.
import { RescueError } from '../../errors.js';
import { CheckEntry, CheckReport, SEVERITY, Status } from '../inventory/check.js';
import type { AuditHistoryRow } from './audit-history.js';

export interface NodeReport {
  node: string;
  check: CheckReport;
  worst: Status;
  /** The earliest notAfter among its certificates (ISO), null when none has a date. */
  earliestExpiry: string | null;
  problemCount: number;
}

export interface ReportModel {
  title: string;
  generatedAt: string;
  /** One node for `--root`, many for `--from`; sorted worst first, then earliest expiry. */
  nodes: NodeReport[];
  /** null: not available (a fleet of check --json files carries no audit log). */
  audit: AuditHistoryRow[] | null;
  /** A fleet page (summary table, nodes folded) even for one file; a host page otherwise. */
  fleet: boolean;
}

/** A CA and the certificates it signs; `ca` null for leaves whose CA is not on the host. */
export interface TimelineGroup {
  ca: CheckEntry | null;
  members: CheckEntry[];
}

export interface TimeAxis {
  startMs: number;
  endMs: number;
  nowMs: number;
}

const rank = (status: Status) => SEVERITY.indexOf(status);

export function worstStatus(entries: CheckEntry[]): Status {
  return entries.reduce<Status>((worst, entry) => (rank(entry.status) < rank(worst) ? entry.status : worst), 'OK');
}

export function allEntries(check: CheckReport): CheckEntry[] {
  return [...check.authorities, ...check.certificates];
}

export function nodeReport(node: string, check: CheckReport): NodeReport {
  const entries = allEntries(check);
  const dates = entries.map((entry) => entry.notAfter).filter((date): date is string => Boolean(date)).sort();
  return { node, check, worst: worstStatus(entries), earliestExpiry: dates[0] ?? null, problemCount: entries.reduce((sum, entry) => sum + entry.problems.length, 0) };
}

/** Worst status first; among equals the one that expires first; then by name, so the order is stable. */
export function sortNodes(nodes: NodeReport[]): NodeReport[] {
  return [...nodes].sort(
    (a, b) => rank(a.worst) - rank(b.worst) || (a.earliestExpiry ?? '\uffff').localeCompare(b.earliestExpiry ?? '\uffff') || a.node.localeCompare(b.node),
  );
}

export function buildReportModel(nodes: { node: string; check: CheckReport }[], audit: AuditHistoryRow[] | null, now: Date, title = 'rescue-kit certificate report', fleet = nodes.length > 1): ReportModel {
  return { title, generatedAt: now.toISOString(), nodes: sortNodes(nodes.map(({ node, check }) => nodeReport(node, check))), audit, fleet };
}

/** CAs in the report's order, each followed by its leaves; leaves of an absent CA last. */
export function timelineGroups(check: CheckReport): TimelineGroup[] {
  const groups: TimelineGroup[] = check.authorities.map((ca) => ({ ca, members: check.certificates.filter((entry) => entry.certificateAuthority === ca.name) }));
  const known = new Set(check.authorities.map((ca) => ca.name));
  const orphans = check.certificates.filter((entry) => !entry.certificateAuthority || !known.has(entry.certificateAuthority));
  if (orphans.length) groups.push({ ca: null, members: orphans });
  return groups;
}

/** One axis for every bar (and today), from the earliest notBefore to the latest notAfter, today included. */
export function timeAxis(checks: CheckReport[], now: Date): TimeAxis {
  const nowMs = now.getTime();
  let startMs = nowMs;
  let endMs = nowMs;
  for (const entry of checks.flatMap(allEntries)) {
    if (entry.notBefore) startMs = Math.min(startMs, Date.parse(entry.notBefore));
    if (entry.notAfter) endMs = Math.max(endMs, Date.parse(entry.notAfter));
  }
  // A little room either side so a bar that starts or ends at the edge stays visible.
  const pad = Math.max((endMs - startMs) * 0.02, 86_400_000);
  return { startMs: startMs - pad, endMs: endMs + pad, nowMs };
}

/** Where a time falls on the axis, 0..1. */
export function axisFraction(axis: TimeAxis, ms: number): number {
  return Math.min(1, Math.max(0, (ms - axis.startMs) / (axis.endMs - axis.startMs)));
}

/** January 1st of each year on the axis, thinned to at most `max` ticks. */
export function yearTicks(axis: TimeAxis, max = 12): { ms: number; label: string }[] {
  const first = new Date(axis.startMs).getUTCFullYear() + 1;
  const last = new Date(axis.endMs).getUTCFullYear();
  const step = Math.max(1, Math.ceil((last - first + 1) / max));
  const ticks: { ms: number; label: string }[] = [];
  for (let year = first; year <= last; year += step) ticks.push({ ms: Date.UTC(year, 0, 1), label: String(year) });
  return ticks;
}

/** A `check --json` file as a CheckReport; anything else is invalid input naming the file. */
export function parseCheckJson(text: string, file: string): CheckReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new RescueError('INVALID_JSON', `${file} is not JSON: ${(cause as Error).message}`, { file, hint: 'give files written by: rescue-kit check --json > NODE.json', cause });
  }
  const report = value as Partial<CheckReport>;
  if (!report || typeof report !== 'object' || report.schemaVersion !== 1 || !Array.isArray(report.certificates) || !Array.isArray(report.authorities) || typeof report.now !== 'string') {
    throw new RescueError('INVALID_JSON', `${file} is not a check --json report (schemaVersion 1 with certificates[] and authorities[])`, { file, hint: 'give files written by: rescue-kit check --json > NODE.json' });
  }
  const statuses = new Set<string>(SEVERITY);
  for (const entry of [...report.certificates, ...report.authorities]) {
    if (!entry || typeof entry.name !== 'string' || !statuses.has(entry.status) || !Array.isArray(entry.problems)) {
      throw new RescueError('INVALID_JSON', `${file}: an entry has no name, a status check does not know, or no problems[]`, { file, hint: 'give files written by: rescue-kit check --json > NODE.json' });
    }
  }
  return report as CheckReport;
}
