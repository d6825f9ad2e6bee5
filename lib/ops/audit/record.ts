// The audit log's line format: one JSON object per certificate event (seed 004's
// cert_audit row: name, CREATE/UPDATE/REVOKE, expiry, operator, time — plus
// subject, serial, path, host, run, result, command line and backup), each
// carrying the sha256 of the line before it. Older one-line-per-run records
// (format 1, no chain) are still read: they are on operators' hosts.
import { sha256Hex } from '../../pki/digest.js';

export const AUDIT_LOG = '/var/lib/rescue-kit/audit.log';
/** What the first chained line's `prev` holds: there is no line before it. */
export const GENESIS = '0'.repeat(64);

export type AuditAction = 'CREATE' | 'UPDATE' | 'REVOKE';
export const AUDIT_ACTIONS: AuditAction[] = ['CREATE', 'UPDATE', 'REVOKE'];
export type AuditResult = 'ok' | 'rolled-back' | 'failed';

/** One certificate event as a mutating command reports it (the appender adds who, where, when and the chain). */
export interface AuditEntry {
  action: AuditAction;
  /** The certificate's name: kubeadm's (apiserver, admin.conf), a file name, or namespace/name for cluster objects. */
  cert: string;
  subject?: string;
  serial?: string;
  /** The certificate's notAfter (seed 004's expire_date) after the command. */
  notAfter?: string;
  oldSerial?: string;
  oldNotAfter?: string;
  /** Host path of the file holding it (or an output path, or a kubectl object). */
  path?: string;
  detail?: string;
}

/** What every line of one command shares. */
export interface AuditContext {
  /** The subcommand: renew, ca rotate, issue, ... */
  command: string;
  runId?: string;
  result: AuditResult;
  backup?: string;
  detail?: string;
}

/** A chained line (format 2). Field order is the order written. */
export interface AuditRecord extends AuditEntry {
  v: 2;
  /** This line's number in the log (1-based): a deleted or moved line leaves a gap or a step back. */
  seq: number;
  /** sha256 (hex) of the previous line's bytes without its newline; GENESIS for line 1. */
  prev: string;
  /** Only on the first chained line of a log that had format-1 lines: their count and the sha256 of those bytes. */
  legacy?: { lines: number; sha256: string };
  time: string;
  operator: string;
  host: string;
  command: string;
  commandLine: string;
  runId: string;
  result: AuditResult;
  backup?: string;
}

/** Format 1: one line per renew/rollback run, certificates in an array, no chain. */
export interface LegacyRecord {
  time: string;
  runId?: string;
  command: string;
  operator: string;
  host: string;
  result: AuditResult;
  certificates: { name: string; action: 'renew' | 'rollback'; oldSerial?: string; newSerial?: string; oldNotAfter?: string; newNotAfter?: string }[];
  backup?: string;
  detail?: string;
}


export interface LogLine {
  /** 1-based line number. */
  number: number;
  bytes: Buffer;
  sha256: string;
  kind: 'chained' | 'legacy' | 'damaged';
  record?: AuditRecord;
  legacy?: LegacyRecord;
}

export interface ParsedLog {
  lines: LogLine[];
  /** The last line has no newline after it (a write cut short, or a crash before the newline). */
  missingFinalNewline: boolean;
}

function classify(bytes: Buffer, number: number): LogLine {
  const base = { number, bytes, sha256: sha256Hex(bytes) };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ...base, kind: 'damaged' };
  }
  const object = value as Record<string, unknown> | null;
  if (object && object.v === 2 && typeof object.seq === 'number' && typeof object.prev === 'string' && typeof object.action === 'string') return { ...base, kind: 'chained', record: object as unknown as AuditRecord };
  if (object && object.v === undefined && typeof object.time === 'string' && Array.isArray(object.certificates)) return { ...base, kind: 'legacy', legacy: object as unknown as LegacyRecord };
  return { ...base, kind: 'damaged' };
}

/** Split the log into lines (bytes kept exactly: the chain is over bytes, not over re-serialised JSON). */
export function parseLog(data: Buffer): ParsedLog {
  const lines: LogLine[] = [];
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(0x0a, start);
    const stop = end === -1 ? data.length : end;
    lines.push(classify(data.subarray(start, stop), lines.length + 1));
    start = stop + 1;
  }
  return { lines, missingFinalNewline: data.length > 0 && data[data.length - 1] !== 0x0a };
}

/** One event of the log, whatever its format: what show and export print (the entry, plus who, where, when). */
export interface AuditEvent extends AuditEntry {
  /** Log line it came from (a format-1 line may hold several events). */
  line: number;
  time: string;
  operator: string;
  host: string;
  command: string;
  commandLine?: string;
  runId?: string;
  result: AuditResult;
  backup?: string;
  /** sha256 of the line (format 2 only, so an event in ELK can be matched to its line). */
  sha256?: string;
}

export function eventsOf(log: ParsedLog): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of log.lines) {
    if (line.record) {
      const { v, seq, prev, legacy, ...rest } = line.record;
      void v, seq, prev, legacy;
      events.push({ line: line.number, ...rest, sha256: line.sha256 });
    } else if (line.legacy) {
      const record = line.legacy;
      for (const certificate of record.certificates) {
        const ok = record.result === 'ok';
        events.push({
          line: line.number,
          time: record.time,
          action: 'UPDATE',
          cert: certificate.name,
          serial: ok ? (certificate.newSerial ?? certificate.oldSerial) : certificate.oldSerial,
          notAfter: ok ? (certificate.newNotAfter ?? certificate.oldNotAfter) : certificate.oldNotAfter,
          oldSerial: certificate.oldSerial,
          oldNotAfter: certificate.oldNotAfter,
          operator: record.operator,
          host: record.host,
          command: record.command.startsWith('rollback') ? 'rollback' : 'renew',
          commandLine: record.command,
          runId: record.runId,
          result: record.result,
          backup: record.backup,
          detail: record.detail,
        });
      }
    }
  }
  return events;
}
