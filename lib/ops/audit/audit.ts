// The audit trail (seed 004's cert_audit): reading the log for show, export and
// verify, and the filters an auditor asks for (certificate, action, time).
// Writing is append.ts; the line format is record.ts; the chain check verify.ts.
import { readFileSync } from 'node:fs';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { parseDuration } from '../../pki/validity.js';
import { auditLogPath } from './append.js';
import { AUDIT_ACTIONS, AuditAction, AuditEvent, eventsOf, parseLog, ParsedLog } from './record.js';

export { AUDIT_LOG } from './record.js';
export type { AuditAction, AuditEntry, AuditEvent, AuditRecord, LegacyRecord } from './record.js';
export { appendAuditEntries, auditChainHead, auditLogPath, operatorName, redactedCommandLine } from './append.js';
export { certificateEntry, certificateInFile, planEntries, recordAudit } from './entries.js';

/** The log (a missing one is an error naming where it was looked for: nothing was ever recorded there). */
export function readAuditLog(host: Host, file?: string): { path: string; log: ParsedLog } {
  const path = file ?? auditLogPath(host);
  try {
    return { path, log: parseLog(readFileSync(path)) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RescueError('FILE_NOT_FOUND', `no audit log at ${path}`, { hint: 'nothing was recorded under this --root yet; pass --root or --log FILE' });
    }
    throw error;
  }
}

export interface AuditFilter {
  cert?: string;
  action?: string;
  since?: string;
  until?: string;
}

/** "2026-01-31", "2026-01-31T10:00:00Z", or a duration back from now ("7d", "12h"). */
export function parseWhen(text: string, now: Date, what: string): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const date = new Date(text);
    if (!Number.isNaN(date.getTime())) return date;
  } else if (/^\d/.test(text)) return new Date(now.getTime() - parseDuration(text, what));
  throw new RescueError('USAGE', `${what} "${text}" is not a date or a duration`, { hint: `e.g. ${what} 2026-01-31, ${what} 2026-01-31T10:00:00Z or ${what} 7d (7 days ago)` });
}

export function filterEvents(events: AuditEvent[], filter: AuditFilter, now: Date): AuditEvent[] {
  const action = filter.action?.toUpperCase();
  if (action && !AUDIT_ACTIONS.includes(action as AuditAction)) throw new RescueError('USAGE', `--action "${filter.action}" is not one of ${AUDIT_ACTIONS.join(', ')}`);
  const since = filter.since ? parseWhen(filter.since, now, '--since').getTime() : -Infinity;
  const until = filter.until ? parseWhen(filter.until, now, '--until').getTime() : Infinity;
  return events.filter((event) => {
    const time = Date.parse(event.time);
    const file = event.path?.split('/').pop();
    if (filter.cert && ![event.cert, event.path, file, file?.replace(/\.(crt|pem)$/, '')].includes(filter.cert)) return false;
    if (action && event.action !== action) return false;
    return time >= since && time <= until;
  });
}

export { eventsOf };
