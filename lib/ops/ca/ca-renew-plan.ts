// `ca renew`: re-issue a CA certificate with the SAME key, subject and
// extensions and a new validity (like cfssl -renewca). Every existing leaf
// still verifies: its issuer name and AKI match the renewed CA exactly. The
// Plan has the same shape as a leaf renewal, so backup, journal, restart,
// health and rollback are the same code.
import { CERTIFICATE_AUTHORITIES, CaName, RESTART_ORDER } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { keyMatchesCertificate } from '../../pki/verify.js';
import { identityDifferences, renewalTemplate } from '../../pki/renewal.js';
import { issueCertificate } from '../../pki/sign.js';
import { Inventory } from '../inventory/discover.js';
import { Component, fileChange, kubeconfigCaDataChanges, RenewPlan } from '../renewal/renew-plan.js';

/** Which components read each CA certificate (and so must restart to load the renewed one). */
const READERS: Record<CaName, Component[]> = {
  ca: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
  'front-proxy-ca': ['kube-apiserver'],
  'etcd-ca': ['etcd', 'kube-apiserver'],
};

export function buildCaRenewPlan(host: Host, inventory: Inventory, options: { names: string[]; all: boolean; durationMs: number }): RenewPlan {
  const now = host.now();
  // kubeadm's three CAs by name; a folder's (a binary install, seed 004) are its CA files, found by CA:TRUE.
  const folder = inventory.layout !== 'kubeadm';
  const known = folder ? inventory.authorities.map((ca) => ca.name) : CERTIFICATE_AUTHORITIES.map((ca) => ca.name as string);
  const names = options.all ? (folder ? inventory.authorities.filter((ca) => ca.key?.value).map((ca) => ca.name) : known) : options.names.map((name) => (folder ? folderCaName(known, name) : name));
  if (!names.length) throw new RescueError('USAGE', folder ? 'say which CA: --all, or CA files of the folder' : 'say which CA: --all, or ca, front-proxy-ca, etcd-ca', { hint: known.length ? `CAs: ${known.join(', ')}` : 'no CA certificate (CA:TRUE) was found there' });
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
    plan.changes.push(fileChange(host, authority.certificate!.hostPath, Buffer.from(certificate.pem), false, `${name}: renewed CA certificate (same key)`));
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
    (folder ? FOLDER_READERS : READERS[name as CaName]).forEach((component) => components.add(component));
    // The kubeconfigs that trust this CA carry its certificate: refresh it (kubeadm's ca; a folder's *.kubeconfig signed by it).
    const kubeconfigs = folder ? inventory.items.filter((item) => item.kind === 'kubeconfig' && item.caName === name).map((item) => item.name) : name === 'ca' ? undefined : [];
    plan.changes.push(...kubeconfigCaDataChanges(host, certificate.pem, 'certificate-authority-data -> renewed CA', kubeconfigs));
  }
  plan.restart = RESTART_ORDER.filter((component) => components.has(component));
  return plan;
}

/** A binary install's control plane reads its CA (seed 004 restarts these three). */
const FOLDER_READERS: Component[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/** A CA named as given (ca.pem, or its path) among the folder's CAs. */
function folderCaName(known: string[], given: string): string {
  return known.find((name) => name === given || name.endsWith(`/${given.replace(/^\.\//, '')}`)) ?? given;
}
