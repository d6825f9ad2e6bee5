// How a backup captures etcd — the one policy `backup`, renew's automatic
// backup and the wizard share:
//  - etcd answers: an `etcdctl snapshot save` (consistent). When etcd's own
//    serving cert has expired but still chains to etcd/ca.crt and names the
//    address, the snapshot goes through the verified relay (etcd-tls.ts) with
//    a warning; a serving cert etcd/ca.crt does not vouch for is refused.
//  - nothing listens (etcd stopped): a copy of the data dir, with a warning.
//  - etcd runs but no snapshot can be taken: refused (ETCD_LIVE_COPY, exit 3)
//    unless the caller allows a live copy, which may be inconsistent.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import type { ClusterFromManifests } from '../inventory/manifests.js';
import { EtcdClient, etcdClient, etcdctl, etcdEndpoints, etcdHealthy, reachable } from '../renewal/etcd.js';
import { inspectEtcdServingCert, openTlsRelay, TlsRelay } from '../renewal/etcd-tls.js';
import type { BackupManifest } from './backup-manifest.js';

export interface EtcdCaptureOptions {
  /** 'auto': snapshot, or the policy above; 'skip': no etcd at all. */
  mode: 'auto' | 'skip';
  /** Copy the data dir of a RUNNING etcd when no snapshot can be taken (backup/renew --allow-live-copy). */
  allowLiveCopy?: boolean;
  log?: (message: string) => void;
}

export interface EtcdCapture {
  method: BackupManifest['etcd']['method'];
  snapshotFile?: string;
  dataDir?: string;
  endpoint?: string;
  note?: string;
  /** For the manifest and the operator (stderr). */
  warnings: string[];
  dispose(): void;
}

/** The flags that get past a refused live copy, for the hint (every front end names the same ones). */
export const LIVE_COPY_HINT =
  'fix the cause above and run again; or stop etcd first (then its data dir is copied consistently); or pass --allow-live-copy to copy the running data dir anyway (it may be inconsistent); or leave etcd out (backup --no-etcd, renew --no-etcd-backup)';

export async function captureEtcd(host: Host, cluster: ClusterFromManifests, options: EtcdCaptureOptions): Promise<EtcdCapture> {
  const log = options.log ?? (() => {});
  const dataDir = cluster.etcd?.dataDir ?? '/var/lib/etcd';
  if (options.mode === 'skip') return { method: 'none', note: 'etcd skipped (--no-etcd)', warnings: [], dispose() {} };
  const endpoint = etcdEndpoints(cluster)[0]!;
  const warnings: string[] = [];
  // Nothing listening: etcd is stopped, so its data dir is at rest and a copy is consistent.
  if (!(await reachable(endpoint))) {
    log(`warning: etcd does not answer at ${endpoint}; falling back to a copy of the data dir (nothing listens there: etcd is not running)`);
    warnings.push(`etcd does not answer at ${endpoint} (nothing listens there): copied the etcd data dir instead of a snapshot`);
    return dataDirCopy(host, dataDir, warnings, 'file copy of the data dir: consistent only if etcd was stopped');
  }
  const snapshot = await trySnapshot(host, cluster, endpoint, warnings, log);
  if ('snapshotFile' in snapshot) return { ...snapshot, warnings };
  if (!options.allowLiveCopy) {
    throw new RescueError('ETCD_LIVE_COPY', `etcd is running at ${endpoint} but no snapshot could be taken: ${snapshot.problem}. A copy of a running etcd's data dir may be inconsistent, so none was made; nothing was written`, { hint: LIVE_COPY_HINT });
  }
  log(`warning: no snapshot (${snapshot.problem}); copying the data dir of the RUNNING etcd as --allow-live-copy asks`);
  warnings.push(`etcd is running at ${endpoint} but no snapshot could be taken (${snapshot.problem}): copied its live data dir (--allow-live-copy); it may be inconsistent`);
  return dataDirCopy(host, dataDir, warnings, 'file copy of the data dir of a running etcd (--allow-live-copy): may be inconsistent');
}

function dataDirCopy(host: Host, dataDir: string, warnings: string[], note: string): EtcdCapture {
  if (!host.lstat(dataDir)) {
    warnings.push(`etcd data dir ${dataDir} not found: the backup has no etcd data`);
    return { method: 'none', note: `no snapshot and no ${dataDir}`, warnings, dispose() {} };
  }
  warnings.push(`the copy of ${dataDir} is only consistent if etcd was stopped while it was taken`);
  return { method: 'data-dir', dataDir, note, warnings, dispose() {} };
}

type Snapshot = { method: 'snapshot'; snapshotFile: string; endpoint: string; note?: string; dispose(): void } | { problem: string };

/** A snapshot of the etcd listening at endpoint, or why not. */
async function trySnapshot(host: Host, cluster: ClusterFromManifests, endpoint: string, warnings: string[], log: (message: string) => void): Promise<Snapshot> {
  const client = await etcdClient(host, cluster);
  if (!client) return { problem: 'no usable etcd client certificate, and no etcd/ca.key to mint a temporary one' };
  let relay: TlsRelay | undefined;
  try {
    let target;
    try {
      target = { endpoint, caPem: readFileSync(client.caFile), certPem: readFileSync(client.certFile), keyPem: readFileSync(client.keyFile), now: host.now() };
    } catch (error) {
      return { problem: `cannot read etcd's CA or client credentials: ${(error as NodeJS.ErrnoException).path ?? ''} ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`.trim() };
    }
    const serving = await inspectEtcdServingCert(target);
    if (serving.verdict === 'unreachable') return { problem: serving.detail };
    if (serving.verdict === 'untrusted') return { problem: `etcd's serving cert is not one etcd/ca.crt vouches for: ${serving.detail}` };
    let talk: EtcdClient = client;
    let note: string | undefined;
    if (serving.verdict === 'expired') {
      relay = await openTlsRelay(target);
      talk = { ...client, endpoints: [relay.endpoint], plaintext: true };
      note = `etcd's serving cert had expired (${serving.notAfter!.toISOString()}): snapshot taken trusting etcd/ca.crt, ignoring only that expiry`;
      log(`warning: ${serving.detail}; taking the snapshot anyway through a verified relay (chain to etcd/ca.crt and the address checked, only the expiry ignored)`);
      warnings.push(`${serving.detail}: the snapshot was taken anyway, trusting etcd/ca.crt and ignoring only that expiry; renew it: rescue-kit renew etcd-server`);
    }
    const health = await etcdHealthy(host, talk);
    if (health.exitCode === 127) return { problem: 'etcdctl is not installed (install etcd-client, or copy etcdctl out of the etcd image)' };
    if (health.exitCode !== 0) return { problem: `etcdctl endpoint health failed: ${lastLine(health.stderr || health.stdout) || `exit ${health.exitCode}`}${relayProblems(relay)}` };
    const dir = mkdtempSync(join(tmpdir(), 'rescue-kit-snapshot-'));
    const file = join(dir, 'snapshot.db');
    log(`etcd answers at ${endpoint}${client.temporary ? ' (with a temporary client cert: the pki ones have expired)' : ''}: taking a snapshot`);
    const saved = await etcdctl(host, talk, ['snapshot', 'save', file], 30 * 60_000);
    if (saved.exitCode !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return { problem: `etcdctl snapshot save failed: ${lastLine(saved.stderr) || `exit ${saved.exitCode}`}${relayProblems(relay)}` };
    }
    return { method: 'snapshot', snapshotFile: file, endpoint, note, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await relay?.close();
    client.dispose();
  }
}

const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';
const relayProblems = (relay: TlsRelay | undefined) => (relay?.refusals.length ? ` (relay: ${[...new Set(relay.refusals)].join('; ')})` : '');
