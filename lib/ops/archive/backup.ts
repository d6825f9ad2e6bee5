// `backup`: one .tar.gz (0600, optionally encrypted) with /etc/kubernetes, the
// kubelet's pki, etcd (a snapshot, or its data dir as etcd-capture.ts decides),
// and a manifest of every file's sha256, mode and owner.
import { closeSync, constants, createWriteStream, existsSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { ioError, RescueError } from '../../errors.js';
import { freeBytes, fsyncDirectory, makeDirectories, removeFilesMatching } from '../../host/fs.js';
import { isAlive } from '../renewal/journal.js';
import type { Host } from '../../host/host.js';
import { encryptStream } from './archive-crypto.js';
import { BACKUP_PATHS, BackupManifest, DEFAULT_BACKUP_DIR, ManifestEntry, MANIFEST_PATH, SNAPSHOT_PATH } from './backup-manifest.js';
import type { CheckReport } from '../inventory/check.js';
import { readManifests } from '../inventory/manifests.js';
import { captureEtcd, EtcdCapture } from './etcd-capture.js';
import { metaOf, TarWriter } from './tar-writer.js';
import { auditChainHead } from '../audit/append.js';
import { compactTime } from '../../host/time.js';

export interface BackupOptions {
  /** Archive file (real path). Default: ROOT/var/lib/rescue-kit/backups/<host>-<time>.tar.gz (never overwritten: -2, -3... when taken). */
  out?: string;
  /** Replace an existing `out` (never the default: a backup is never overwritten unless asked). */
  force?: boolean;
  passphrase?: string;
  /** 'auto': the policy of etcd-capture.ts (snapshot; data dir when etcd is stopped); 'skip': no etcd. */
  etcd?: 'auto' | 'skip';
  /** Copy the data dir of a running etcd that cannot be snapshotted (else that is refused, exit 3). */
  allowLiveCopy?: boolean;
  /** etcd already captured by the caller (renew does it before taking its lock); disposed here. */
  etcdCapture?: EtcdCapture;
  check?: CheckReport | null;
  version: string;
  /** Extra host paths (tests, custom layouts). */
  paths?: string[];
  /** gzip level (default 6, like tar czf). */
  level?: number;
  log?: (message: string) => void;
  /**
   * Called as the archive grows: bytes written into the tar stream (before compression) and the bytes
   * expected (every file's size plus the snapshot; headers make the real total slightly larger).
   */
  progress?: (bytes: number, expectedBytes: number) => void;
}

export interface BackupResult {
  archive: string;
  manifest: BackupManifest;
  bytes: number;
}

export function defaultBackupPath(host: Host, label = ''): string {
  const stamp = compactTime(host.now());
  return host.real(`${DEFAULT_BACKUP_DIR}/${hostname()}-${stamp}${label ? `-${label}` : ''}.tar.gz`);
}

interface Walked {
  hostPath: string;
  type: ManifestEntry['type'];
}

function walk(host: Host, hostPath: string, out: Walked[], warnings: string[]): void {
  const stats = host.lstat(hostPath);
  if (!stats) return;
  if (stats.isSymbolicLink()) out.push({ hostPath, type: 'symlink' });
  else if (stats.isFile()) out.push({ hostPath, type: 'file' });
  else if (stats.isDirectory()) {
    out.push({ hostPath, type: 'directory' });
    for (const name of readdirSync(host.real(hostPath)).sort()) walk(host, `${hostPath}/${name}`, out, warnings);
  } else warnings.push(`skipped ${hostPath}: not a regular file, directory or symlink`);
}

export async function createBackup(host: Host, options: BackupOptions): Promise<BackupResult> {
  const log = options.log ?? (() => {});
  const warnings: string[] = [];
  const walked: Walked[] = [];
  for (const path of options.paths ?? BACKUP_PATHS) walk(host, path, walked, warnings);
  if (!walked.some((entry) => entry.type === 'file')) {
    options.etcdCapture?.dispose();
    const where = (options.paths ?? BACKUP_PATHS).map((path) => host.real(path)).join(', ');
    throw new RescueError('FILE_NOT_FOUND', `nothing to back up: no files under ${where}`, { hint: 'check --root (it should hold etc/kubernetes)' });
  }

  // etcd first, before anything is written: a snapshot is consistent; a data-dir copy of a running etcd may not be.
  const etcd = options.etcdCapture ?? (await captureEtcd(host, readManifests(host), { mode: options.etcd ?? 'auto', allowLiveCopy: options.allowLiveCopy, log }));
  warnings.push(...etcd.warnings);
  if (etcd.method === 'data-dir') walk(host, etcd.dataDir!, walked, warnings);

  const requested = options.out ?? defaultBackupPath(host);
  const directory = dirname(requested);
  try {
    makeDirectories(directory, 0o700);
  } catch (error) {
    etcd.dispose();
    throw ioError(error, 'no backup was written and nothing was changed');
  }
  removeDeadBackupTemps(directory);
  if (options.out && !options.force && existsSync(requested)) {
    etcd.dispose();
    throw new RescueError('FILE_EXISTS', 'a backup is never overwritten: this file exists', { file: requested, hint: 'choose another --out, or pass --force to replace it' });
  }
  // The writer's pid is spelled out (pid-N) so the sweep can never read a random suffix as a pid.
  const temp = join(directory, `.${basename(requested)}.pid-${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const manifest: BackupManifest = {
    schemaVersion: 1,
    tool: { name: 'rescue-kit', version: options.version },
    hostname: hostname(),
    createdAt: host.now().toISOString(),
    root: host.root,
    encrypted: Boolean(options.passphrase),
    etcd: { method: etcd.method, dataDir: etcd.dataDir, endpoint: etcd.endpoint, note: etcd.note },
    entries: [],
    warnings,
    check: options.check ?? null,
    audit: auditChainHead(host),
  };
  const tarStream = new PassThrough({ highWaterMark: 1 << 20 });
  const expectedBytes = walked.reduce((sum, entry) => sum + (entry.type === 'file' ? (host.lstat(entry.hostPath)?.size ?? 0) : 0), 0) + (etcd.snapshotFile ? statSync(etcd.snapshotFile).size : 0);
  const progress = options.progress;
  const tar = new TarWriter(tarStream, progress ? (bytes) => progress(bytes, expectedBytes) : undefined);
  const stages: (PassThrough | Transform | ReturnType<typeof createGzip>)[] = [tarStream, createGzip({ level: options.level ?? 6, chunkSize: 1 << 17, strategy: zlibConstants.Z_DEFAULT_STRATEGY })];
  if (options.passphrase) stages.push(encryptStream(options.passphrase));
  let fd: number | undefined;
  let archive = requested;
  try {
    // The archive holds every private key: created 0600 from the first byte.
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const sink = createWriteStream('', { fd, autoClose: false });
    const writing = pipeline([...stages, sink] as unknown as [PassThrough, ...Transform[]]);
    // A full disk fails the pipeline while entries are still being added: stop adding at once.
    let failed: unknown;
    writing.catch((error) => {
      failed = error;
      tarStream.destroy(error as Error);
    });
    if (etcd.method === 'data-dir') log(`copying the etcd data dir ${etcd.dataDir} into the archive (no snapshot: consistent only if etcd stays stopped)`);
    for (const entry of walked) {
      if (failed) throw failed;
      await archiveEntry(host, tar, entry, manifest, warnings);
    }
    if (etcd.snapshotFile) {
      const stats = statSync(etcd.snapshotFile);
      const { sha256 } = await tar.addFile(SNAPSHOT_PATH, etcd.snapshotFile, stats.size, { ...metaOf(stats), mode: 0o600 });
      manifest.entries.push({ path: SNAPSHOT_PATH, type: 'file', mode: 0o600, uid: stats.uid, gid: stats.gid, size: stats.size, sha256 });
    }
    await tar.addBuffer(MANIFEST_PATH, Buffer.from(JSON.stringify(manifest, null, 2)), { mode: 0o600, uid: 0, gid: 0, mtime: host.now() });
    await tar.finish();
    await writing;
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    archive = publishWithoutOverwriting(temp, requested, Boolean(options.out), Boolean(options.force));
    fsyncDirectory(directory);
  } catch (error) {
    tarStream.destroy();
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
    rmSync(temp, { force: true });
    if (error instanceof RescueError) throw error;
    const failure = ioError(error, 'no backup was written and nothing was changed');
    if (failure.code !== 'DISK_FULL') throw failure;
    const bytes = walked.reduce((sum, entry) => sum + (entry.type === 'file' ? (host.lstat(entry.hostPath)?.size ?? 0) : 0), 0);
    throw new RescueError('DISK_FULL', `${failure.message}; the files to back up hold ${Math.ceil(bytes / 1024)} KiB before compression and ${directory} has ${Math.floor((freeBytes(directory) ?? 0) / 1024)} KiB free`, {
      hint: `free space there, or write the backup elsewhere: rescue-kit backup --out /other/disk/backup.tar.gz`,
      cause: error,
    });
  } finally {
    etcd.dispose();
  }
  log(`backup written: ${archive}`);
  return { archive, manifest, bytes: statSync(archive).size };
}

/**
 * Put the finished temp in place without ever replacing a backup: link() fails when the name is taken
 * (atomically, unlike a check then rename), so two backups in the same second get -2, -3, ...; an explicit
 * --out that exists is refused unless --force.
 */
function publishWithoutOverwriting(temp: string, requested: string, explicit: boolean, force: boolean): string {
  if (explicit && force) {
    renameSync(temp, requested);
    return requested;
  }
  for (let attempt = 1; attempt < 1000; attempt++) {
    const candidate = attempt === 1 ? requested : requested.replace(/(\.tar\.gz(\.enc)?)?$/, (suffix) => `-${attempt}${suffix}`);
    try {
      linkSync(temp, candidate);
      unlinkSync(temp);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (explicit) throw new RescueError('FILE_EXISTS', 'a backup is never overwritten: this file exists', { file: requested, hint: 'choose another --out, or pass --force to replace it' });
    }
  }
  throw new RescueError('FILE_EXISTS', `999 backups named ${requested}-N already exist`, { hint: 'move old backups away' });
}

/** Partial archives (0600, holding keys) that a killed or failed backup left: removed when their writer is gone. */
export function removeDeadBackupTemps(directory: string): string[] {
  return removeFilesMatching(directory, (name) => {
    const pid = Number((/^\..+\.pid-(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name) ?? LEGACY_TEMP.exec(name))?.[1]);
    return pid > 0 && pid !== process.pid && !isAlive(pid);
  });
}

/** What versions before the pid-N names left: `.NAME.tar.gz.<pid>.tmp`. */
const LEGACY_TEMP = /^\..+\.tar\.gz(?:\.enc)?\.(\d+)\.tmp$/;

async function archiveEntry(host: Host, tar: TarWriter, entry: Walked, manifest: BackupManifest, warnings: string[]): Promise<void> {
  const real = host.real(entry.hostPath);
  const stats = lstatSync(real);
  const meta = metaOf(stats);
  const path = entry.hostPath.replace(/^\//, '');
  const base = { path, type: entry.type, mode: meta.mode, uid: meta.uid, gid: meta.gid };
  if (entry.type === 'directory') {
    await tar.addDirectory(path, meta);
    manifest.entries.push({ ...base, size: 0 });
  } else if (entry.type === 'symlink') {
    const target = readlinkSync(real);
    await tar.addSymlink(path, target, meta);
    manifest.entries.push({ ...base, size: 0, target });
  } else {
    const { sha256, changed } = await tar.addFile(path, real, stats.size, meta);
    if (changed) warnings.push(`${entry.hostPath} changed size while it was archived (stop the writer for a consistent copy)`);
    manifest.entries.push({ ...base, size: stats.size, sha256 });
  }
}
