// The renewal Plan: for each chosen certificate, the new certificate (same
// subject, SANs, usages, issuer; new validity; same key unless --new-key) and
// every file write it takes — pki files, kubeconfig values edited in place,
// the kubelet's rotated cert and symlink — plus the restart order.
// Nothing here writes: apply.ts does, after a backup and a journal.
import { KeyObject } from 'node:crypto';
import { caSpec, CaName, ClusterFacts, KUBECONFIGS, KUBELET_SERVING_CERT, LEAF_CERTIFICATES, leafSpec, RESTART_ORDER, renewableNames, sansFor } from '../../catalogue/kubeadm.js';
import { isRescueError, RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { Certificate } from '../../pki/certificate.js';
import { describeKey, exportPrivateKeyPem, generateKey } from '../../pki/keys.js';
import { identityDifferences, renewalTemplate } from '../../pki/renewal.js';
import { emptySans, SubjectAltNames } from '../../pki/san.js';
import { issueCertificate } from '../../pki/sign.js';
import { isIssuedBy, keyMatchesCertificate } from '../../pki/verify.js';
import { Inventory, InventoryItem } from '../inventory/discover.js';

/** The kubelet's serving certificate (self-signed by the kubelet unless serverTLSBootstrap). */
export { KUBELET_SERVING_CERT };
import { NotRenewed, notRenewedFrom } from './not-renewed.js';
import { kubeletNodeName, remintKubeletClient, remintReason } from './kubelet-remint.js';
import { currentFingerprint, FileChange, fileChange, kubeconfigChanges } from './file-changes.js';
export { currentFingerprint, fileChange, kubeconfigCaDataChanges, modeFor } from './file-changes.js';
export type { FileChange } from './file-changes.js';

export type Component = (typeof RESTART_ORDER)[number];

export interface CertificateSummary {
  subject: string;
  issuer: string;
  sans: string[];
  /** null for a key pair (the sa key): it has no validity at all. '' when there is nothing (a missing cert). */
  notBefore: string | null;
  notAfter: string | null;
  serial: string;
  key: string;
}

export interface RenewItem {
  name: string;
  kind: InventoryItem['kind'];
  ca: string;
  keyAction: 'reuse' | 'new';
  before: CertificateSummary;
  after: CertificateSummary;
  /** Identity changes (only --add-san should cause any). */
  differences: string[];
  /** Where the kept identity differs from what kubeadm would write today: shown, never "fixed". */
  notes: string[];
}

export interface RenewPlan {
  root: string;
  createdAt: string;
  items: RenewItem[];
  /** `--all` only: expected certificates that cannot be renewed (a named renewal fails on the first instead). */
  notRenewed?: NotRenewed[];
  changes: FileChange[];
  restart: Component[];
  warnings: string[];
  /** Files the plan was made from but does not change (reused keys, the CAs): re-checked before the first write. */
  inputs?: { hostPath: string; sha256: string }[];
}

export interface RenewOptions {
  names: string[];
  all: boolean;
  durationMs: number;
  newKey: boolean;
  addSans?: SubjectAltNames;
  /** Which certificates get addSans (default: the apiserver's serving cert only — never etcd's by accident). */
  addSanTo?: string[];
  beyondCa?: 'cap' | 'refuse';
  /** What kubeconfigs' certificate-authority-data should hold (default: the cluster CA). A rotation passes old+new. */
  caBundlePem?: string;
  /** The node a re-minted kubelet client cert is for (default: kubelet.conf's user system:node:NAME). */
  nodeName?: string;
  /** `--all` on a tree where nothing expires soon is refused unless forced (a second run by mistake). */
  force?: boolean;
}

/** `--all` re-issues only when something needs it: a certificate expiring within this window, or one that is missing or broken. */
export const FRESH_WINDOW_MS = 30 * 86_400_000;

/** What a plan shows of a certificate (before and after). */
export function summary(certificate: Certificate): CertificateSummary {
  const { dns, ips, emails, uris } = certificate.sans;
  return {
    subject: certificate.subjectText,
    issuer: certificate.issuerText,
    sans: [...dns, ...ips, ...emails, ...uris],
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    serial: certificate.serialHex,
    key: certificate.key.label,
  };
}

/**
 * Which names to renew. `--all` on a kubeadm tree means every certificate the catalogue expects there, present or
 * not: the ones that cannot be renewed end up in plan.notRenewed, never silently left out.
 */
export function selectNames(inventory: Inventory, options: Pick<RenewOptions, 'names' | 'all'>): string[] {
  // A folder of PEMs (a binary install, seed 004) has no catalogue: its names are the files, signed by a CA found beside them.
  const known =
    inventory.layout === 'kubeadm'
      ? renewableNames(99)
      : inventory.items.filter((item) => item.caName && item.certificate?.value).map((item) => item.name);
  const present = inventory.items.filter((item) => (item.expected || inventory.layout !== 'kubeadm') && known.includes(item.name) && item.certificate).map((item) => item.name);
  // The kubelet's own serving cert (self-signed, or CA-signed with serverTLSBootstrap): kubeadm never renews it.
  const kubeletServing = inventory.items.some((item) => item.name === KUBELET_SERVING_CERT && item.certificate?.value) ? [KUBELET_SERVING_CERT] : [];
  if (options.all && inventory.layout === 'kubeadm') return [...known.filter((name) => inventory.items.some((item) => item.name === name && item.expected)), ...kubeletServing];
  if (options.all) return known.filter((name) => present.includes(name));
  if (options.names.length === 0) throw new RescueError('USAGE', 'say what to renew: --all, or names', { hint: `names: ${known.join(', ')}` });
  for (const name of options.names) {
    if (!known.includes(name) && !kubeletServing.includes(name)) throw new RescueError('USAGE', `unknown certificate "${name}"${didYouMean(name, [...known, ...kubeletServing])}`, { hint: `names: ${known.join(', ')}` });
  }
  return [...new Set(options.names)];
}

/**
 * --add-san goes to the apiserver's serving cert (kubeadm's `apiserver`; in a folder, the cert that names
 * kubernetes / kubernetes.default), or to the certificates --add-san-to names — never to etcd's by accident.
 */
function sansToAdd(name: string, old: Certificate, inventory: Inventory, options: RenewOptions): SubjectAltNames {
  if (!options.addSans) return emptySans();
  const apiserver = inventory.layout === 'kubeadm' ? name === 'apiserver' : old.sans.dns.some((dns) => dns === 'kubernetes' || dns === 'kubernetes.default');
  const chosen = options.addSanTo ? options.addSanTo.includes(name) : apiserver;
  if (!chosen) return emptySans();
  if (!old.extKeyUsage.includes('server auth')) {
    throw new RescueError('USAGE', `--add-san-to ${name}: it is not a serving certificate (no server auth), so SANs would change nothing`, { hint: 'name serving certificates only (apiserver, etcd-server, etcd-peer)' });
  }
  return options.addSans;
}

/**
 * A second `renew --all` minutes after the first would silently re-issue every certificate (new serials, new
 * restarts) for nothing: when every one is readable and has more than 30 days left, ask for --force.
 */
function assertSomethingToRenew(inventory: Inventory, names: string[], now: Date): void {
  const certificates = names.map((name) => inventory.items.find((item) => item.name === name)?.certificate?.value);
  if (!certificates.length || certificates.some((certificate) => !certificate || certificate.notAfter.getTime() - now.getTime() <= FRESH_WINDOW_MS)) return;
  const soonest = certificates.reduce((a, b) => (a!.notAfter < b!.notAfter ? a : b))!;
  const days = Math.floor((soonest.notAfter.getTime() - now.getTime()) / 86_400_000);
  throw new RescueError('PRECONDITION', `nothing needs renewing: all ${certificates.length} certificates are readable and valid for more than 30 days (the soonest ends in ${days} days)`, {
    hint: 'renew anyway (e.g. to rotate keys) with --force, or name the certificates to renew',
  });
}

/** "did you mean apiserver-etcd-client?" for a typo, "did you mean --all?" for `renew all`. */
function didYouMean(name: string, known: string[]): string {
  if (['all', '-all', '*'].includes(name)) return ': did you mean --all?';
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length]!;
  };
  const [closest] = known.map((candidate) => ({ candidate, score: distance(name, candidate) })).sort((x, y) => x.score - y.score);
  return closest && closest.score <= Math.max(2, Math.floor(name.length / 4)) ? `: did you mean ${closest.candidate}?` : '';
}

/** What a binary install restarts after its certs change (seed 004: systemctl restart kube-apiserver kube-controller-manager kube-scheduler). */
function folderComponents(paths: string[]): Component[] {
  const components: Component[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
  if (paths.some((path) => /etcd/.test(path))) components.unshift('etcd');
  return components;
}

/** Which control-plane component reads a binary install's kubeconfig, from its client cert's CN (workers' and kube-proxy's restart elsewhere). */
function folderKubeconfigComponents(certificate: Certificate): Component[] {
  const byCommonName: Record<string, Component> = { 'system:kube-controller-manager': 'kube-controller-manager', 'system:kube-scheduler': 'kube-scheduler' };
  const component = byCommonName[certificate.commonName ?? ''];
  return component ? [component] : [];
}

/** One certificate's share of a plan, merged only once all of it is built (so a failure leaves no half entry). */
interface PlannedRenewal {
  item: RenewItem;
  changes: FileChange[];
  warnings: string[];
  components: Component[];
  inputs: ({ hostPath: string; embedded: boolean } | undefined)[];
}

interface PlanContext {
  now: Date;
  facts: ClusterFacts | undefined;
  minor: number;
}

export async function buildRenewPlan(host: Host, inventory: Inventory, options: RenewOptions): Promise<RenewPlan> {
  const now = host.now();
  const names = selectNames(inventory, options);
  if (options.all && !options.force) assertSomethingToRenew(inventory, names, now);
  const plan: RenewPlan = { root: host.root, createdAt: now.toISOString(), items: [], notRenewed: [], changes: [], restart: [], warnings: [] };
  const context: PlanContext = { now, facts: clusterFacts(inventory), minor: inventory.cluster.minor ?? 28 };
  const components = new Set<Component>();
  for (const name of names) {
    let part: PlannedRenewal;
    try {
      part = await planRenewal(host, inventory, name, options, context);
    } catch (error) {
      // --all renews what it can: one certificate's problem is listed (and exits 3 at the end), not fatal to the rest.
      // Named certificates keep failing on the first problem: the operator asked for exactly those.
      if (!options.all || !isRescueError(error) || error.code === 'INTERNAL') throw error;
      plan.notRenewed!.push(notRenewedFrom(name, error));
      continue;
    }
    plan.items.push(part.item);
    plan.changes.push(...part.changes);
    plan.warnings.push(...part.warnings);
    part.components.forEach((component) => components.add(component));
    part.inputs.forEach((material) => recordInput(host, plan, material));
  }
  plan.restart = RESTART_ORDER.filter((component) => components.has(component));
  return plan;
}

async function planRenewal(host: Host, inventory: Inventory, name: string, options: RenewOptions, { now, facts, minor }: PlanContext): Promise<PlannedRenewal> {
  const item = inventory.items.find((entry) => entry.name === name && (entry.expected || inventory.layout !== 'kubeadm' || name === KUBELET_SERVING_CERT));
  const old = item?.certificate?.value;
  if (!item || !item.certificate) {
    throw new RescueError('FILE_NOT_FOUND', `${name} is missing on this host: there is no certificate to renew`, { hint: 'restore it from a backup (rescue-kit restore), or recreate it with kubeadm init phase certs' });
  }
  if (!old && remintReason(item)) return planKubeletRemint(host, inventory, item, options, now);
  if (!old) {
    // Embedded: the kubeconfig itself is the problem (bad YAML, no user with a client cert), not a PEM file.
    throw new RescueError(item.certificate.embedded ? 'INVALID_CONFIG' : 'INVALID_PEM', `${name}: ${item.certificate.error}`, { file: item.certificate.hostPath, hint: 'restore the file from a backup (rescue-kit restore)' });
  }
  // No CA on this host signed it (the kubelet's serving cert: self-signed, or signed by a throwaway CA whose key
  // the kubelet discarded): it is re-signed by its own key, which is what the kubelet itself would make.
  const selfSigned = !item.caName && name === KUBELET_SERVING_CERT;
  const issuer = selfSigned ? undefined : signerFor(inventory, item);
  const key = await keyFor(item, old, options.newKey);
  const authority = inventory.authorities.find((ca) => ca.name === item.caName);
  const template = renewalTemplate(old, { durationMs: options.durationMs, addSans: sansToAdd(name, old, inventory, options) });
  const { certificate, warnings } = withName(name, item.caName, () => issueCertificate({ template, subjectKey: key.key, issuer, now, beyondIssuer: options.beyondCa }));
  const part: PlannedRenewal = {
    item: {
      name,
      kind: item.kind,
      ca: item.caName ?? '',
      keyAction: key.fresh ? 'new' : 'reuse',
      before: summary(old),
      after: summary(certificate),
      differences: identityDifferences(old, certificate),
      notes: [...kubeadmNotes(name, old, facts, minor), ...(selfSigned && !isIssuedBy(old, old) ? [`was signed by the kubelet's throwaway CA (${old.issuerText}); now self-signed by its own key, as the kubelet makes it`] : [])],
    },
    changes: [],
    warnings: warnings.map((warning) => `${name}: ${warning}`),
    components: [],
    inputs: [authority?.certificate, authority?.key, key.fresh ? undefined : item.key],
  };
  const leaf = leafSpec(name);
  const kubeconfig = KUBECONFIGS.find((spec) => spec.name === name);
  if (leaf) {
    part.components.push(leaf.component);
    part.changes.push(fileChange(host, item.certificate.hostPath, Buffer.from(certificate.pem), false, `${name}: new certificate`));
    if (key.fresh) part.changes.push(fileChange(host, keyPathFor(item)!, Buffer.from(exportPrivateKeyPem(key.key)), true, `${name}: new key`));
  } else if (kubeconfig || item.kind === 'kubeconfig') {
    // kubeadm's by the catalogue; a folder's (*.kubeconfig of a binary install) by the component its client cert is for.
    part.components.push(...(kubeconfig ? (kubeconfig.component === 'admin' ? [] : [kubeconfig.component]) : folderKubeconfigComponents(old)));
    part.changes.push(...kubeconfigChanges(host, inventory, item, certificate, key, now, options.caBundlePem));
  } else {
    // A PEM from a scanned folder (or the kubelet's serving cert): rewrite it in place (cert and key together when they share the file).
    part.components.push(...(name === KUBELET_SERVING_CERT ? (['kubelet'] as Component[]) : folderComponents([item.certificate.hostPath])));
    const keyPem = exportPrivateKeyPem(key.key);
    const combined = item.key?.hostPath === item.certificate.hostPath;
    part.changes.push(fileChange(host, item.certificate.hostPath, Buffer.from(combined ? certificate.pem + keyPem : certificate.pem), combined, `${name}: new certificate`));
    if (key.fresh && !combined) part.changes.push(fileChange(host, item.key?.hostPath ?? item.certificate.hostPath.replace(/\.(crt|pem|cert)$/, '.key'), Buffer.from(keyPem), true, `${name}: new key`));
  }
  return part;
}

/** kubelet.conf with its client cert gone: a new one for the node, written where kubelet.conf expects it. */
async function planKubeletRemint(host: Host, inventory: Inventory, item: InventoryItem, options: RenewOptions, now: Date): Promise<PlannedRenewal> {
  const reason = remintReason(item)!;
  const issuer = signerFor(inventory, item);
  const nodeName = kubeletNodeName(inventory, item, options.nodeName);
  const minted = await remintKubeletClient(item, nodeName, issuer, { durationMs: options.durationMs, now, beyondCa: options.beyondCa });
  const authority = inventory.authorities.find((ca) => ca.name === item.caName);
  const missing: CertificateSummary = { subject: '', issuer: '', sans: [], notBefore: '', notAfter: '', serial: '', key: 'none' };
  return {
    item: {
      name: item.name,
      kind: item.kind,
      ca: item.caName ?? 'ca',
      keyAction: 'new',
      before: missing,
      after: summary(minted.certificate),
      differences: [],
      notes: [`re-minted: the old cert was missing (${reason}); new client cert for node ${nodeName} (system:node:${nodeName}, O=system:nodes)`],
    },
    changes: kubeconfigChanges(host, inventory, item, minted.certificate, { key: minted.key, fresh: true }, now, options.caBundlePem),
    warnings: minted.warnings.map((warning) => `${item.name}: ${warning}`),
    components: ['kubelet'],
    inputs: [authority?.certificate, authority?.key],
  };
}

/** Remember the fingerprint of a file the plan read but will not write (its own file when embedded). */
function recordInput(host: Host, plan: RenewPlan, material: { hostPath: string; embedded: boolean } | undefined): void {
  if (!material || material.embedded) return;
  plan.inputs ??= [];
  if (plan.inputs.some((input) => input.hostPath === material.hostPath)) return;
  const sha = currentFingerprint(host, material.hostPath, 'file');
  if (sha) plan.inputs.push({ hostPath: material.hostPath, sha256: sha });
}

/** A CA problem (expired, too short) names the certificate and the CA it concerns. */
function withName<T>(name: string, caName: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RescueError) throw new RescueError(error.code, `${name}: the ${caName} CA: ${error.message}`, { hint: error.hint, file: error.file, cause: error });
    throw error;
  }
}

function signerFor(inventory: Inventory, item: InventoryItem) {
  const ca = inventory.authorities.find((authority) => authority.name === item.caName);
  const caFile = ca?.certificate?.hostPath ?? (item.caName ? (caSpec(item.caName as CaName)?.storage.certificate ?? 'the CA') : 'the CA');
  if (!ca?.certificate?.value) throw new RescueError('FILE_NOT_FOUND', `${item.name}: its CA (${item.caName}) is missing or unreadable`, { file: caFile, hint: 'restore the CA from a backup' });
  if (!ca.key?.value) {
    throw new RescueError('FILE_NOT_FOUND', `${item.name}: the ${item.caName} CA key is not on this host (externally managed CA)`, {
      file: ca.certificate.hostPath.replace(/\.crt$/, '.key'),
      hint: 'sign the CSR where the CA key lives (rescue-kit sign), or copy the CA key here for the rescue',
    });
  }
  const certificate = ca.certificate.value;
  if (!keyMatchesCertificate(ca.key.value, certificate)) throw new RescueError('CA_MISMATCH', `the ${item.caName} CA key does not match its certificate`, { file: ca.key.hostPath, hint: 'restore the CA pair from a backup' });
  return { certificate, key: ca.key.value };
}

const KEY_HINT = 'restore the key from a backup (rescue-kit restore), or renew with --new-key to make a new one';

/** Where a pki leaf's key is (or, when it is missing, belongs): --new-key writes it there. */
function keyPathFor(item: InventoryItem): string | undefined {
  return item.key?.hostPath ?? leafSpec(item.name)?.storage.key;
}

async function keyFor(item: InventoryItem, old: Certificate, newKey: boolean): Promise<{ key: KeyObject; fresh: boolean }> {
  if (!newKey) {
    const key = item.key?.value;
    // A key that is there but unusable (empty, truncated, encrypted, a directory) is not "missing": say what is wrong.
    if (item.key?.error) throw new RescueError('INVALID_KEY', `${item.name}: its private key cannot be used: ${item.key.error}`, { file: item.key.hostPath, hint: KEY_HINT });
    if (!key) throw new RescueError('FILE_NOT_FOUND', `${item.name}: its private key is missing`, { file: keyPathFor(item), hint: KEY_HINT });
    if (!keyMatchesCertificate(key, old)) throw new RescueError('KEY_MISMATCH', `${item.name}: the private key does not match the certificate`, { file: item.key?.hostPath, hint: 'renew with --new-key, or restore the matching key' });
    return { key, fresh: false };
  }
  const { algo, size } = describeKey(old.publicKey);
  return { key: await generateKey({ algo, size }), fresh: true };
}

function clusterFacts(inventory: Inventory): ClusterFacts | undefined {
  const { nodeName, advertiseAddress } = inventory.cluster;
  if (!nodeName || !advertiseAddress) return undefined;
  return { nodeName, advertiseAddress, serviceIp: '10.96.0.1', dnsDomain: 'cluster.local', extraApiserverSans: [] };
}

/** What kubeadm would write today that the kept certificate does not say (shown, never applied). */
function kubeadmNotes(name: string, old: Certificate, facts: ClusterFacts | undefined, minor: number): string[] {
  const notes: string[] = [];
  const spec = LEAF_CERTIFICATES.find((entry) => entry.name === name) ?? KUBECONFIGS.find((entry) => entry.name === name);
  if (!spec || !facts) return notes;
  const expectedCn = spec.commonName(facts);
  if (old.commonName !== expectedCn) notes.push(`keeps CN=${old.commonName}; kubeadm 1.${minor} would write CN=${expectedCn}`);
  const organizations = old.subject.filter((attribute) => attribute.type === 'O').map((attribute) => attribute.value);
  const expectedO = spec.organizations(minor);
  if (JSON.stringify(organizations) !== JSON.stringify(expectedO)) notes.push(`keeps O=[${organizations.join(', ')}]; kubeadm 1.${minor} would write O=[${expectedO.join(', ')}]`);
  if ('sans' in spec && spec.sans !== 'none') {
    const have = new Set([...old.sans.dns, ...old.sans.ips]);
    const missing = sansFor(spec.sans, facts).filter((san) => !have.has(san));
    if (missing.length) notes.push(`kubeadm would also include SANs ${missing.join(', ')} (add with --add-san)`);
  }
  return notes;
}

/** The plan as JSON: no private key bytes, ever. */
export function planJson(plan: RenewPlan) {
  return {
    ...plan,
    notRenewed: plan.notRenewed ?? [],
    changes: plan.changes.map(({ data: _data, ...change }) => change),
  };
}
