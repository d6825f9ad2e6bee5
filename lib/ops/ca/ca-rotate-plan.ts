// `ca rotate`: replace the cluster CA's key without an outage, in two phases,
// each its own Plan (backup, journal, restart, rollback like renew).
//  start:  a new CA key + certificate; pki/ca.crt and every kubeconfig's
//          certificate-authority-data become a bundle [new, old], so clients
//          trust servers signed by either; every leaf of that CA is re-issued
//          from the new key; the old pair is kept as pki/ca.old.{crt,key}.
//  finish: ca.crt and the kubeconfigs trust only the new CA; the old pair goes.
import { caSpec, KUBECONFIGS, LEAF_CERTIFICATES, PKI_DIR, RESTART_ORDER } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { parseCertificates } from '../../pki/certificate.js';
import { exportPrivateKeyPem, describeKey, generateKey, keysMatch } from '../../pki/keys.js';
import { renewalTemplate } from '../../pki/renewal.js';
import { issueCertificate } from '../../pki/sign.js';
import { Inventory } from '../inventory/discover.js';
import { certificateEntry, type AuditedPlan } from '../audit/entries.js';
import { buildRenewPlan, Component, fileChange, FileChange, kubeconfigCaDataChanges } from '../renewal/renew-plan.js';

const CA_CRT = caSpec('ca').storage.certificate;
const CA_KEY = caSpec('ca').storage.key;
const OLD_CRT = `${PKI_DIR}/ca.old.crt`;
const OLD_KEY = `${PKI_DIR}/ca.old.key`;
/** Everything that reads ca.crt or holds a cert signed by it. */
const RESTART: Component[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'];


export async function buildCaRotateStart(host: Host, inventory: Inventory, durationMs: number): Promise<AuditedPlan> {
  const authority = inventory.authorities.find((item) => item.name === 'ca');
  const old = authority?.certificate?.value;
  const oldKey = authority?.key?.value;
  if (!old || !oldKey) throw new RescueError('FILE_NOT_FOUND', 'the cluster CA certificate and key must both be on this host to rotate', { file: host.real(CA_KEY) });
  if (host.read(OLD_CRT)) throw new RescueError('INTERRUPTED_RUN', 'a CA rotation is already in its transition phase (pki/ca.old.crt exists)', { hint: 'finish it first: rescue-kit ca rotate --phase finish' });
  const now = host.now();
  const { algo, size } = describeKey(old.publicKey);
  const newKey = await generateKey({ algo, size });
  // Same subject, new key: clients pick the right one of the two by signature (and AKI).
  const { certificate: newCa } = issueCertificate({ template: renewalTemplate(old, { durationMs }), subjectKey: newKey, now });
  const bundle = newCa.pem + old.pem;
  // Re-issue every leaf of the cluster CA from the new key, kubeconfigs carrying the bundle.
  const rotated: Inventory = {
    ...inventory,
    authorities: inventory.authorities.map((item) => (item.name === 'ca' ? { ...item, certificate: { ...item.certificate!, value: newCa }, key: { ...item.key!, value: newKey } } : item)),
  };
  const names = [...LEAF_CERTIFICATES.filter((leaf) => leaf.ca === 'ca').map((leaf) => leaf.name), ...KUBECONFIGS.map((spec) => spec.name)].filter((name) =>
    inventory.items.some((item) => item.name === name && item.certificate?.value),
  );
  const leafPlan = await buildRenewPlan(host, rotated, { names, all: false, durationMs: 365 * 86_400_000, newKey: false, caBundlePem: bundle, beyondCa: 'cap' });
  const changes = [
    fileChange(host, OLD_CRT, Buffer.from(old.pem), false, 'keep the old CA certificate for the finish phase'),
    fileChange(host, OLD_KEY, Buffer.from(exportPrivateKeyPem(oldKey)), true, 'keep the old CA key for the finish phase'),
    fileChange(host, CA_CRT, Buffer.from(bundle), false, 'ca.crt = [new CA, old CA]: trust both during the transition'),
    fileChange(host, CA_KEY, Buffer.from(exportPrivateKeyPem(newKey)), true, 'ca.key = the new CA key (signs from now on)'),
    ...leafPlan.changes,
  ];
  const audit = [certificateEntry('CREATE', 'ca', newCa, CA_CRT, { detail: `new CA key; ca.crt trusts [new, old] until the finish phase` })];
  return { ...leafPlan, items: leafPlan.items, changes, audit, restart: RESTART_ORDER.filter((component) => RESTART.includes(component) || leafPlan.restart.includes(component)) };
}

export function buildCaRotateFinish(host: Host, inventory: Inventory): AuditedPlan {
  const oldPem = host.read(OLD_CRT);
  const bundle = host.read(CA_CRT);
  const key = inventory.authorities.find((item) => item.name === 'ca')?.key?.value;
  if (!oldPem || !bundle || !key) throw new RescueError('USAGE', 'no CA rotation in progress (pki/ca.old.crt is absent)', { hint: 'start one: rescue-kit ca rotate --phase start' });
  const newCa = parseCertificates(bundle).find((certificate) => keysMatch(key, certificate.publicKey));
  if (!newCa) throw new RescueError('CA_MISMATCH', 'pki/ca.key matches no certificate in pki/ca.crt', { file: host.real(CA_CRT), hint: 'roll back the start phase: rescue-kit rollback' });
  const changes: FileChange[] = [
    fileChange(host, CA_CRT, Buffer.from(newCa.pem), false, 'ca.crt = the new CA only'),
    ...kubeconfigCaDataChanges(host, newCa.pem, 'trust the new CA only'),
    fileChange(host, OLD_CRT, undefined, false, 'drop the old CA certificate'),
    fileChange(host, OLD_KEY, undefined, false, 'drop the old CA key'),
  ];
  const summary = { subject: newCa.subjectText, issuer: newCa.issuerText, sans: newCa.sans.dns, notBefore: newCa.notBefore.toISOString(), notAfter: newCa.notAfter.toISOString(), serial: newCa.serialHex, key: newCa.key.label };
  const distrusted = parseCertificates(oldPem).filter((certificate) => certificate.serialHex !== newCa.serialHex);
  return {
    audit: distrusted.map((old) => certificateEntry('REVOKE', 'ca', old, OLD_CRT, { detail: 'old CA distrusted: ca.crt and every kubeconfig now trust only the new CA; its key is removed' })),
    root: host.root,
    createdAt: host.now().toISOString(),
    items: [{ name: 'ca', kind: 'ca', ca: 'ca', keyAction: 'new', before: summary, after: summary, differences: [], notes: ['the old CA is no longer trusted'] }],
    changes,
    restart: RESTART_ORDER.filter((component) => RESTART.includes(component)),
    warnings: [],
  };
}
