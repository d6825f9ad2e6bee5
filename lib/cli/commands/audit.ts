// `rescue-kit audit verify | show | export`: the audit trail checked, read, shipped.
import { RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { eventsOf, filterEvents, readAuditLog, type AuditFilter } from '../../ops/audit/audit.js';
import { backupChainHead } from '../../ops/audit/backup-head.js';
import { exportEvents, type ExportFormat } from '../../ops/audit/export.js';
import { verifyLog, type ChainHead } from '../../ops/audit/verify.js';
import { printJson, say, table, warn } from '../output.js';
import { passphraseFor } from './backup.js';

interface LogOptions {
  root: string;
  log?: string;
}

export async function auditVerify(options: LogOptions & { backup?: string[]; passphraseFile?: string; json?: boolean }): Promise<void> {
  const { path, log } = readAuditLog(createHost({ root: options.root }), options.log);
  const heads: ChainHead[] = [];
  for (const file of options.backup ?? []) {
    const head = await backupChainHead(file, await passphraseFor(file, options));
    if (head) heads.push(head);
    else warn(`${file} records no audit chain head (no log when it was taken, or an older rescue-kit): it cannot check the tail`);
  }
  const result = verifyLog(log, heads);
  if (options.json) printJson({ log: path, ...result });
  else {
    for (const finding of [...result.findings, ...result.notes]) process.stdout.write(`${finding.kind.toUpperCase()}\tline ${finding.line}\t${finding.message}\n`);
    const legacy = result.legacy ? ` (${result.legacy} older unchained line${result.legacy > 1 ? 's' : ''} first)` : '';
    say(`${path}: ${result.lines} lines${legacy}, ${result.chained} chained${heads.length ? `, checked against ${heads.length} backup chain head${heads.length > 1 ? 's' : ''}` : ''}`);
    if (!result.chained && result.legacy) say(`note: all ${result.legacy} lines predate the chain (an older rescue-kit): the next append chains from them and commits to their sha256`);
    if (result.ok && !heads.length) say('note: lines cut off the end leave no trace in the log itself; pass --backup FILE (its manifest holds the chain head) to check the tail');
  }
  if (!result.ok) {
    throw new RescueError('AUDIT_TAMPERED', `${path}: ${result.findings.length} problem${result.findings.length > 1 ? 's' : ''} in the audit chain (${[...new Set(result.findings.map((finding) => finding.kind))].join(', ')})`, {
      hint: 'compare with the copy shipped to ELK (audit export --format ecs) or a backup; the line numbers above say where',
    });
  }
  if (!options.json) say('audit chain intact');
}

export async function auditShow(options: LogOptions & AuditFilter & { json?: boolean }): Promise<void> {
  const host = createHost({ root: options.root });
  filterEvents([], options, host.now()); // a bad --action or --since is a usage error before anything is read
  const { log } = readAuditLog(host, options.log);
  const events = filterEvents(eventsOf(log), options, host.now());
  if (options.json) return printJson(events);
  const day = (iso?: string) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');
  process.stdout.write(
    `${table(
      ['LINE', 'TIME', 'ACTION', 'CERTIFICATE', 'SERIAL', 'NOT AFTER', 'OPERATOR', 'COMMAND', 'RESULT'],
      events.map((event) => [String(event.line), day(event.time), event.action, event.cert, event.serial ? `${event.serial.slice(0, 16)}${event.serial.length > 16 ? '…' : ''}` : '-', day(event.notAfter), event.operator, event.command, event.result]),
    )}\n`,
  );
  say(`${events.length} event${events.length === 1 ? '' : 's'}`);
}

export async function auditExport(options: LogOptions & AuditFilter & { format: ExportFormat }): Promise<void> {
  const host = createHost({ root: options.root });
  filterEvents([], options, host.now());
  const { log } = readAuditLog(host, options.log);
  process.stdout.write(exportEvents(filterEvents(eventsOf(log), options, host.now()), options.format));
}
