// The audit history as the report shows it: every line of the JSON-lines audit
// log, read tolerantly. Only the fields the report needs are relied on; unknown
// fields are ignored (the log grows), and a line that does not parse is kept as
// such — an auditor must see that something odd is there, not a silent gap.
// One small function on purpose: the audit helper's own reader can replace it.
import type { Host } from '../../host/host.js';
import { AUDIT_LOG } from '../audit/audit.js';

export type AuditHistoryRow =
  | { line: number; parsed: true; time: string; command: string; operator: string; result: string; runId: string | null; certificates: string[] }
  | { line: number; parsed: false; raw: string; reason: string };

const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));

/** One audit line as a row; `line` is 1-based as `audit verify` counts. */
export function auditHistoryRow(raw: string, line: number): AuditHistoryRow {
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch (error) {
    return { line, parsed: false, raw, reason: `not JSON: ${(error as Error).message}` };
  }
  if (!record || typeof record !== 'object' || Array.isArray(record)) return { line, parsed: false, raw, reason: 'not a JSON object' };
  const fields = record as Record<string, unknown>;
  // Chained lines (ops/audit/record.ts) carry one certificate event each: cert + action; older lines a list per run.
  const certificates = typeof fields.cert === 'string'
    ? [`${fields.cert}${typeof fields.action === 'string' ? ` (${fields.action})` : ''}`]
    : Array.isArray(fields.certificates)
    ? fields.certificates.map((entry) => (entry && typeof entry === 'object' ? text((entry as Record<string, unknown>).name) : text(entry))).filter(Boolean)
    : [];
  return {
    line,
    parsed: true,
    time: text(fields.time),
    command: text(fields.command),
    operator: text(fields.operator),
    result: text(fields.result),
    runId: typeof fields.runId === 'string' ? fields.runId : null,
    certificates,
  };
}

/** Every line of ROOT/var/lib/rescue-kit/audit.log (empty when there is none), oldest first. */
export function readAuditHistory(host: Host, hostPath = AUDIT_LOG): AuditHistoryRow[] {
  const data = host.read(hostPath);
  if (!data) {
    const why = host.unreadable(hostPath);
    return why ? [{ line: 0, parsed: false, raw: '', reason: `cannot read ${host.real(hostPath)}: ${why}` }] : [];
  }
  return data
    .toString('utf8')
    .split('\n')
    .map((raw, index) => ({ raw, line: index + 1 }))
    .filter(({ raw }) => raw.trim() !== '')
    .map(({ raw, line }) => auditHistoryRow(raw, line));
}
