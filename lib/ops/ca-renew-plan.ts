// `ca renew`: re-issue a CA certificate with the SAME key, subject and
// extensions and a new validity (like cfssl -renewca). Every existing leaf
// still verifies: its issuer name and AKI match the renewed CA exactly. The
// Plan has the same shape as a leaf renewal, so backup, journal, restart,
// health and rollback are the same code.
import { CERTIFICATE_AUTHORITIES, CaName, RESTART_ORDER } from '../catalogue/kubeadm.js';
import { RescueError } from '../errors.js';
import type { Host } from '../host/host.js';
import { keyMatchesCertificate } from '../pki/verify.js';
import { identityDifferences, renewalTemplate } from '../pki/renewal.js';
import { issueCertificate } from '../pki/sign.js';
import { Inventory, KUBERNETES_DIR } from './discover.js';
import { withCaData } from './kubeconfig.js';
import { Component, FileChange, RenewPlan } from './renew-plan.js';
import { createHash } from 'node:crypto';

/** Which components read each CA certificate (and so must restart to load the renewed one). */
const READERS: Record<CaName, Component[]> = {
  ca: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
  'front-proxy-ca': ['kube-apiserver'],
  'etcd-ca': ['etcd', 'kube-apiserver'],
};

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export function buildCaRenewPlan(host: Host, inventory: Inventory, options: { names: string[]; all: boolean; durationMs: number }): RenewPlan {
  const now = host.now();
  const known = CERTIFICATE_AUTHORITIES.map((ca) => ca.name as string);
  const names = options.all ? known : options.names;
  if (!names.length) throw new RescueError('USAGE', 'say which CA: --all, or ca, front-proxy-ca, etcd-ca');
  const plan: RenewPlan = { root: host.root, createdAt: now.toISOString(), items: [], changes: [], restart: [], warnings: [] };
  const components = new Set<Component>();
  for (const name of names) {
    if (!known.includes(name)) throw new RescueError('USAGE', `unknown CA "${name}"`, { hint: `CAs: ${known.join(', ')}` });
    const authority = inventory.authorities.find((item) => item.name === name);
    const old = authority?.certificate?.value;
    const key = authority?.key?.value;
    if (!old) throw new RescueError('FILE_NOT_FOUND', `the ${name} CA certificate is missing or unreadable`, { file: authority?.certificate?.hostPath, hint: 'restore it from a backup' });
    if (!key) throw new RescueError('FILE_NOT_FOUND', `the ${name} CA key is not on this host: a CA can only be renewed where its key is`, { file: old && authority?.certificate?.hostPath.replace(/\.crt$/, '.key') });
    if (!keyMatchesCertificate(key, old)) throw new RescueError('CA_MISMATCH', `the ${name} CA key does not match its certificate`, { file: authority.key!.hostPath });
    // Self-signed with the same key: same subject bytes, same SKI, so every leaf's issuer and AKI still match.
    const { certificate } = issueCertificate({ template: renewalTemplate(old, { durationMs: options.durationMs }), subjectKey: key, now });
    const stats = host.lstat(authority.certificate!.hostPath);
    const data = Buffer.from(certificate.pem);
    plan.changes.push({
      hostPath: authority.certificate!.hostPath,
      kind: 'file',
      data,
      mode: (stats?.mode ?? 0o644) & 0o7777,
      uid: stats?.uid ?? 0,
      gid: stats?.gid ?? 0,
      beforeSha256: sha256(host.read(authority.certificate!.hostPath)!),
      afterSha256: sha256(data),
      holdsPrivateKey: false,
      reason: `${name}: renewed CA certificate (same key)`,
    });
    plan.items.push({
      name,
      kind: 'ca',
      ca: name,
      keyAction: 'reuse',
      before: { subject: old.subjectText, issuer: old.issuerText, sans: old.sans.dns, notBefore: old.notBefore.toISOString(), notAfter: old.notAfter.toISOString(), serial: old.serialHex, key: old.key.label },
      after: { subject: certificate.subjectText, issuer: certificate.issuerText, sans: certificate.sans.dns, notBefore: certificate.notBefore.toISOString(), notAfter: certificate.notAfter.toISOString(), serial: certificate.serialHex, key: certificate.key.label },
      differences: identityDifferences(old, certificate),
      notes: [],
    });
    READERS[name as CaName].forEach((component) => components.add(component));
    if (name === 'ca') plan.changes.push(...kubeconfigCaData(host, inventory, certificate.pem));
  }
  plan.restart = RESTART_ORDER.filter((component) => components.has(component));
  return plan;
}

/** Kubeconfigs carry the cluster CA as certificate-authority-data: refresh it to the renewed certificate. */
function kubeconfigCaData(host: Host, inventory: Inventory, caPem: string): FileChange[] {
  const changes: FileChange[] = [];
  for (const item of inventory.items.filter((entry) => entry.kind === 'kubeconfig')) {
    const file = `${KUBERNETES_DIR}/${item.name}`;
    const text = host.read(file)?.toString();
    if (!text) continue;
    const patchedText = withCaData(text, caPem, host.real(file));
    if (!patchedText) continue;
    const patched = Buffer.from(patchedText);
    const stats = host.lstat(file)!;
    const holdsPrivateKey = text.includes('client-key-data');
    changes.push({
      hostPath: file,
      kind: 'file',
      data: patched,
      // A kubeconfig that carries a client key is written 0600, as renew writes it.
      mode: holdsPrivateKey ? 0o600 : stats.mode & 0o7777,
      uid: stats.uid,
      gid: stats.gid,
      beforeSha256: sha256(text),
      afterSha256: sha256(patched),
      holdsPrivateKey,
      reason: `${item.name}: certificate-authority-data -> renewed CA`,
    });
  }
  return changes;
}
