// Discovery: find every certificate on a host (under --root) and what signs it.
// kubeadm: walk the catalogue (reporting what is missing), read kubeconfigs
// (embedded or by file), the kubelet's rotated cert, and any extra PEMs in pki/.
// k0s/vcluster and plain folders: scan PEM files and match CAs by signature.
import { KeyObject } from 'node:crypto';
import { posix } from 'node:path';
import { caSpec, CERTIFICATE_AUTHORITIES, KUBECONFIGS, kubeconfigSpec, leafSpec, MANIFEST_DIR, KUBELET_CLIENT_CURRENT, KUBELET_PKI_DIR, KUBELET_SERVING_CERT, KUBERNETES_DIR, LEAF_CERTIFICATES, PKI_DIR } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { Certificate, parseCertificate } from '../../pki/certificate.js';
import { parsePrivateKey } from '../../pki/keys.js';
import { isIssuedBy } from '../../pki/verify.js';
import { ClusterFromManifests, readManifests } from './manifests.js';
import { KubeconfigUser, readKubeconfig } from './kubeconfig.js';
import { KeyFile, keyFileModes } from './key-modes.js';

// Where kubeadm keeps things is the catalogue's to say; re-exported for the modules that discover for.
export { KUBELET_PKI_DIR, KUBERNETES_DIR, PKI_DIR };
/** Where k0s (and vcluster's k0s distro) keep their pki, persisted on the data volume (seed 001). */
export const K0S_PKI_DIRS = ['/var/lib/k0s/pki', '/data/k0s/pki', '/data/pki', '/pki'];

export type Layout = 'kubeadm' | 'k0s' | 'folder';
export type ItemKind = 'ca' | 'certificate' | 'kubeconfig';

export interface Material<T> {
  /** Host path of the file holding it (the kubeconfig when embedded). */
  hostPath: string;
  embedded: boolean;
  value?: T;
  /** Why it could not be read (damaged PEM, ...). */
  error?: string;
}

export interface InventoryItem {
  name: string;
  kind: ItemKind;
  /** The catalogue expects this item (absent = MISSING); scanned extras are not expected. */
  expected: boolean;
  /** Name of the CA that should have signed it. */
  caName?: string;
  kubeconfigUser?: string;
  /** Undefined when the certificate is missing. */
  certificate?: Material<Certificate>;
  key?: Material<KeyObject>;
}

export interface Inventory {
  layout: Layout;
  root: string;
  authorities: InventoryItem[];
  items: InventoryItem[];
  cluster: ClusterFromManifests;
  /** Every readable private key's file and its mode (key-modes.ts): check reports group/world-readable ones. */
  keyFiles: KeyFile[];
  /** kubeadm layout only: a worker holds kubelet.conf and the cluster CA cert, and none of the control plane's files. */
  node?: 'control-plane' | 'worker';
}

export interface DiscoverOptions {
  /** Scan this folder (host path) of PEM files instead of detecting a layout. */
  path?: string;
}

const PRIVATE_KEY_BLOCK = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

function readCertificateAt(host: Host, hostPath: string): Material<Certificate> | undefined {
  return materialAt(host, hostPath, parseCertificate);
}

function readKeyAt(host: Host, hostPath: string): Material<KeyObject> | undefined {
  return materialAt(host, hostPath, keyFromText);
}

/** A file's Material; undefined only when nothing is at the path (MISSING), an error when it is there but unusable (UNREADABLE). */
function materialAt<T>(host: Host, hostPath: string, parse: (text: string) => T): Material<T> | undefined {
  const read = readTextAt(host, hostPath);
  if (!read) return undefined;
  return 'error' in read ? { hostPath, embedded: false, error: read.error } : materialFromText(hostPath, false, read.text, parse);
}

/**
 * A file's text, or why a path that exists gives none (a directory, a dangling symlink, no permission, empty).
 * Undefined only when nothing is there: absent and unreadable need different fixes, so they never look alike.
 */
function readTextAt(host: Host, hostPath: string): { text: string } | { error: string } | undefined {
  const bytes = host.read(hostPath);
  if (bytes === undefined) {
    const why = host.unreadable(hostPath);
    return why ? { error: why } : undefined;
  }
  const text = bytes.toString();
  return text.trim() === '' ? { error: 'the file is empty' } : { text };
}

/** A key PEM may share its file with the certificate (the kubelet's rotated client cert). */
function keyFromText(text: string): KeyObject {
  return parsePrivateKey(PRIVATE_KEY_BLOCK.exec(text)?.[0] ?? text);
}

function materialFromText<T>(hostPath: string, embedded: boolean, text: string, parse: (text: string) => T): Material<T> {
  try {
    return { hostPath, embedded, value: parse(text) };
  } catch (error) {
    return { hostPath, embedded, error: (error as Error).message };
  }
}

export function discover(host: Host, options: DiscoverOptions = {}): Inventory {
  assertRootIsATree(host);
  const cluster = readManifests(host);
  if (options.path) return found(host, options.path, withKeyModes(host, { layout: 'folder', root: host.root, cluster, ...scanFolder(host, options.path) }, undefined));
  const k0s = K0S_PKI_DIRS.find((dir) => host.list(dir).length > 0);
  if (!host.lstat(PKI_DIR) && k0s) return found(host, k0s, withKeyModes(host, { layout: 'k0s', root: host.root, cluster, ...scanFolder(host, k0s) }, k0s));
  const node = looksLikeWorker(host) ? 'worker' : 'control-plane';
  return found(host, KUBERNETES_DIR, withKeyModes(host, { layout: 'kubeadm', root: host.root, cluster, node, ...discoverKubeadm(host, cluster, node) }, PKI_DIR));
}

/** The modes of the keys found (readable ones: a damaged key is already UNREADABLE), plus the service-account key in pkiDir. */
function withKeyModes(host: Host, inventory: Omit<Inventory, 'keyFiles'>, pkiDir: string | undefined): Inventory {
  const keys = [...inventory.authorities, ...inventory.items].flatMap((item) => (item.key?.value ? [{ hostPath: item.key.hostPath, embedded: item.key.embedded }] : []));
  return { ...inventory, keyFiles: keyFileModes(host, keys, pkiDir) };
}

/**
 * Pre-flight for every command that reads a tree: a --root that does not exist, or that is an
 * etc/kubernetes itself (one level too deep, which would pass for a k0s pki/), is refused before
 * anything is read or written, with the --root that was probably meant.
 */
function assertRootIsATree(host: Host): void {
  if (!host.lstat('/')?.isDirectory()) {
    throw new RescueError('NO_TREE', `--root ${host.root} does not exist (or is not a directory)`, { hint: 'pass the directory that holds etc/kubernetes (--root / on the host itself)' });
  }
  // kubeadm's own files (k0s keeps a pki/ too, but no apiserver.crt / front-proxy-ca.crt beside admin.conf or manifests/).
  const kubeadmPki = ['/pki/apiserver.crt', '/pki/front-proxy-ca.crt'].some((path) => host.lstat(path));
  const looksLikeEtcKubernetes = kubeadmPki && ['/admin.conf', '/manifests'].some((path) => host.lstat(path));
  if (looksLikeEtcKubernetes && !host.lstat(KUBERNETES_DIR)) {
    const parent = posix.basename(host.root) === 'kubernetes' && posix.basename(posix.dirname(host.root)) === 'etc' ? posix.dirname(posix.dirname(host.root)) : undefined;
    throw new RescueError('NO_TREE', `--root ${host.root} looks like an etc/kubernetes directory itself (kubeadm's pki/ beside admin.conf or manifests/)`, {
      hint: parent ? `did you mean --root ${parent}?` : 'pass the directory that holds etc/kubernetes, not etc/kubernetes itself',
    });
  }
}

/** An inventory with nothing in it is never "OK": say where nothing was found, and what to do. */
function found(host: Host, where: string, inventory: Inventory): Inventory {
  const anything = [...inventory.authorities, ...inventory.items].some((item) => item.certificate);
  if (anything) return inventory;
  const what = inventory.layout === 'folder' ? `no certificate (PEM) in ${host.real(where)}` : `no Kubernetes certificates under ${host.root}: no ${host.real(PKI_DIR)}, no kubeconfigs, no k0s pki`;
  throw new RescueError('NO_TREE', what, {
    hint: inventory.layout === 'folder' ? 'check --path (a host path under --root), e.g. --path /etc/kubernetes/pki' : 'check --root (it should hold etc/kubernetes), or put the tree back from a backup: rescue-kit restore BACKUP --root ROOT',
  });
}

/**
 * A kubeadm worker (kubeadm join without --control-plane): kubelet.conf, and no apiserver cert, admin.conf,
 * static pod manifest or CA key. Its control-plane files are not "missing": they were never there.
 */
function looksLikeWorker(host: Host): boolean {
  if (!host.lstat(kubeconfigSpec('kubelet.conf')!.storage.file)) return false;
  const controlPlane = [leafSpec('apiserver')!.storage.certificate, caSpec('ca').storage.key, kubeconfigSpec('admin.conf')!.storage.file, kubeconfigSpec('super-admin.conf')!.storage.file].some((path) => host.lstat(path));
  return !controlPlane && !host.list(MANIFEST_DIR).some((name) => name.endsWith('.yaml'));
}

function discoverKubeadm(host: Host, cluster: ClusterFromManifests, node: 'control-plane' | 'worker') {
  const worker = node === 'worker';
  // On a worker only the cluster CA's cert and kubelet.conf are expected; anything else of the catalogue found there is still checked.
  const expectedOnWorker = (name: string) => name === 'ca' || name === 'kubelet.conf';
  const present = (item: InventoryItem) => !worker || item.expected || item.certificate !== undefined;
  const authorities: InventoryItem[] = CERTIFICATE_AUTHORITIES.map((ca): InventoryItem => ({
    name: ca.name,
    kind: 'ca',
    expected: !worker || expectedOnWorker(ca.name),
    certificate: readCertificateAt(host, ca.storage.certificate),
    key: readKeyAt(host, ca.storage.key),
  }));
  const items: InventoryItem[] = LEAF_CERTIFICATES.map((leaf): InventoryItem => ({
    name: leaf.name,
    kind: 'certificate',
    expected: !worker,
    caName: leaf.ca,
    certificate: readCertificateAt(host, leaf.storage.certificate),
    key: readKeyAt(host, leaf.storage.key),
  }));
  for (const spec of KUBECONFIGS) {
    const hostPath = spec.storage.file;
    // lstat, not read: a kubeconfig that is there but unreadable (a directory, a dangling link) is reported, not skipped.
    const present = host.lstat(hostPath) !== undefined;
    // super-admin.conf exists from 1.29: only missing when the cluster is that new.
    const expected = (!worker || expectedOnWorker(spec.name)) && (spec.sinceMinor === undefined || (cluster.minor !== undefined && cluster.minor >= spec.sinceMinor));
    if (!present && !expected) continue;
    items.push({ name: spec.name, kind: 'kubeconfig', expected, caName: 'ca', ...kubeconfigCredentials(host, hostPath) });
  }
  const known = new Set([...authorities, ...items].flatMap((item) => [item.certificate?.hostPath, item.key?.hostPath]).filter(Boolean));
  // The kubelet's serving cert (self-signed by the kubelet) and anything else in pki/ the catalogue does not name.
  // In the kubelet's dir only the serving cert and the current client cert count: rotated-out
  // kubelet-client-<date>.pem files stay on disk by design and are not a problem.
  const kubeletFiles = pemFilesUnder(host, KUBELET_PKI_DIR).filter((path) => path === KUBELET_SERVING_CERT || path === KUBELET_CLIENT_CURRENT);
  const extras = [...pemFilesUnder(host, PKI_DIR), ...kubeletFiles].filter((path) => !known.has(path));
  const scanned = classifyScanned(host, extras, authorities);
  return { authorities: [...authorities.filter(present), ...scanned.authorities], items: [...items.filter(present), ...scanned.items] };
}

function kubeconfigCredentials(host: Host, hostPath: string): Pick<InventoryItem, 'certificate' | 'key' | 'kubeconfigUser'> {
  const read = readTextAt(host, hostPath);
  if (!read) return {};
  if ('error' in read) return { certificate: { hostPath, embedded: true, error: read.error } };
  let entry: KubeconfigUser | undefined;
  try {
    entry = readKubeconfig(read.text, hostPath).currentUser;
  } catch (error) {
    return { certificate: { hostPath, embedded: true, error: (error as Error).message } };
  }
  // A kubeconfig that is there but gives no client cert cannot be renewed in place: UNREADABLE with why, not MISSING.
  if (!entry?.certData && !entry?.certFile) return { kubeconfigUser: entry?.name, certificate: { hostPath, embedded: true, error: noClientCertificate(entry) } };
  const directory = posix.dirname(hostPath);
  const resolveRef = (ref: string) => (ref.startsWith('/') ? ref : posix.join(directory, ref));
  const embeddedOrFile = <T>(data: string | undefined, file: string | undefined, parse: (text: string) => T): Material<T> | undefined => {
    if (data) return materialFromText(hostPath, true, Buffer.from(data, 'base64').toString(), parse);
    if (file) {
      const ref = resolveRef(file);
      return materialAt(host, ref, parse) ?? { hostPath: ref, embedded: false, error: 'referenced file is missing' };
    }
    return undefined;
  };
  return {
    kubeconfigUser: entry?.name,
    certificate: embeddedOrFile(entry?.certData, entry?.certFile, parseCertificate),
    key: embeddedOrFile(entry?.keyData, entry?.keyFile, keyFromText),
  };
}

function noClientCertificate(entry: KubeconfigUser | undefined): string {
  const why = entry ? `its current user "${entry.name}" has neither client-certificate-data nor client-certificate` : 'no users section';
  return `has no user with a client certificate (${why})`;
}

function pemFilesUnder(host: Host, directory: string): string[] {
  const files: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const name of host.list(dir)) {
      const path = `${dir}/${name}`;
      const stats = host.lstat(path);
      if (stats?.isDirectory() && depth < 4) walk(path, depth + 1);
      else if ((stats?.isFile() || stats?.isSymbolicLink()) && /\.(crt|pem|cert)$/.test(name) && !name.endsWith('-key.pem')) {
        if (host.read(path)?.includes('-----BEGIN CERTIFICATE-----')) files.push(path);
      }
    }
  };
  walk(directory, 0);
  return files;
}

/** Key beside a cert: X.crt -> X.key, X.pem -> X-key.pem, or inside the same file. */
function keyBeside(host: Host, certPath: string): Material<KeyObject> | undefined {
  const base = certPath.replace(/\.(crt|pem|cert)$/, '');
  for (const candidate of [`${base}.key`, `${base}-key.pem`]) {
    const key = readKeyAt(host, candidate);
    if (key) return key;
  }
  const text = host.read(certPath)?.toString() ?? '';
  return PRIVATE_KEY_BLOCK.test(text) ? materialFromText(certPath, false, text, keyFromText) : undefined;
}

function classifyScanned(host: Host, paths: string[], knownAuthorities: InventoryItem[]) {
  const authorities: InventoryItem[] = [];
  const leaves: InventoryItem[] = [];
  for (const path of paths) {
    const certificate = readCertificateAt(host, path);
    const item: InventoryItem = { name: path, kind: 'certificate', expected: false, certificate, key: keyBeside(host, path) };
    if (certificate?.value?.isCA) authorities.push({ ...item, kind: 'ca' });
    else leaves.push(item);
  }
  const allAuthorities = [...knownAuthorities, ...authorities];
  for (const leaf of leaves) {
    const certificate = leaf.certificate?.value;
    if (!certificate) continue;
    const signer = allAuthorities.find((ca) => ca.certificate?.value && isIssuedBy(certificate, ca.certificate.value));
    // A self-signed leaf (the kubelet's serving cert) has no CA to check against.
    if (signer) leaf.caName = signer.name;
  }
  return { authorities, items: leaves };
}

/**
 * A folder of PEMs (a binary install, seed 004; k0s): its certificates and CAs, matched by signature, and its
 * `*.kubeconfig` files (embedded or referenced client certs), reported like kubeadm's kubeconfigs.
 */
function scanFolder(host: Host, directory: string) {
  const scanned = classifyScanned(host, pemFilesUnder(host, directory), []);
  const kubeconfigs: InventoryItem[] = host
    .list(directory)
    .filter((name) => name.endsWith('.kubeconfig') && host.lstat(`${directory}/${name}`)?.isFile())
    .map((name) => ({ name: `${directory}/${name}`, kind: 'kubeconfig' as const, expected: false, ...kubeconfigCredentials(host, `${directory}/${name}`) }));
  for (const item of kubeconfigs) {
    const certificate = item.certificate?.value;
    const signer = certificate && scanned.authorities.find((ca) => ca.certificate?.value && isIssuedBy(certificate, ca.certificate.value));
    if (signer) item.caName = signer.name;
  }
  return { authorities: scanned.authorities, items: [...scanned.items, ...kubeconfigs] };
}

/** The kubeconfig file an item stands for: kubeadm's by name under /etc/kubernetes, a folder's by its path. */
export function kubeconfigFileOf(item: Pick<InventoryItem, 'name'>): string {
  return item.name.startsWith('/') ? item.name : (KUBECONFIGS.find((spec) => spec.name === item.name)?.storage.file ?? `${KUBERNETES_DIR}/${item.name}`);
}
