// The audit trail (seed 004's cert_audit): one JSON line per mutating run in
// /var/lib/rescue-kit/audit.log — who, when, which certificates (old and new
// serial and expiry), the result and the backup. Appended and fsynced; 0600.
import { closeSync, constants, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { Host } from '../../host/host.js';

export const AUDIT_LOG = '/var/lib/rescue-kit/audit.log';

export interface AuditRecord {
  time: string;
  runId?: string;
  command: string;
  /** The person behind sudo when there is one. */
  operator: string;
  host: string;
  result: 'ok' | 'rolled-back' | 'failed';
  certificates: { name: string; action: 'renew' | 'rollback'; oldSerial?: string; newSerial?: string; oldNotAfter?: string; newNotAfter?: string }[];
  backup?: string;
  detail?: string;
}

export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {}
  return env.SUDO_USER ? `${env.SUDO_USER} (as ${user})` : user;
}

export function appendAudit(host: Host, record: Omit<AuditRecord, 'time' | 'operator' | 'host'>): void {
  const line = `${JSON.stringify({ time: host.now().toISOString(), operator: operatorName(), host: hostname(), ...record })}\n`;
  const path = host.real(AUDIT_LOG);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  try {
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
