// What each mutating command records: a plan's certificates (renew, ca renew,
// ca rotate, kubelet re-mint), a certificate just issued, the certificate a file
// holds now (after a restore or rollback). Plus the one call every command
// makes: append, and on failure warn — the audit line never undoes or fails a run.
import { ioError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { Certificate, parseCertificates } from '../../pki/certificate.js';
import type { RenewPlan } from '../renewal/renew-plan.js';
import type { Journal } from '../renewal/journal.js';
import { readFileSync } from 'node:fs';
import { appendAuditEntries, auditLogPath } from './append.js';
import { parseLog } from './record.js';
import type { AuditAction, AuditContext, AuditEntry } from './record.js';

/** An entry for a certificate object. */
export function certificateEntry(action: AuditAction, cert: string, certificate: Certificate, path?: string, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { action, cert, subject: certificate.subjectText, serial: certificate.serialHex, notAfter: certificate.notAfter.toISOString(), ...(path ? { path } : {}), ...extra };
}

/** The certificate a file holds (a PEM, or a kubeconfig's client-certificate-data), or undefined. */
export function certificateInFile(host: Host, hostPath: string): Certificate | undefined {
  const data = host.read(hostPath);
  if (!data) return undefined;
  try {
    const text = data.toString('utf8');
    const embedded = /client-certificate-data:\s*(\S+)/.exec(text)?.[1];
    const [first] = parseCertificates(embedded ? Buffer.from(embedded, 'base64') : data);
    return first;
  } catch {
    return undefined;
  }
}

/** A plan that names audit entries of its own (a rotation's new CA, the CA it distrusts); they stand in for items of that name. */
export type AuditedPlan = RenewPlan & { audit?: AuditEntry[] };

/** The file a plan item's certificate is written to (the plan's first non-key change named after it). */
function pathOf(plan: RenewPlan, name: string): string | undefined {
  const changes = plan.changes.filter((change) => change.reason.startsWith(`${name}:`) && change.kind === 'file');
  return (changes.find((change) => /cert/.test(change.reason)) ?? changes[0])?.hostPath;
}

/**
 * One entry per certificate of a plan: UPDATE for a re-issue, CREATE where there was none (a re-minted kubelet
 * client cert), plus the plan's own entries (a rotation's new CA, the CA it distrusts). `applied` false: the tree
 * still holds the old certificates, so the entry says so.
 */
export function planEntries(plan: AuditedPlan, applied: boolean): AuditEntry[] {
  const own = new Set((plan.audit ?? []).map((entry) => entry.cert));
  const items = plan.items.filter((item) => !own.has(item.name)).map((item): AuditEntry => {
    const created = !item.before.serial;
    const now = applied ? item.after : item.before;
    return {
      action: created ? 'CREATE' : 'UPDATE',
      cert: item.name,
      subject: now.subject || item.after.subject,
      serial: now.serial || undefined,
      notAfter: now.notAfter || undefined,
      ...(created ? {} : { oldSerial: item.before.serial, oldNotAfter: item.before.notAfter ?? undefined }),
      ...(pathOf(plan, item.name) ? { path: pathOf(plan, item.name) } : {}),
      ...(applied ? {} : { detail: `not in place: the file holds the old certificate (the new serial ${item.after.serial} was not kept)` }),
    };
  });
  return [...(plan.audit ?? []).map((entry) => (applied ? entry : { ...entry, detail: `not in place: ${entry.detail ?? 'the run did not complete'}` })), ...items];
}

/**
 * After a rollback or a resume: the certificate each file of the run holds now (keys are skipped), and REVOKE for
 * a certificate file the run had created and the rollback removed.
 */
export function journalEntries(host: Host, journal: Pick<Journal, 'steps' | 'runId'>, detail?: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  const names = namesInLog(host, journal.runId);
  for (const step of journal.steps) {
    if (step.kind === 'symlink') continue;
    const name = names.get(step.hostPath) ?? step.hostPath.split('/').pop()!;
    const certificate = certificateInFile(host, step.hostPath);
    if (certificate) entries.push(certificateEntry('UPDATE', name, certificate, step.hostPath, detail ? { detail } : {}));
    else if (!host.lstat(step.hostPath) && step.before?.kind === 'absent' && /\.(pem|crt)$/.test(step.hostPath)) entries.push({ action: 'REVOKE', cert: name, path: step.hostPath, detail: 'removed: the run had created it' });
  }
  return entries;
}

/** The certificate names the run's own lines gave each path (so a rollback says "apiserver", as the renewal did). */
function namesInLog(host: Host, runId: string): Map<string, string> {
  const names = new Map<string, string>();
  try {
    for (const line of parseLog(readFileSync(auditLogPath(host))).lines) {
      if (line.record?.runId === runId && line.record.path) names.set(line.record.path, line.record.cert);
    }
  } catch {}
  return names;
}

/** The short command name for the log (renew, ca renew, ca rotate start, ...) from a journal's command text. */
export function commandName(command: string): string {
  const text = command.replace(/^wizard /, '').replace(/^rollback of: .*/, 'rollback');
  const rotate = /^ca rotate --phase (\S+)/.exec(text);
  if (rotate) return `ca rotate ${rotate[1]}`;
  return /^(ca \S+|\S+)/.exec(text)?.[1] ?? text;
}

/** Append, and turn any failure into a warning: a full disk or a read-only /var must never fail (or undo) the work it records. */
export function recordAudit(host: Host, context: AuditContext, entries: AuditEntry[], warn: (message: string) => void): void {
  try {
    appendAuditEntries(host, context, entries);
  } catch (error) {
    warn(`warning: the audit log was not written: ${ioError(error, `the ${context.command} itself is unaffected`).message}`);
  }
}
