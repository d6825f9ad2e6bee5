// The file writes a plan is made of: one FileChange per path, with the fingerprints checked before the
// first write, the mode it gets (never wider than the old one, whatever the umask), symlinks written
// through, and the kubeconfig edits (embedded or referenced client certs, the kubelet's rotated pem).
import { KeyObject } from 'node:crypto';
import { sha256Hex } from '../../pki/digest.js';
import { posix } from 'node:path';
import type { Host } from '../../host/host.js';
import type { Certificate } from '../../pki/certificate.js';
import { exportPrivateKeyPem } from '../../pki/keys.js';
import { KUBECONFIGS } from '../../catalogue/kubeadm.js';
import { Inventory, InventoryItem, kubeconfigFileOf } from '../inventory/discover.js';
import { base64, clusterCaField, parseKubeconfig, patchKubeconfig, userField, ScalarEdit, withCaData } from '../inventory/kubeconfig.js';


export interface FileChange {
  hostPath: string;
  /** 'delete' removes the file (ca rotate's finish phase drops the old CA pair). */
  kind: 'file' | 'symlink' | 'delete';
  /** New bytes (never serialised: may hold a private key). */
  data?: Buffer;
  /** New symlink target. */
  target?: string;
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of the current file (undefined: new file); for symlinks, of the current target text. */
  beforeSha256?: string;
  afterSha256: string;
  holdsPrivateKey: boolean;
  reason: string;
}

function statOf(host: Host, hostPath: string) {
  const stats = host.lstat(hostPath);
  return stats ? { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid } : undefined;
}

/** The most a renewed file may be readable: a key by its owner only, anything else by all but writable by the owner only. */
const MODE_CEILING = { key: 0o600, public: 0o644 } as const;

/**
 * The mode a rewritten file gets: the old file's mode, never more than 0600 for a key or 0644 for anything
 * else (a 0400 key stays 0400, a 0777 cert becomes 0644), and those defaults for a new file — whatever the
 * umask, since the writer sets the mode exactly.
 */
export function modeFor(oldMode: number | undefined, holdsPrivateKey: boolean): number {
  const ceiling = holdsPrivateKey ? MODE_CEILING.key : MODE_CEILING.public;
  if (oldMode === undefined) return ceiling;
  const kept = oldMode & ceiling;
  // An unreadable-to-owner mode (0000, 0200) would lock the component out of its own file.
  return kept & 0o400 ? kept : ceiling;
}

/**
 * What the plan and the journal fingerprint a path by: the sha256 of its bytes (following links), or for a
 * symlink step the sha256 of the path it resolves to. Checked again under the lock before the first write.
 */
export function currentFingerprint(host: Host, hostPath: string, kind: FileChange['kind']): string | undefined {
  if (kind === 'symlink') return host.lstat(hostPath) ? sha256Hex(host.resolveLinks(hostPath) ?? '') : undefined;
  const current = host.read(hostPath);
  return current ? sha256Hex(current) : undefined;
}

/**
 * A file write (or, without data, a deletion), with the before/after fingerprints and the mode to keep.
 * A path that is a symlink (apiserver.crt -> apiserver-2020.crt) is written through: the file it points to
 * gets the new bytes and the link stays a link, as the operator set it up.
 */
export function fileChange(host: Host, hostPath: string, data: Buffer | undefined, holdsPrivateKey: boolean, reason: string): FileChange {
  const resolved = data && host.lstat(hostPath)?.isSymbolicLink() ? host.resolveLinks(hostPath) : undefined;
  const path = resolved ?? hostPath;
  const stats = statOf(host, path);
  return {
    hostPath: path,
    kind: data ? 'file' : 'delete',
    data,
    mode: modeFor(stats?.mode, holdsPrivateKey),
    uid: stats?.uid ?? 0,
    gid: stats?.gid ?? 0,
    beforeSha256: currentFingerprint(host, path, 'file'),
    afterSha256: data ? sha256Hex(data) : '',
    holdsPrivateKey,
    reason: resolved ? `${reason} (written through the symlink ${hostPath})` : reason,
  };
}

/** Every kubeconfig's certificate-authority-data pointed at caPem (ca renew, ca rotate). */
export function kubeconfigCaDataChanges(host: Host, caPem: string, reason: string, files: string[] = KUBECONFIGS.map((spec) => spec.storage.file)): FileChange[] {
  return files.flatMap((file) => {
    const text = host.read(file)?.toString();
    const patched = text === undefined ? undefined : withCaData(text, caPem, host.real(file));
    return patched ? [fileChange(host, file, Buffer.from(patched), text!.includes('client-key-data'), `${posix.basename(file)}: ${reason}`)] : [];
  });
}

export function kubeconfigChanges(host: Host, inventory: Inventory, item: InventoryItem, certificate: Certificate, key: { key: KeyObject; fresh: boolean }, now: Date, caBundlePem?: string): FileChange[] {
  const file = kubeconfigFileOf(item);
  const text = host.read(file)!.toString();
  const { document, view } = parseKubeconfig(text, host.real(file));
  const user = view.currentUser!;
  // The CA that signs the new client cert is the one the kubeconfig must trust (kubeadm's ca, or the folder's CA).
  const caPem = caBundlePem ?? inventory.authorities.find((authority) => authority.name === (item.caName ?? 'ca'))!.certificate!.value!.pem;
  const keyPem = exportPrivateKeyPem(key.key);
  const changes: FileChange[] = [];
  // Refresh the CA data too: kubeadm leaves it stale after a CA change.
  const edits: ScalarEdit[] = view.clustersWithCaData.map((index) => ({ path: clusterCaField(index), value: base64(caPem) }));
  if (user.certData) {
    edits.push({ path: userField(user.index, 'client-certificate-data'), value: base64(certificate.pem) });
    if (key.fresh) edits.push({ path: userField(user.index, 'client-key-data'), value: base64(keyPem) });
  } else if (user.certFile) {
    const resolve = (ref: string) => (ref.startsWith('/') ? ref : posix.join(posix.dirname(file), ref));
    const certPath = resolve(user.certFile);
    const keyPath = user.keyFile ? resolve(user.keyFile) : undefined;
    const link = host.lstat(certPath);
    // The kubelet's "current" link, also when it is gone (a host copied without /var/lib/kubelet, a failed rotation).
    const kubeletCurrent = certPath === keyPath && (link?.isSymbolicLink() || (!link && posix.basename(certPath) === 'kubelet-client-current.pem'));
    if (kubeletCurrent) {
      // The kubelet's way: a new kubelet-client-<time>.pem (cert + key) and the "current" symlink moved to it.
      const stamp = now.toISOString().slice(0, 19).replace(/[T:]/g, '-');
      const rotated = `${posix.dirname(certPath)}/kubelet-client-${stamp}.pem`;
      const combined = Buffer.from(certificate.pem + keyPem);
      changes.push({ ...fileChange(host, rotated, combined, true, `${item.name}: new kubelet client cert`), mode: 0o600 });
      changes.push({
        hostPath: certPath,
        kind: 'symlink',
        target: rotated,
        mode: 0o777,
        uid: link?.uid ?? 0,
        gid: link?.gid ?? 0,
        beforeSha256: currentFingerprint(host, certPath, 'symlink'),
        afterSha256: sha256Hex(rotated),
        holdsPrivateKey: false,
        reason: `${item.name}: point kubelet-client-current.pem at the new cert`,
      });
    } else if (certPath === keyPath) {
      changes.push(fileChange(host, certPath, Buffer.from(certificate.pem + keyPem), true, `${item.name}: new client cert + key`));
    } else {
      changes.push(fileChange(host, certPath, Buffer.from(certificate.pem), false, `${item.name}: new client cert`));
      if (key.fresh && keyPath) changes.push(fileChange(host, keyPath, Buffer.from(keyPem), true, `${item.name}: new client key`));
    }
  }
  if (edits.length) {
    const patched = patchKubeconfig(text, edits, host.real(file), document);
    if (patched !== text) changes.unshift(fileChange(host, file, Buffer.from(patched), Boolean(user.certData), `${item.name}: embedded client cert${key.fresh ? ' + key' : ''}, CA data`));
  }
  return changes;
}

