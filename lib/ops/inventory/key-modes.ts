// Private key file modes: every key `check` knows (pki keys, CA keys, sa.key,
// keys embedded in or referenced by kubeconfigs, the kubelet's cert+key pems)
// must be readable by its owner only — 0600, or 0400 (seed 004's checklist).
// A key any group or other user can read is a WARN-level problem.
import { posix } from 'node:path';
import { SERVICE_ACCOUNT_KEY } from '../../catalogue/kubeadm.js';
import type { Host } from '../../host/host.js';

export interface KeyFile {
  /** Host path as the inventory knows it (a kubeconfig when the key is embedded, a symlink for kubelet-client-current.pem). */
  hostPath: string;
  /** The file it resolves to (symlinks followed, absolute targets under --root): what chmod must name. */
  resolvedPath: string;
  /** Permission bits of the file the path resolves to (0o600). */
  mode: number;
  /** The kubeconfig embeds the key (client-key-data) rather than being a key file. */
  embedded: boolean;
}

/** Group or other may read (or write, or execute) it: chmod 600 fixes it (0400 is just as good). */
export const isUnsafeKeyMode = (mode: number) => (mode & 0o077) !== 0;

export const octalMode = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * The mode of each key file, once per file (two paths resolving to one file — the kubelet's
 * current link and kubelet.conf's reference to it — are one entry, the first path seen).
 */
export function keyFileModes(host: Host, keys: { hostPath: string; embedded: boolean }[], pkiDir: string | undefined): KeyFile[] {
  const candidates = [...keys];
  if (pkiDir && host.read(posix.join(pkiDir, SERVICE_ACCOUNT_KEY.privateKey))) candidates.push({ hostPath: posix.join(pkiDir, SERVICE_ACCOUNT_KEY.privateKey), embedded: false });
  const seen = new Set<string>();
  const files: KeyFile[] = [];
  for (const key of candidates) {
    const resolved = host.resolveLinks(key.hostPath);
    if (!resolved || seen.has(resolved)) continue;
    const stats = host.lstat(resolved);
    if (!stats?.isFile()) continue;
    seen.add(resolved);
    files.push({ hostPath: key.hostPath, resolvedPath: resolved, mode: stats.mode & 0o7777, embedded: key.embedded });
  }
  return files;
}
