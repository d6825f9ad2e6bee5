// Seed 001: a k0s-based vcluster whose certificates expired keeps reading the
// old pki from its persisted data volume, so deleting the certs Secret and
// restarting is not enough. Back the pki up, move it aside (the seed's
// `mv /pki /pki.old`, atomic and reversible), and say (or run) the Secret
// deletion and pod restart that make vcluster generate a fresh pki.
import { renameSync } from 'node:fs';
import { posix } from 'node:path';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { createBackup } from '../archive/backup.js';
import { recordVclusterReset } from '../audit/seeds.js';

/** Where vcluster/k0s persist the pki on the data volume, relative to the volume. */
export const PERSISTED_PKI = ['k0s/pki', 'pki', 'server/tls'];

export function findPersistedPki(host: Host, dataDir: string): string {
  for (const candidate of PERSISTED_PKI) {
    const path = posix.join(dataDir, candidate);
    if (host.lstat(path)?.isDirectory() && host.list(path).some((name) => /\.(crt|pem)$/.test(name))) return path;
  }
  throw new RescueError('FILE_NOT_FOUND', `no persisted pki under ${host.real(dataDir)} (looked for ${PERSISTED_PKI.join(', ')})`, {
    hint: 'pass --data the directory the vcluster PV is mounted at (the pod mounts it at /data)',
  });
}

export interface VclusterReset {
  pkiDir: string;
  movedTo: string;
  backup: string;
  commands: string[][];
}

export async function resetVclusterPki(host: Host, options: { dataDir: string; name: string; namespace: string; version: string; log?: (message: string) => void }): Promise<VclusterReset> {
  const pkiDir = findPersistedPki(host, options.dataDir);
  const stamp = host.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const backup = await createBackup(host, { paths: [pkiDir], etcd: 'skip', version: options.version, check: null, out: host.real(`/var/lib/rescue-kit/backups/vcluster-${options.name}-pki-${stamp}.tar.gz`) });
  const movedTo = `${pkiDir}.old-${stamp}`;
  renameSync(host.real(pkiDir), host.real(movedTo));
  recordVclusterReset(host, { pkiDir, movedTo, backup: backup.archive }, options.log ?? (() => {}));
  return {
    pkiDir,
    movedTo,
    backup: backup.archive,
    commands: [
      ['-n', options.namespace, 'delete', 'secret', `${options.name}-certs`, '--ignore-not-found'],
      ['-n', options.namespace, 'delete', 'pod', `${options.name}-0`],
    ],
  };
}
