// `ca rotate CA... --phase trust|reissue|distrust`: replace a CA's key (or the service-account key)
// with no moment where a client, peer or token is rejected. Each phase is one ordinary plan (backup,
// journal, restart in order, health gates, rollback) and is run on every node before the next starts:
//  trust:    a new key + CA (same subject and algorithm); every file that trusts it holds both.
//            The bundle is [old, new] in this phase: the CA file's first certificate must stay the
//            one ca.key signs with (the controller-manager loads them as a pair). Nothing is re-signed.
//  reissue:  every leaf re-signed by the new key, identity kept; the CA pair is now the new one and
//            the bundle [new, old] (old leaves on other nodes still verify).
//  distrust: the old CA leaves every bundle; refused while a leaf here, or a known node, still needs it.
// sa: sa.pub holds both public keys (the apiserver verifies tokens of either) from trust to distrust;
// sa.key (the signer) becomes the new key at reissue.
import { createPublicKey, KeyObject } from 'node:crypto';
import { posix } from 'node:path';
import { caSpec, CaName, KUBECONFIGS, LEAF_CERTIFICATES, PKI_DIR, RESTART_ORDER, SERVICE_ACCOUNT_KEY } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { Certificate, parseCertificates } from '../../pki/certificate.js';
import { describeKey, exportPrivateKeyPem, generateKey, keysMatch, parsePrivateKey, publicKeyOf, spkiDer } from '../../pki/keys.js';
import { renewalTemplate } from '../../pki/renewal.js';
import { issueCertificate } from '../../pki/sign.js';
import { isIssuedBy } from '../../pki/verify.js';
import { certificateEntry, type AuditedPlan } from '../audit/entries.js';
import type { AuditEntry } from '../audit/record.js';
import { extensionTrustWarning, OUTSIDE_CLIENTS_WARNING } from './extension-trust.js';
import { Inventory } from '../inventory/discover.js';
import { buildRenewPlan, CertificateSummary, Component, fileChange, FileChange, kubeconfigCaDataChanges, RenewItem } from '../renewal/renew-plan.js';
import { controlPlaneNodes, emptyState, mergeStates, nodeNameOf, nodesBehind, phaseIndex, readRotationState, Rotatable, RotationPhase, RotationState, rotationStateChange } from './rotation-state.js';
import { sha256Hex } from '../../pki/digest.js';
import { AdminCredentials, userKubeconfigChanges } from './user-kubeconfigs.js';
import { refuseWhileLegacyTokensOfOldKey } from './legacy-tokens.js';
import { adminConf } from './after-phase.js';
import { readKubeconfig } from '../inventory/kubeconfig.js';

const LEAF_VALIDITY_MS = 365 * 86_400_000;
const SA_PRIVATE = `${PKI_DIR}/${SERVICE_ACCOUNT_KEY.privateKey}`;
const SA_PUBLIC = `${PKI_DIR}/${SERVICE_ACCOUNT_KEY.publicKey}`;
const SA_NEW_KEY = `${PKI_DIR}/sa.new.key`;

/** Who reads each authority's files (and so restarts in each phase). */
const READERS: Record<Rotatable, Component[]> = {
  ca: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
  'etcd-ca': ['etcd', 'kube-apiserver'],
  'front-proxy-ca': ['kube-apiserver'],
  sa: ['kube-apiserver', 'kube-controller-manager'],
};

/** File names in an exchange directory (--new-ca / --export-new): flat, one per authority. */
export const EXCHANGE_FILES: Record<Rotatable, { certificate: string; key: string }> = {
  ca: { certificate: 'ca.crt', key: 'ca.key' },
  'etcd-ca': { certificate: 'etcd-ca.crt', key: 'etcd-ca.key' },
  'front-proxy-ca': { certificate: 'front-proxy-ca.crt', key: 'front-proxy-ca.key' },
  sa: { certificate: 'sa.pub', key: 'sa.key' },
};
export const EXCHANGE_STATE = 'ca-rotation.json';

/** Where trust keeps the new pair of an X.509 CA until reissue makes it the CA (pki/ca.new.crt, etcd/ca.new.key). */
export function stagedPaths(name: CaName): { certificate: string; key: string } {
  const { certificate, key } = caSpec(name).storage;
  return { certificate: certificate.replace(/\.crt$/, '.new.crt'), key: key.replace(/\.key$/, '.new.key') };
}

/** The new material another control plane exported (what `--new-ca DIR` reads), private keys included. */
export interface NewAuthority {
  certificatePem?: string;
  key?: KeyObject;
  /** sa: the new public key PEM. */
  publicPem?: string;
}

export interface PhaseOptions {
  phase: RotationPhase;
  authorities: Rotatable[];
  /** Validity of a new CA made at trust. */
  durationMs: number;
  /** From --new-ca DIR: the same new CA the first control plane made, per authority. */
  given?: Partial<Record<Rotatable, NewAuthority>>;
  /** From --new-ca DIR's ca-rotation.json: what the other nodes have done. */
  shared?: RotationState;
  force?: boolean;
  /**
   * sa distrust: how long after the last node's reissue tokens of the old key may still be in use (default
   * 24 h: the kubelet refreshes a pod's projected token at the latest 24 h after it was issued).
   */
  tokenGraceMs?: number;
  /** sa distrust: the legacy token Secrets as exported (kubectl get secrets -A -o json), when the API does not answer here. */
  tokenSecretsFrom?: string;
}

/** The kubelet's upper bound for refreshing a projected service-account token (pkg/kubelet/token: maxTTL). */
export const TOKEN_REFRESH_BOUND_MS = 24 * 3_600_000;

export interface PhasePlan extends AuditedPlan {
  /** The state as this phase leaves it (also written by the plan); what to share with the other nodes. */
  state: RotationState;
}

const pemBlocks = (text: string) => text.match(/-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----\n?/g)?.map((block) => (block.endsWith('\n') ? block : `${block}\n`)) ?? [];
const publicPemOf = (key: KeyObject) => publicKeyOf(key).export({ type: 'spki', format: 'pem' }).toString();
/** The SPKI of a PEM public or private key (how the sa keys are told apart). */
export const spkiOfPem = (pem: string) => spkiDer(publicKeyOf(parsePrivateKeyOrPublic(pem)));

/** sa.pub holds public keys, sa.key a private one: either names the same SPKI. */
function parsePrivateKeyOrPublic(pem: string): KeyObject {
  return /PRIVATE KEY/.test(pem) ? parsePrivateKey(pem) : createPublicKey(pem);
}

function summaryOf(certificate: Certificate) {
  return { subject: certificate.subjectText, issuer: certificate.issuerText, sans: certificate.sans.dns, notBefore: certificate.notBefore.toISOString(), notAfter: certificate.notAfter.toISOString(), serial: certificate.serialHex, key: certificate.key.label };
}

/** A key pair has no validity: null dates (never a made-up one), shown as "no expiry (key pair)". */
const keySummary = (pem: string, label: string): CertificateSummary => ({ subject: label, issuer: '', sans: [], notBefore: null, notAfter: null, serial: sha256Hex(spkiOfPem(pem)).slice(0, 16), key: describeKey(publicKeyOf(parsePrivateKeyOrPublic(pem))).label });

/** The leaves (catalogue names) each authority signs, present on this tree. */
function leavesOf(inventory: Inventory, name: CaName): string[] {
  const names = [...LEAF_CERTIFICATES.filter((leaf) => leaf.ca === name).map((leaf) => leaf.name), ...(name === 'ca' ? KUBECONFIGS.map((spec) => spec.name) : [])];
  return names.filter((leaf) => inventory.items.some((item) => item.name === leaf && item.certificate?.value));
}

/** The leaves (and kubeconfigs' client certs) of this authority here that the new CA did not sign. */
function leavesStillOld(inventory: Inventory, name: CaName, newCa: Certificate): string[] {
  return leavesOf(inventory, name).filter((leaf) => {
    const certificate = inventory.items.find((item) => item.name === leaf)?.certificate?.value;
    return certificate && !isIssuedBy(certificate, newCa);
  });
}

function thisPhaseRequires(state: RotationState, name: Rotatable, node: string, phase: RotationPhase): void {
  const done = state.authorities[name]?.nodes[node];
  const wanted = phaseIndex(phase) - 1;
  if (phaseIndex(done) === wanted) return;
  if (phase === 'trust') throw new RescueError('INTERRUPTED_RUN', `${name}: a rotation is already in progress on this node (phase ${done} done)`, { hint: `continue it: rescue-kit ca rotate ${name} --phase ${nextPhase(done!) ?? 'trust'}` });
  const needed = ['trust', 'reissue', 'distrust'][wanted];
  throw new RescueError('PRECONDITION', `${name}: --phase ${phase} needs phase ${needed} done on this node first (${done ? `it has done ${done}` : 'no rotation in progress'})`, { hint: `rescue-kit ca rotate ${name} --phase ${done ? nextPhase(done) : 'trust'}` });
}

export const nextPhase = (done: RotationPhase): RotationPhase | undefined => (['reissue', 'distrust', undefined] as const)[phaseIndex(done)];

/**
 * The phase an authority's rotation runs next on this tree: trust when none is in progress, else the one after
 * what this node completed; 'finish' while a legacy `--phase start` transition (pki/ca.old.crt) is on.
 */
export function nextRotationPhase(host: Host, inventory: Inventory, name: Rotatable): RotationPhase | 'finish' {
  if (name === 'ca' && host.lstat(`${PKI_DIR}/ca.old.crt`)) return 'finish';
  const done = readRotationState(host)?.authorities[name]?.nodes[nodeNameOf(inventory.cluster, host)];
  return done ? (nextPhase(done) ?? 'trust') : 'trust';
}

/** This tree's rotation state merged with the shared progress (--new-ca DIR), the control planes etcd knows added. */
function currentState(host: Host, inventory: Inventory, shared: RotationState | undefined): RotationState {
  const state = mergeStates(readRotationState(host) ?? emptyState(), shared);
  return { ...state, knownNodes: [...new Set([...state.knownNodes, ...controlPlaneNodes(inventory.cluster)])] };
}

const doneHere = (state: RotationState, name: Rotatable, node: string, phase: RotationPhase) => state.authorities[name]?.nodes[node] === phase;

/**
 * The shared state when this node has already completed `phase` for every chosen authority (a re-run, e.g. of a
 * playbook stopped by another node's failure): nothing to do, the progress is only passed on. Else undefined.
 */
export function phaseAlreadyDone(host: Host, inventory: Inventory, options: Pick<PhaseOptions, 'phase' | 'authorities' | 'shared'>): RotationState | undefined {
  const state = currentState(host, inventory, options.shared);
  const node = nodeNameOf(inventory.cluster, host);
  return options.authorities.every((name) => doneHere(state, name, node, options.phase)) ? state : undefined;
}

/** One phase for every chosen authority, as one plan (one backup, one journal, one restart pass). */
export async function buildRotationPhase(host: Host, inventory: Inventory, options: PhaseOptions): Promise<PhasePlan> {
  if (inventory.layout !== 'kubeadm') throw new RescueError('USAGE', 'ca rotate works on a kubeadm tree (etc/kubernetes/pki)', { hint: 'check --root' });
  const node = nodeNameOf(inventory.cluster, host);
  let state = currentState(host, inventory, options.shared);
  const now = host.now();
  const plan: PhasePlan = { root: host.root, createdAt: now.toISOString(), items: [], changes: [], restart: [], warnings: [], audit: [], state };
  const restart = new Set<Component>();
  for (const name of options.authorities) {
    // Done here already (a re-run): the others of the list still run; this one is left as it is.
    if (doneHere(state, name, node, options.phase)) {
      plan.warnings.push(`${name}: phase ${options.phase} already done on this node: left as it is`);
      continue;
    }
    thisPhaseRequires(state, name, node, options.phase);
    // A leaf re-signed here while another node does not trust the new CA yet would be refused there.
    const untrusting = options.phase === 'reissue' ? nodesBehind(state, name, 'trust').filter((other) => other !== node) : [];
    if (untrusting.length && !options.force) {
      throw new RescueError('PRECONDITION', `${name}: reissue would hand out certificates that nodes not trusting the new CA yet would refuse — nodes that have not done trust: ${untrusting.join(', ')}`, {
        hint: 'run --phase trust there first (with --new-ca DIR, which also shares the progress), or reissue anyway with --force',
      });
    }
    const part = name === 'sa' ? await saPhase(host, state, node, options) : await caPhase(host, inventory, name, state, node, options);
    plan.items.push(...part.items);
    plan.changes.push(...part.changes);
    plan.audit!.push(...part.audit);
    plan.warnings.push(...part.warnings);
    READERS[name].forEach((component) => restart.add(component));
    part.restart.forEach((component) => restart.add(component));
    // Trust on a second node takes the first one's rotation (same new CA): its progress record stays.
    const known = state.authorities[name];
    const rotation = part.rotation && known?.newFingerprint !== part.rotation.newFingerprint ? part.rotation : known!;
    const nodes = { ...rotation.nodes, [node]: options.phase };
    const phaseAt = { ...rotation.phaseAt, [node]: now.toISOString() };
    state = { ...state, authorities: { ...state.authorities, [name]: { ...rotation, nodes, phaseAt } } };
  }
  // A tree is done with an authority once it distrusted the old one; the exchange directory keeps the others' progress.
  const local_ = { ...state, authorities: Object.fromEntries(Object.entries(state.authorities).filter(([, rotation]) => rotation!.nodes[node] !== 'distrust')) };
  plan.changes.push(rotationStateChange(host, local_));
  plan.state = state;
  // A worker runs none of the control plane's components: restarting (and health-checking) them there fails.
  plan.restart = RESTART_ORDER.filter((component) => restart.has(component) && (inventory.node !== 'worker' || component === 'kubelet'));
  return plan;
}

/** admin.conf's credentials now and as the reissue plan rewrites them: how a user's copy of it is recognised and renewed. */
function adminCredentials(host: Host, changes: FileChange[]): AdminCredentials | undefined {
  const file = adminConf();
  const before = host.read(file)?.toString();
  const after = changes.find((change) => change.hostPath === file)?.data?.toString();
  if (!before || !after) return undefined;
  const user = readKubeconfig(before, host.real(file)).currentUser;
  const renewed = readKubeconfig(after, host.real(file)).currentUser;
  if (!user?.certData || !renewed?.certData) return undefined;
  return { certData: user.certData, keyData: user.keyData, newCertData: renewed.certData };
}

interface PhasePart {
  items: RenewItem[];
  changes: FileChange[];
  audit: AuditEntry[];
  warnings: string[];
  restart: Component[];
  /** Set by trust: the new rotation record. */
  rotation?: RotationState['authorities'][Rotatable];
}

async function caPhase(host: Host, inventory: Inventory, name: CaName, state: RotationState, node: string, options: PhaseOptions): Promise<PhasePart> {
  const spec = caSpec(name);
  const staged = stagedPaths(name);
  const authority = inventory.authorities.find((item) => item.name === name);
  const bundleText = host.read(spec.storage.certificate)?.toString();
  if (!bundleText) throw new RescueError('FILE_NOT_FOUND', `${name}: its certificate is missing`, { file: host.real(spec.storage.certificate), hint: 'restore it from a backup (rescue-kit restore)' });
  const inBundle = parseCertificates(bundleText);
  const part: PhasePart = { items: [], changes: [], audit: [], warnings: [], restart: [] };
  const file = spec.storage.certificate;
  const base = posix.basename(file);

  if (options.phase === 'trust') {
    const old = inBundle[0]!;
    const oldKey = authority?.key?.value;
    const given = options.given?.[name];
    let newCa: Certificate;
    let newKey: KeyObject | undefined;
    if (given?.certificatePem) {
      newCa = parseCertificates(given.certificatePem)[0]!;
      newKey = given.key;
      if (!newCa.subjectDer.equals(old.subjectDer)) throw new RescueError('CA_MISMATCH', `${name}: the new CA given (${newCa.subjectText}) does not have the subject of this node's CA (${old.subjectText})`, { hint: 'pass the directory the first control plane exported for this cluster' });
      if (newCa.spkiDer.equals(old.spkiDer)) throw new RescueError('CA_MISMATCH', `${name}: the "new" CA given has this node's current key: nothing would rotate`, { hint: 'pass the directory written by --export-new on the first control plane' });
      if (newKey && !keysMatch(newKey, newCa.publicKey)) throw new RescueError('KEY_MISMATCH', `${name}: the new CA key given does not match its certificate`, { hint: 'export the pair again on the first control plane' });
    } else {
      if (!oldKey) throw new RescueError('FILE_NOT_FOUND', `${name}: its key is not on this host, so no new CA can be made here (a worker?)`, { file: host.real(spec.storage.key), hint: 'take the new CA certificate the first control plane exported: --new-ca DIR' });
      const { algo, size } = describeKey(old.publicKey);
      newKey = await generateKey({ algo, size });
      newCa = issueCertificate({ template: renewalTemplate(old, { durationMs: options.durationMs }), subjectKey: newKey, now: host.now() }).certificate;
    }
    if (oldKey && newKey === undefined) throw new RescueError('FILE_NOT_FOUND', `${name}: the new CA's key is not in the directory given, and this node signs with ${name}`, { hint: 'export it with the key on the first control plane (control planes only: never onto workers)' });
    const bundle = old.pem + newCa.pem;
    part.changes.push(fileChange(host, file, Buffer.from(bundle), false, `${base}: trust [old, new] (old first: it is still the pair of the signing key)`));
    if (name === 'ca') part.changes.push(...kubeconfigCaDataChanges(host, bundle, 'trust [old CA, new CA]'));
    part.changes.push(fileChange(host, staged.certificate, Buffer.from(newCa.pem), false, `${name}: the new CA, kept until reissue`));
    if (newKey && oldKey) part.changes.push(fileChange(host, staged.key, Buffer.from(exportPrivateKeyPem(newKey)), true, `${name}: the new CA key, kept until reissue`));
    part.items.push({ name, kind: 'ca', ca: name, keyAction: 'new', before: summaryOf(old), after: summaryOf(newCa), differences: [], notes: ['trusted beside the old CA; nothing re-signed yet'] });
    part.audit.push(certificateEntry('CREATE', name, newCa, staged.certificate, { detail: `${name} rotation, trust: new CA key; ${base} trusts [old, new]` }));
    if (name === 'ca') part.changes.push(...userKubeconfigChanges(host, { old: [old], new: newCa }, 'trust').changes);
    part.rotation = { newFingerprint: sha256Hex(newCa.der), oldFingerprint: sha256Hex(old.der), oldCertificatesPem: old.pem, newCertificatePem: newCa.pem, startedAt: host.now().toISOString(), nodes: {} };
    return part;
  }

  const rotation = state.authorities[name]!;
  const newCa = inBundle.find((certificate) => sha256Hex(certificate.der) === rotation.newFingerprint) ?? parseCertificates(host.read(staged.certificate) ?? inBundle[0]!.pem).find((certificate) => sha256Hex(certificate.der) === rotation.newFingerprint);
  if (!newCa) throw new RescueError('CA_MISMATCH', `${name}: the new CA of this rotation (sha256 ${rotation.newFingerprint.slice(0, 16)}…) is not in ${base}`, { file: host.real(file), hint: 'roll back to before this rotation (rescue-kit rollback) or restore the file' });
  const olds = inBundle.filter((certificate) => sha256Hex(certificate.der) !== rotation.newFingerprint);

  if (options.phase === 'reissue' && !host.read(spec.storage.key)) {
    // A worker: no CA key here (never copied to workers), so nothing to sign; the new CA goes first in the
    // bundle. Its reissue is what the control planes' distrust counts on, so it must mean that the kubelet
    // already chains to the new CA: the kubelet itself asks for a new client cert only near expiry, not
    // when the CA changes, and a worker recorded as reissued on an old-CA cert goes NotReady at distrust.
    const stillOld = leavesStillOld(inventory, name, newCa);
    if (stillOld.length && !options.force) {
      throw new RescueError('PRECONDITION', `${name}: this worker's ${stillOld.join(', ')} still ${stillOld.length > 1 ? 'carry client certs' : 'carries a client cert'} signed by the old CA only; recorded as reissued, it would go NotReady when the control planes distrust the old CA`, {
        hint: 'give the kubelet a new-CA client cert first: rescue-kit kubelet csr here, rescue-kit kubelet sign on a control plane that has done its reissue, rescue-kit kubelet install here (scripts/ansible/rotate-ca.yml does all three); or reissue anyway with --force',
      });
    }
    if (stillOld.length) part.warnings.push(`${name}: reissued with --force although ${stillOld.join(', ')} still chain${stillOld.length > 1 ? '' : 's'} to the old CA only: its distrust stays refused until the kubelet has a new-CA client cert`);
    const bundle = newCa.pem + olds.map((certificate) => certificate.pem).join('');
    part.changes.push(fileChange(host, file, Buffer.from(bundle), false, `${base}: [new, old] (no CA key on this node: nothing to re-sign)`));
    if (host.read(staged.certificate)) part.changes.push(fileChange(host, staged.certificate, undefined, false, `${name}: staged new CA moved into place`));
    if (name === 'ca') part.changes.push(...kubeconfigCaDataChanges(host, bundle, 'trust [new CA, old CA]'));
    return part;
  }
  if (options.phase === 'reissue') {
    const keyPem = host.read(staged.key);
    if (!keyPem) throw new RescueError('FILE_NOT_FOUND', `${name}: the new CA key kept at trust is missing`, { file: host.real(staged.key), hint: 'restore it from the trust run (rescue-kit rollback) or take it again with --new-ca DIR' });
    const newKey = parsePrivateKey(keyPem);
    if (!keysMatch(newKey, newCa.publicKey)) throw new RescueError('KEY_MISMATCH', `${name}: ${posix.basename(staged.key)} does not match the new CA`, { file: host.real(staged.key), hint: 'restore it from the trust run' });
    const bundle = newCa.pem + olds.map((certificate) => certificate.pem).join('');
    const rotated: Inventory = {
      ...inventory,
      authorities: inventory.authorities.map((item) => (item.name === name ? { ...item, certificate: { ...item.certificate!, value: newCa }, key: { ...item.key!, value: newKey } } : item)),
    };
    const names = leavesOf(inventory, name);
    const leaves = names.length ? await buildRenewPlan(host, rotated, { names, all: false, durationMs: LEAF_VALIDITY_MS, newKey: false, caBundlePem: name === 'ca' ? bundle : undefined, beyondCa: 'cap' }) : undefined;
    part.changes.push(
      fileChange(host, file, Buffer.from(bundle), false, `${base}: [new, old]: the new CA signs now, old leaves still verify`),
      fileChange(host, spec.storage.key, Buffer.from(exportPrivateKeyPem(newKey)), true, `${name}: the new CA key signs from now on`),
      fileChange(host, staged.certificate, undefined, false, `${name}: staged new CA moved into place`),
      fileChange(host, staged.key, undefined, false, `${name}: staged new CA key moved into place`),
      ...(leaves?.changes ?? []),
    );
    if (name === 'ca') {
      part.changes.push(...userKubeconfigChanges(host, { old: olds, new: newCa }, 'reissue', adminCredentials(host, leaves?.changes ?? [])).changes);
      part.warnings.push(OUTSIDE_CLIENTS_WARNING);
    }
    part.items.push(...(leaves?.items ?? []));
    part.warnings.push(...(leaves?.warnings ?? []));
    part.restart.push(...(leaves?.restart ?? []));
    return part;
  }

  // distrust
  const stillOld = leavesStillOld(inventory, name, newCa);
  const users = name === 'ca' ? userKubeconfigChanges(host, { old: olds, new: newCa }, 'distrust') : undefined;
  stillOld.push(...(users?.signedByOldOnly ?? []));
  const behind = nodesBehind(state, name, 'reissue').filter((other) => other !== node);
  if ((stillOld.length || behind.length) && !options.force) {
    const what = [...(stillOld.length ? [`leaves on this node still signed by the old CA only: ${stillOld.join(', ')}`] : []), ...(behind.length ? [`nodes that have not done reissue: ${behind.join(', ')}`] : [])];
    throw new RescueError('PRECONDITION', `${name}: distrust would cut off what still depends on the old CA — ${what.join('; ')}`, {
      hint: `run --phase reissue there first (share progress with --new-ca DIR), or distrust anyway with --force`,
    });
  }
  if (stillOld.length || behind.length) part.warnings.push(`${name}: distrusted with --force although ${[...stillOld, ...behind].join(', ')} still depend on the old CA`);
  part.changes.push(fileChange(host, file, Buffer.from(newCa.pem), false, `${base}: the new CA only`));
  if (name === 'ca') part.changes.push(...kubeconfigCaDataChanges(host, newCa.pem, 'trust the new CA only'), ...users!.changes);
  part.items.push({ name, kind: 'ca', ca: name, keyAction: 'new', before: summaryOf(newCa), after: summaryOf(newCa), differences: [], notes: ['the old CA is no longer trusted'] });
  part.audit.push(...olds.map((old) => certificateEntry('REVOKE', name, old, file, { detail: `${name} rotation, distrust: old CA removed from ${base}${name === 'ca' ? ' and every kubeconfig' : ''}` })));
  if (name === 'ca' || name === 'front-proxy-ca') part.warnings.push(extensionTrustWarning(name));
  return part;
}

/**
 * Pods keep using the token they hold until the kubelet refreshes it, which it does at the latest 24 h after
 * issue: distrust right after reissue would turn every pod's in-cluster API call into 401 for up to a day.
 */
function refuseWhileOldTokensLive(rotation: RotationState['authorities'][Rotatable], now: Date, graceMs: number): void {
  const reissued = Object.entries(rotation!.nodes).filter(([, phase]) => phase === 'reissue').map(([node]) => rotation!.phaseAt?.[node]).filter((at): at is string => Boolean(at)).sort();
  const last = reissued.at(-1);
  if (!last || graceMs <= 0) return;
  const until = new Date(Date.parse(last) + graceMs);
  if (now >= until) return;
  const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
  throw new RescueError('PRECONDITION', `sa: the last reissue was ${hours(now.getTime() - Date.parse(last))} ago (${last}); pods may still hold tokens of the old key until ${until.toISOString()} (the kubelet refreshes a projected token at the latest 24 h after issue)`, {
    hint: 'distrust after that time; or, once every pod was restarted or its token refreshed (and no legacy token Secret of the old key is in use), pass --token-grace 0',
  });
}

async function saPhase(host: Host, state: RotationState, node: string, options: PhaseOptions): Promise<PhasePart> {
  const part: PhasePart = { items: [], changes: [], audit: [], warnings: [], restart: [] };
  const pubText = host.read(SA_PUBLIC)?.toString();
  const keyText = host.read(SA_PRIVATE)?.toString();
  if (!pubText) throw new RescueError('FILE_NOT_FOUND', 'sa: the service-account public key is missing', { file: host.real(SA_PUBLIC), hint: 'restore it from a backup (rescue-kit restore)' });
  const publics = pemBlocks(pubText);
  const fingerprint = (pem: string) => sha256Hex(spkiOfPem(pem));

  if (options.phase === 'trust') {
    const old = publics[0]!;
    const given = options.given?.sa;
    let newKey = given?.key;
    let newPub = given?.publicPem ?? (newKey ? publicPemOf(newKey) : undefined);
    if (!newPub) {
      if (!keyText) throw new RescueError('FILE_NOT_FOUND', 'sa: sa.key is not on this host, so no new key can be made here', { file: host.real(SA_PRIVATE), hint: 'take the new key the first control plane exported: --new-ca DIR' });
      const { algo, size } = describeKey(parsePrivateKey(keyText));
      newKey = await generateKey({ algo, size });
      newPub = publicPemOf(newKey);
    }
    if (fingerprint(newPub) === fingerprint(old)) throw new RescueError('KEY_MISMATCH', 'sa: the "new" key given is the current one: nothing would rotate', { hint: 'pass the directory written by --export-new on the first control plane' });
    if (keyText && !newKey) throw new RescueError('FILE_NOT_FOUND', 'sa: the new private key is not in the directory given, and this node signs tokens', { hint: 'export it with the key on the first control plane' });
    part.changes.push(fileChange(host, SA_PUBLIC, Buffer.from(old + newPub), false, 'sa.pub: verify tokens of the old and the new key'));
    if (newKey) part.changes.push(fileChange(host, SA_NEW_KEY, Buffer.from(exportPrivateKeyPem(newKey)), true, 'sa: the new signing key, kept until reissue'));
    part.items.push({ name: 'sa', kind: 'ca', ca: 'sa', keyAction: 'new', before: keySummary(old, 'service-account key'), after: keySummary(newPub, 'service-account key'), differences: [], notes: ['both keys verify tokens; the old one still signs'] });
    part.audit.push({ action: 'CREATE', cert: 'sa', path: SA_NEW_KEY, detail: `sa rotation, trust: new service-account key (spki sha256 ${fingerprint(newPub).slice(0, 16)}); sa.pub verifies both` });
    part.rotation = { newFingerprint: fingerprint(newPub), oldFingerprint: fingerprint(old), startedAt: host.now().toISOString(), nodes: {} };
    return part;
  }
  const rotation = state.authorities.sa!;
  const newPub = publics.find((pem) => fingerprint(pem) === rotation.newFingerprint);
  if (!newPub) throw new RescueError('KEY_MISMATCH', 'sa: the new key of this rotation is not in sa.pub', { file: host.real(SA_PUBLIC), hint: 'roll back to before this rotation (rescue-kit rollback)' });
  const olds = publics.filter((pem) => pem !== newPub);
  if (options.phase === 'reissue') {
    const staged = host.read(SA_NEW_KEY)?.toString();
    if (keyText && !staged) throw new RescueError('FILE_NOT_FOUND', 'sa: the new key kept at trust is missing', { file: host.real(SA_NEW_KEY), hint: 'take it again with --new-ca DIR, or roll back the trust run' });
    if (staged) {
      if (fingerprint(staged) !== rotation.newFingerprint) throw new RescueError('KEY_MISMATCH', 'sa: sa.new.key is not the key of this rotation', { file: host.real(SA_NEW_KEY), hint: 'roll back the trust run' });
      part.changes.push(fileChange(host, SA_PRIVATE, Buffer.from(staged), true, 'sa.key: the new key signs tokens from now on'), fileChange(host, SA_NEW_KEY, undefined, false, 'sa: staged key moved into place'));
    }
    part.changes.push(fileChange(host, SA_PUBLIC, Buffer.from(newPub + olds.join('')), false, 'sa.pub: [new, old]: old tokens still verify'));
    part.items.push({ name: 'sa', kind: 'ca', ca: 'sa', keyAction: 'new', before: keySummary(olds[0] ?? newPub, 'service-account key'), after: keySummary(newPub, 'service-account key'), differences: [], notes: ['new tokens are signed by the new key'] });
    part.audit.push({ action: 'UPDATE', cert: 'sa', path: SA_PRIVATE, detail: 'sa rotation, reissue: sa.key is the new key' });
    return part;
  }
  const stillOld = keyText && fingerprint(keyText) !== rotation.newFingerprint ? ['sa.key on this node'] : [];
  const blocking = [...stillOld, ...nodesBehind(state, 'sa', 'reissue').filter((other) => other !== node).map((other) => `node ${other}`)];
  if (blocking.length && !options.force) throw new RescueError('PRECONDITION', `sa: distrust would reject tokens still signed by the old key — not reissued yet: ${blocking.join(', ')}`, { hint: 'run --phase reissue there first, or distrust anyway with --force' });
  refuseWhileOldTokensLive(rotation, host.now(), options.tokenGraceMs ?? TOKEN_REFRESH_BOUND_MS);
  const admin = adminConf();
  part.warnings.push(...(await refuseWhileLegacyTokensOfOldKey(host, { oldPems: olds, newPem: newPub }, { from: options.tokenSecretsFrom, kubeconfig: host.read(admin) ? host.real(admin) : undefined, force: options.force })));
  if (blocking.length) part.warnings.push(`sa: distrusted with --force although ${blocking.join(', ')} still sign with the old key`);
  part.changes.push(fileChange(host, SA_PUBLIC, Buffer.from(newPub), false, 'sa.pub: the new key only'));
  part.items.push({ name: 'sa', kind: 'ca', ca: 'sa', keyAction: 'new', before: keySummary(newPub, 'service-account key'), after: keySummary(newPub, 'service-account key'), differences: [], notes: ['tokens of the old key no longer verify'] });
  part.audit.push({ action: 'REVOKE', cert: 'sa', path: SA_PUBLIC, detail: `sa rotation, distrust: old service-account key (spki sha256 ${(olds[0] ? fingerprint(olds[0]) : '').slice(0, 16)}) removed from sa.pub` });
  return part;
}
