// `audit export`: the log's events for other systems. ECS (Elastic Common Schema)
// NDJSON for Filebeat/ELK, CSV with seed 004's cert_audit columns first (RFC
// 4180), and SQL: CREATE TABLE IF NOT EXISTS cert_audit + one INSERT per event.
import type { AuditEvent } from './record.js';

export const EXPORT_FORMATS = ['ecs', 'csv', 'sql'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const ECS_VERSION = '8.11.0';

const ECS_TYPE = { CREATE: 'creation', UPDATE: 'change', REVOKE: 'deletion' } as const;
const OUTCOME = { ok: 'success', failed: 'failure', 'rolled-back': 'failure' } as const;

/** "alice (as root)": the person, and the account the tool ran as. */
function splitOperator(operator: string): { name: string; effective?: string } {
  const match = /^(.+) \(as (.+)\)$/.exec(operator);
  return match ? { name: match[1]!, effective: match[2]! } : { name: operator };
}

const commonName = (subject?: string) => (subject ? /(?:^|[,/]\s*)CN\s*=\s*([^,/]+)/.exec(subject)?.[1]?.trim() : undefined);
const compact = <T extends Record<string, unknown>>(object: T): T => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

/** One ECS document (the mapping is in README "Audit trail"). */
export function ecsDocument(event: AuditEvent): Record<string, unknown> {
  const user = splitOperator(event.operator);
  const cn = commonName(event.subject);
  return compact({
    '@timestamp': event.time,
    message: `${event.action} ${event.cert}${event.serial ? ` serial ${event.serial}` : ''}${event.notAfter ? ` expires ${event.notAfter}` : ''} by ${event.operator} (${event.command}: ${event.result})`,
    ecs: { version: ECS_VERSION },
    event: compact({
      kind: 'event',
      category: ['configuration'],
      type: [ECS_TYPE[event.action]],
      action: event.action,
      outcome: OUTCOME[event.result] ?? 'unknown',
      provider: 'rescue-kit',
      dataset: 'rescue_kit.audit',
      sequence: event.line,
      hash: event.sha256,
      reason: event.detail,
    }),
    user: compact({ name: user.name, effective: user.effective ? { name: user.effective } : undefined }),
    host: { name: event.host, hostname: event.host },
    process: compact({ command_line: event.commandLine, name: 'rescue-kit' }),
    file: event.path ? { path: event.path } : undefined,
    x509: compact({
      serial_number: event.serial?.toUpperCase(),
      not_after: event.notAfter,
      subject: event.subject ? compact({ distinguished_name: event.subject, common_name: cn ? [cn] : undefined }) : undefined,
    }),
    labels: compact({ cert_name: event.cert, run_id: event.runId, command: event.command, result: event.result }),
    rescue_kit: compact({ audit_line: event.line, old_serial: event.oldSerial, old_not_after: event.oldNotAfter, backup: event.backup }),
  });
}

/** seed 004's cert_audit columns, then ours. */
export const CSV_COLUMNS = ['id', 'cert_name', 'action_type', 'expire_date', 'operator', 'created_at', 'subject', 'serial', 'path', 'host', 'run_id', 'result', 'command', 'command_line', 'old_serial', 'old_expire_date', 'backup', 'detail', 'audit_line'] as const;

/** SQL DATETIME: "YYYY-MM-DD HH:MM:SS" in UTC (what MySQL, PostgreSQL and sqlite all parse). */
export const sqlTime = (iso?: string) => (iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : undefined);

function row(event: AuditEvent, id: number): (string | number | undefined)[] {
  return [id, event.cert, event.action, sqlTime(event.notAfter), event.operator, sqlTime(event.time), event.subject, event.serial, event.path, event.host, event.runId, event.result, event.command, event.commandLine, event.oldSerial, sqlTime(event.oldNotAfter), event.backup, event.detail, event.line];
}

/** RFC 4180: quote a field holding a comma, a quote or a line break; double the quotes; CRLF line ends. */
export function csvField(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(events: AuditEvent[]): string {
  return [CSV_COLUMNS.join(','), ...events.map((event, index) => row(event, index + 1).map(csvField).join(','))].map((line) => `${line}\r\n`).join('');
}

/** Standard SQL string literal: quotes doubled, NUL dropped (backslashes are literal, as in sqlite and PostgreSQL). */
export function sqlLiteral(value: string | number | undefined): string {
  if (value === undefined) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `'${value.replace(/\0/g, '').replace(/'/g, "''")}'`;
}

// ENUM is MySQL's; a CHECK says the same in every SQL database.
export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS cert_audit (
  id INT PRIMARY KEY,
  cert_name VARCHAR(255),
  action_type VARCHAR(6) CHECK (action_type IN ('CREATE','UPDATE','REVOKE')),
  expire_date DATETIME,
  operator VARCHAR(64),
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  subject VARCHAR(1024),
  serial VARCHAR(64),
  path VARCHAR(1024),
  host VARCHAR(255),
  run_id VARCHAR(64),
  result VARCHAR(16),
  command VARCHAR(64),
  command_line TEXT,
  old_serial VARCHAR(64),
  old_expire_date DATETIME,
  backup VARCHAR(1024),
  detail TEXT,
  audit_line INT
);`;

export function toSql(events: AuditEvent[]): string {
  const inserts = events.map((event, index) => `INSERT INTO cert_audit (${CSV_COLUMNS.join(', ')}) VALUES (${row(event, index + 1).map(sqlLiteral).join(', ')});`);
  return `-- rescue-kit audit export: seed 004's cert_audit table (${events.length} rows)\n${CREATE_TABLE}\nBEGIN;\n${inserts.join('\n')}${inserts.length ? '\n' : ''}COMMIT;\n`;
}

export function toEcs(events: AuditEvent[]): string {
  return events.map((event) => `${JSON.stringify(ecsDocument(event))}\n`).join('');
}

export function exportEvents(events: AuditEvent[], format: ExportFormat): string {
  return format === 'csv' ? toCsv(events) : format === 'sql' ? toSql(events) : toEcs(events);
}
