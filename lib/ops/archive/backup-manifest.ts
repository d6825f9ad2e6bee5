// The manifest stored inside every backup: what was archived (path, type,
// sha256, size, mode, owner, link target), from where, by whom, and the
// `check` report at backup time. Restore trusts nothing it does not list.
import type { CheckReport } from '../inventory/check.js';

export const MANIFEST_PATH = 'rescue-kit/manifest.json';
export const SNAPSHOT_PATH = 'rescue-kit/etcd-snapshot.db';
/** Host paths a backup holds (plus etcd). */
import { TREE_PATHS } from '../../catalogue/kubeadm.js';
/** What a backup holds by default: the catalogue's tree (etc/kubernetes, the kubelet's pki). */
export const BACKUP_PATHS = TREE_PATHS;
export const DEFAULT_BACKUP_DIR = '/var/lib/rescue-kit/backups';

export type EntryType = 'file' | 'directory' | 'symlink';

export interface ManifestEntry {
  /** Archive path: the host path without its leading "/" (rescue-kit/... for our own entries). */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  /** Symlink target, verbatim (absolute targets stay absolute). */
  target?: string;
}

export interface BackupManifest {
  schemaVersion: 1;
  tool: { name: 'rescue-kit'; version: string };
  hostname: string;
  createdAt: string;
  /** The --root the backup was taken under (informational; restore takes its own). */
  root: string;
  encrypted: boolean;
  etcd: { method: 'snapshot' | 'data-dir' | 'none'; dataDir?: string; endpoint?: string; note?: string };
  entries: ManifestEntry[];
  warnings: string[];
  check: CheckReport | null;
  /**
   * The audit log's chain head when the backup was taken (line count, sha256 of the last line): `audit verify
   * --backup FILE` then catches lines cut off the end of the log since. Absent when there was no log.
   */
  audit?: { path: string; lines: number; lastSha256: string };
}
