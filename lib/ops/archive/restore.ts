// `restore`: put a backup back byte for byte. Pass 1 reads and checks the whole
// archive (nothing written); the plan shows what changes; pass 2 streams files
// into temp files beside their targets; only when every temp is complete are
// they renamed into place. Files the backup did not have are removed (they are
// in the pre-restore backup the caller takes first).
import { chmodSync, chownSync, closeSync, constants, fstatSync, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, Stats, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../pki/digest.js';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { ioError, RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { ArchiveContents, ArchiveEntry, readArchive } from './archive-reader.js';
import { BACKUP_PATHS } from './backup-manifest.js';
import { assertSpaceFor, fsyncDirectory, spaceNeeded, tempPathFor } from '../../host/fs.js';
import { certificateEntry, certificateInFile, recordAudit } from '../audit/entries.js';
import type { AuditEntry } from '../audit/record.js';

export type RestoreAction = 'create' | 'replace' | 'unchanged' | 'remove' | 'skip';

export interface RestorePlanItem {
  path: string;
  type: ArchiveEntry['type'];
  action: RestoreAction;
  reason?: string;
}

export interface RestorePlan {
  archive: string;
  contents: ArchiveContents;
  items: RestorePlanItem[];
  counts: Record<RestoreAction, number>;
}

export interface RestoreOptions {
  passphrase?: string;
  /** Also put back a copied etcd data dir (off by default: etcd may have moved on). */
  includeEtcd?: boolean;
  /** Record the restore in the audit log (rollback records its own lines instead). */
  audit?: { command: string; backup?: string; log: (message: string) => void };
}

const isOurs = (path: string) => path.startsWith('rescue-kit/');

function sha256File(path: string): string {
  return sha256Hex(readFileSync(path));
}

function currentMatches(host: Host, entry: ArchiveEntry): boolean {
  const real = host.real(`/${entry.path}`);
  let stats: Stats;
  try {
    stats = lstatSync(real);
  } catch {
    return false;
  }
  if ((stats.mode & 0o7777) !== entry.mode) return false;
  if (entry.type === 'directory') return stats.isDirectory();
  if (entry.type === 'symlink') return stats.isSymbolicLink() && readlinkSync(real) === entry.target;
  return stats.isFile() && stats.size === entry.size && sha256File(real) === entry.sha256;
}

/** Refuse to write through a symlinked parent directory (it could lead outside --root). */
function assertNoSymlinkedParents(host: Host, path: string): void {
  const parts = path.split('/');
  for (let index = 1; index < parts.length; index++) {
    const stats = host.lstat(`/${parts.slice(0, index).join('/')}`);
    if (stats?.isSymbolicLink()) {
      throw new RescueError('UNSAFE_ARCHIVE', `/${parts.slice(0, index).join('/')} is a symlink on this host; restoring ${path} through it could write outside --root`, {
        hint: 'replace the symlink with a directory, or restore into another --root and copy',
      });
    }
  }
}

export async function planRestore(host: Host, archive: string, options: RestoreOptions = {}): Promise<RestorePlan> {
  const contents = await readArchive(archive, { passphrase: options.passphrase });
  const etcdDir = contents.manifest.etcd.method === 'data-dir' ? contents.manifest.etcd.dataDir?.replace(/^\//, '') : undefined;
  const inEtcd = (path: string) => etcdDir !== undefined && (path === etcdDir || path.startsWith(`${etcdDir}/`));
  const items: RestorePlanItem[] = contents.entries.map((entry) => {
    if (isOurs(entry.path)) return { path: entry.path, type: entry.type, action: 'skip', reason: 'rescue-kit metadata / etcd snapshot (restore it with etcdctl snapshot restore)' };
    if (inEtcd(entry.path) && !options.includeEtcd) return { path: entry.path, type: entry.type, action: 'skip', reason: 'etcd data dir (pass --include-etcd)' };
    assertNoSymlinkedParents(host, entry.path);
    const exists = host.lstat(`/${entry.path}`) !== undefined;
    return { path: entry.path, type: entry.type, action: !exists ? 'create' : currentMatches(host, entry) ? 'unchanged' : 'replace' };
  });
  // Anything under the backed-up trees that the backup did not have goes (it is in the pre-restore backup).
  const archived = new Map(contents.entries.map((entry) => [entry.path, entry.type]));
  const roots = BACKUP_PATHS.map((path) => path.slice(1)).filter((path) => archived.has(path));
  for (const root of roots) {
    const walk = (relative: string) => {
      for (const name of readdirSync(host.real(`/${relative}`))) {
        const path = `${relative}/${name}`;
        const stats = host.lstat(`/${path}`)!;
        if (!archived.has(path)) items.push({ path, type: stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'file', action: 'remove' });
        // Only walk into a host directory the archive also has as a directory: one it turns into a
        // link or file is removed whole (lstat, no following) when that entry is put in place.
        else if (stats.isDirectory() && !stats.isSymbolicLink() && archived.get(path) === 'directory') walk(path);
      }
    };
    if (host.lstat(`/${root}`)?.isDirectory()) walk(root);
  }
  const counts = { create: 0, replace: 0, unchanged: 0, remove: 0, skip: 0 } as Record<RestoreAction, number>;
  for (const item of items) counts[item.action]++;
  return { archive, contents, items, counts };
}

interface Staged {
  entry: ArchiveEntry;
  temp: string;
  target: string;
}

/**
 * Where restore streams one archived file: a temp beside its target (0600 until renamed), written with
 * plain synchronous writes so an ENOSPC fails the read at once, then fsynced and checked — every byte,
 * the size and the sha256 the manifest lists — before the file counts as staged.
 */
function verifyingSink(entry: ArchiveEntry, fd: number, temp: string): Writable {
  const hash = createHash('sha256');
  let size = 0;
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      try {
        for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset);
        hash.update(chunk);
        size += chunk.length;
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        fsyncSync(fd);
        const onDisk = fstatSync(fd).size;
        const sha = hash.digest('hex');
        if (size !== entry.size || onDisk !== entry.size || sha !== entry.sha256) {
          throw new RescueError('WRITE_FAILED', `${temp}: staged ${onDisk} of ${entry.size} bytes for /${entry.path} (or a different sha256); nothing was changed`, { hint: 'check the disk (dmesg) and run restore again' });
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** Refuse before writing anything (the safety backup included) when the files to put back cannot fit. */
export function assertRestoreFits(host: Host, plan: RestorePlan): void {
  const actionOf = new Map(plan.items.map((item) => [item.path, item.action]));
  assertFits(host, plan.contents.entries.filter((entry) => entry.type === 'file' && ['create', 'replace'].includes(actionOf.get(entry.path) ?? '')));
}

function assertFits(host: Host, entries: ArchiveEntry[]): void {
  assertSpaceFor(entries.map((entry) => ({ path: host.real(`/${entry.path}`), size: entry.size })), 'the restore', 'run the restore again');
}

/**
 * Apply a plan made by planRestore. Returns the paths written. All or nothing: every file is staged
 * complete and verified (and every missing directory made) before the first rename; a failure until then
 * removes what was staged and throws with "nothing was changed".
 */
export async function applyRestore(host: Host, plan: RestorePlan, options: RestoreOptions = {}): Promise<string[]> {
  const actionOf = new Map(plan.items.map((item) => [item.path, item.action]));
  const wanted = (path: string) => {
    const action = actionOf.get(path);
    return action === 'create' || action === 'replace';
  };
  const createdDirs: string[] = [];
  const ensureDir = (dir: string) => {
    const missing: string[] = [];
    for (let current = dir; !host.lstat(host.hostPath(current)); current = dirname(current)) missing.unshift(current);
    for (const path of missing) {
      // Parents the archive does not list get mkdir -p's usual 0755; listed ones get their mode below.
      mkdirSync(path, { mode: 0o755 });
      chmodSync(path, 0o755);
      createdDirs.push(path);
    }
  };
  const staged: Staged[] = [];
  const canChown = process.getuid?.() === 0;
  const entries = plan.contents.entries.filter((entry) => wanted(entry.path));
  assertFits(host, entries.filter((entry) => entry.type === 'file'));
  try {
    // Directories the tree lacks are made now, before any rename (a full disk fails here, not half-way).
    for (const entry of entries.filter((item) => item.type === 'directory' && !host.lstat(`/${item.path}`))) ensureDir(host.real(`/${entry.path}`));
    // Stream files into temp files beside their targets (the archive is re-verified as it goes).
    await readArchive(plan.archive, {
      passphrase: options.passphrase,
      sink: (entry) => {
        if (entry.type !== 'file' || !wanted(entry.path)) return undefined;
        const target = host.real(`/${entry.path}`);
        ensureDir(dirname(target));
        const temp = tempPathFor(target);
        const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        staged.push({ entry, temp, target });
        const sink = verifyingSink(entry, fd, temp);
        sink.once('close', () => closeSync(fd));
        return sink;
      },
    });
  } catch (error) {
    for (const { temp } of staged) rmSync(temp, { force: true });
    for (const dir of createdDirs.reverse()) {
      try {
        rmdirSync(dir);
      } catch {}
    }
    const failure = ioError(error, 'nothing was changed');
    if (failure.code === 'DISK_FULL') throw new RescueError('DISK_FULL', `${failure.message}; ${spaceNeeded(entries.filter((entry) => entry.type === 'file').map((entry) => ({ path: host.real(`/${entry.path}`), size: entry.size })))}`, { hint: failure.hint, cause: error });
    throw failure;
  }
  // Every byte is on disk: now the renames, directories first, then files and links, then removals.
  const written: string[] = [];
  for (const entry of entries.filter((item) => item.type === 'directory')) {
    const target = host.real(`/${entry.path}`);
    const stats = host.lstat(`/${entry.path}`);
    if (stats && !stats.isDirectory()) rmSync(target, { force: true });
    mkdirSync(target, { recursive: true });
    chmodSync(target, entry.mode);
    if (canChown) chownSync(target, entry.uid, entry.gid);
    written.push(entry.path);
  }
  for (const { entry, temp, target } of staged) {
    chmodSync(temp, entry.mode);
    if (canChown) chownSync(temp, entry.uid, entry.gid);
    const stats = host.lstat(`/${entry.path}`);
    if (stats?.isDirectory()) rmSync(target, { recursive: true, force: true });
    renameSync(temp, target);
    written.push(entry.path);
  }
  for (const item of plan.items.filter((entry) => entry.action === 'remove')) {
    rmSync(host.real(`/${item.path}`), { recursive: true, force: true });
    written.push(item.path);
  }
  for (const entry of entries.filter((item) => item.type === 'symlink')) {
    const target = host.real(`/${entry.path}`);
    ensureDir(dirname(target));
    const temp = tempPathFor(target);
    symlinkSync(entry.target!, temp);
    if (canChown) {
      try {
        lchownSync(temp, entry.uid, entry.gid); // the link itself, not its target
      } catch {}
    }
    if (host.lstat(`/${entry.path}`)?.isDirectory()) rmSync(target, { recursive: true, force: true });
    renameSync(temp, target);
    written.push(entry.path);
  }
  for (const dir of new Set(staged.map((item) => dirname(item.target)))) fsyncDirectory(dir);
  if (options.audit) recordAudit(host, { command: options.audit.command, result: 'ok', backup: options.audit.backup, detail: `restored from ${plan.archive}` }, restoredEntries(host, plan), options.audit.log);
  return written;
}

/** The certificates a restore put in place (CREATE where there was none, UPDATE where one was replaced) or removed (REVOKE). */
function restoredEntries(host: Host, plan: RestorePlan): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const item of plan.items) {
    if (item.type !== 'file' || !['create', 'replace', 'remove'].includes(item.action)) continue;
    const name = item.path.split('/').pop()!;
    if (item.action === 'remove') {
      if (/\.(crt|pem)$/.test(name)) entries.push({ action: 'REVOKE', cert: name, path: `/${item.path}`, detail: 'removed: the backup did not have it' });
      continue;
    }
    const certificate = certificateInFile(host, `/${item.path}`);
    if (certificate) entries.push(certificateEntry(item.action === 'create' ? 'CREATE' : 'UPDATE', name, certificate, `/${item.path}`));
  }
  return entries;
}

/** After a restore: does the tree hold exactly what the archive lists (for the restored entries)? */
export function verifyRestored(host: Host, plan: RestorePlan): string[] {
  const problems: string[] = [];
  for (const entry of plan.contents.entries) {
    const action = plan.items.find((item) => item.path === entry.path)?.action;
    if (action === 'skip') continue;
    if (!currentMatches(host, entry)) problems.push(entry.path);
  }
  for (const item of plan.items.filter((entry) => entry.action === 'remove')) {
    if (host.lstat(`/${item.path}`)) problems.push(`${item.path} (should have been removed)`);
  }
  return problems;
}

