// Seed 001: a k0s-based vcluster whose certificates expired keeps reading the
// old pki from its persisted data volume, so deleting the certs Secret and
// restarting is not enough. Back the pki up, move it aside (the seed's
// `mv /pki /pki.old`, atomic and reversible), and say (or run) the Secret
// deletion and pod restart that make vcluster generate a fresh pki. Before
// moving anything for a run that will do those steps, kubectl must reach the
// cluster: a pki moved aside with no way to delete the Secret is a worse state.
import { renameSync } from 'node:fs';
import { posix } from 'node:path';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { createBackup } from '../archive/backup.js';
import { shellLine } from './cert-manager.js';
import { recordVclusterReset } from '../audit/seeds.js';
import { compactTime } from '../../host/time.js';
import { kubectlPrefix, kubectlUnreachable } from '../kubectl.js';

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

/**
 * Pre-flight for --apply: kubectl reaches the cluster's apiserver with the kubeconfig it will use.
 * Refused (exit 3) before anything is moved.
 */
export async function assertKubectlReachesCluster(host: Host, kubeconfig?: string): Promise<void> {
  const why = await kubectlUnreachable(host, kubeconfig);
  if (why === undefined) return;
  const args = [...kubectlPrefix(kubeconfig), 'get', '--raw', '/version'];
  throw new RescueError('PRECONDITION', `kubectl does not reach the cluster (kubectl ${args.join(' ')}: ${why}); nothing was moved`, {
    hint: `fix the kubeconfig (${kubeconfig ? `--kubeconfig ${kubeconfig}` : 'KUBECONFIG, ~/.kube/config, or pass --kubeconfig FILE'}) until \`kubectl ${args.join(' ')}\` answers, or run without --apply and do the printed kubectl steps where the cluster is reachable`,
  });
}

export interface VclusterReset {
  pkiDir: string;
  movedTo: string;
  backup: string;
  commands: string[][];
}

export async function resetVclusterPki(host: Host, options: { dataDir: string; name: string; namespace: string; version: string; kubeconfig?: string; log?: (message: string) => void }): Promise<VclusterReset> {
  const pkiDir = findPersistedPki(host, options.dataDir);
  const stamp = compactTime(host.now());
  const backup = await createBackup(host, { paths: [pkiDir], etcd: 'skip', version: options.version, check: null, out: host.real(`/var/lib/rescue-kit/backups/vcluster-${options.name}-pki-${stamp}.tar.gz`) });
  const movedTo = `${pkiDir}.old-${stamp}`;
  renameSync(host.real(pkiDir), host.real(movedTo));
  recordVclusterReset(host, { pkiDir, movedTo, backup: backup.archive }, options.log ?? (() => {}));
  return {
    pkiDir,
    movedTo,
    backup: backup.archive,
    commands: [
      [...kubectlPrefix(options.kubeconfig), '-n', options.namespace, 'delete', 'secret', `${options.name}-certs`, '--ignore-not-found'],
      [...kubectlPrefix(options.kubeconfig), '-n', options.namespace, 'delete', 'pod', `${options.name}-0`],
    ],
  };
}

/**
 * --apply: run the reset's kubectl steps in order, stopping at the first failure. The pki was moved aside,
 * not deleted, so the hint names the one command that undoes it.
 */
export async function runVclusterCommands(host: Host, reset: VclusterReset, log: (line: string) => void): Promise<void> {
  for (const command of reset.commands) {
    const result = await host.run('kubectl', command, { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new RescueError('FAILED_ROLLED_BACK', `${shellLine(command)} failed: ${result.stderr.trim()}`, { hint: `the pki was moved, not deleted: mv ${host.real(reset.movedTo)} ${host.real(reset.pkiDir)} to undo` });
    log(`${shellLine(command)}: ${result.stdout.trim()}`);
  }
}
