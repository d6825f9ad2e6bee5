// The audit lines of the seed commands (webhook, vcluster reset, cert-manager
// doctor --apply): what each changed, in seed 004's terms.
import type { Host } from '../../host/host.js';
import type { Certificate } from '../../pki/certificate.js';
import { certificateEntry, certificateInFile, recordAudit } from './entries.js';
import type { AuditEntry, AuditResult } from './record.js';

type Log = (message: string) => void;

/** webhook: a new serving cert (UPDATE of the webhook's Secret) and, when one was made, a new CA (CREATE). */
export function recordWebhookRenewal(host: Host, target: { namespace: string; secretName: string; service: string }, material: { ca: Certificate; caKeyPem?: string; serving: Certificate }, files: { out: string; applied: boolean }, log: Log): void {
  const secret = `${target.namespace}/${target.secretName}`;
  const where = files.applied ? 'applied with kubectl' : `written to ${files.out} (not applied yet: apply.sh)`;
  const entries: AuditEntry[] = [
    ...(material.caKeyPem ? [certificateEntry('CREATE', `${secret} ca`, material.ca, `${files.out}/ca.crt`, { detail: `new webhook CA; caBundle ${where}` })] : []),
    certificateEntry('UPDATE', secret, material.serving, `${files.out}/tls.crt`, { detail: `serving cert for service ${target.namespace}/${target.service}; Secret ${where}` }),
  ];
  recordAudit(host, { command: 'webhook', result: 'ok' }, entries, log);
}

/** vcluster reset: every certificate of the persisted pki is taken out of use (REVOKE); vcluster makes new ones. */
export function recordVclusterReset(host: Host, reset: { pkiDir: string; movedTo: string; backup: string }, log: Log): void {
  const entries = host
    .list(reset.movedTo)
    .filter((name) => /\.(crt|pem)$/.test(name))
    .flatMap((name) => {
      const certificate = certificateInFile(host, `${reset.movedTo}/${name}`);
      return certificate ? [certificateEntry('REVOKE', name, certificate, `${reset.pkiDir}/${name}`, { detail: `moved aside to ${reset.movedTo}; vcluster generates a new pki` })] : [];
    });
  recordAudit(host, { command: 'vcluster reset', result: 'ok', backup: reset.backup }, entries, log);
}

/** cert-manager doctor --apply: each Certificate whose re-issuance was triggered (UPDATE), with its current expiry. */
export function recordCertManagerFixes(host: Host, fixed: { namespace: string; name: string; diagnosis: string; request?: string; notAfter?: string }[], result: AuditResult, backup: string | undefined, log: Log): void {
  const entries = fixed.map((finding): AuditEntry => ({
    action: 'UPDATE',
    cert: `${finding.namespace}/${finding.name}`,
    path: `certificates.cert-manager.io/${finding.namespace}/${finding.name}`,
    ...(finding.notAfter ? { notAfter: finding.notAfter } : {}),
    detail: `${finding.diagnosis}: ${finding.request ? `deleted request ${finding.request}, ` : ''}re-issuance triggered`,
  }));
  recordAudit(host, { command: 'cert-manager doctor', result, backup }, entries, log);
}
