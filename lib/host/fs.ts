// File I/O at the edge: atomic writes (temp file in the same directory, fsync,
// rename, fsync the directory), private keys 0600, and reads whose errors name
// the file and the fix.
import { closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, fsyncSync, lchownSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statfsSync, statSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ioError, RescueError } from '../errors.js';

export const PRIVATE_KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;
const KIB = 1024;

export interface FileToWrite {
  path: string;
  data: string | Buffer;
  mode: number;
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new RescueError('FILE_NOT_FOUND', `${what} not found`, { file: path, hint: 'check the path (relative paths start from the current directory)', cause });
    }
    if (code === 'EISDIR') throw new RescueError('FILE_NOT_FOUND', `${what} is a directory, expected a file`, { file: path, cause });
    throw new RescueError('FILE_NOT_FOUND', `cannot read ${what}: ${(cause as Error).message}`, { file: path, cause });
  }
}

/** Make renames in a directory durable. */
export function fsyncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/** A file, or a symlink (target set), to put in place by prepareWrites + commit. */
export interface EntryToWrite {
  path: string;
  data?: string | Buffer;
  /** Make a symlink with this target instead of a file. */
  linkTarget?: string;
  /** Exact mode for files (whatever the umask). */
  mode: number;
  uid?: number;
  gid?: number;
}

/** Temp files beside their targets, every byte on disk and checked, not yet renamed. */
export interface PreparedWrites {
  /** Rename every temp into place (in order), then fsync each directory once. afterEach: crash-test hook. */
  commit(afterEach?: (index: number) => void): void;
  /** Remove the temps (and any directory prepareWrites created). */
  discard(): void;
}

/** Temp names every writer here uses, so one sweep (removeStaleTemps) finds what a killed run left. */
export const TEMP_SUFFIX = '.rescue-kit';
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.rescue-kit$/;

/** Remove the files of a directory whose names `matches` accepts (best effort). Returns the names removed. */
export function removeFilesMatching(directory: string, matches: (name: string) => boolean): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter(matches)) {
    try {
      unlinkSync(join(directory, name));
      removed.push(name);
    } catch {}
  }
  return removed;
}

/** Remove temps a killed writer left in a directory (they may hold key material). */
export const removeStaleTemps = (directory: string) => removeFilesMatching(directory, (name) => TEMP_NAME.test(name));

/**
 * Refuse before creating a single temp when a filesystem cannot hold what is about to be written
 * (`what`: "the rollback", "the restore"); sizes are summed per device, in whole blocks.
 */
export function assertSpaceFor(writes: { path: string; size: number }[], what: string, rerun: string): void {
  const byDevice = new Map<number, { directory: string; bytes: number }>();
  for (const write of writes) {
    let directory = dirname(write.path);
    while (!existsSync(directory) && dirname(directory) !== directory) directory = dirname(directory);
    const device = statSync(directory).dev;
    const entry = byDevice.get(device) ?? { directory, bytes: 0 };
    entry.bytes += onDiskSize(write.size);
    byDevice.set(device, entry);
  }
  for (const { directory, bytes } of byDevice.values()) {
    const free = freeBytes(directory);
    if (free !== undefined && free < bytes) {
      throw new RescueError('DISK_FULL', `${directory}: no space left on the device for ${what}: it needs about ${Math.ceil(bytes / KIB)} KiB there and ${Math.floor(free / KIB)} KiB are free; nothing was changed`, {
        hint: `free space on that filesystem (old backups in /var/lib/rescue-kit/backups, logs, images), then ${rerun}`,
      });
    }
  }
}

/** Bytes a file of `size` takes on disk (whole 4 KiB blocks, at least one for the inode's data). */
export const onDiskSize = (size: number) => Math.max(1, Math.ceil(size / (4 * KIB))) * 4 * KIB;

/** Free bytes for an unprivileged-looking writer on the filesystem holding `path` (undefined when unknown). */
export function freeBytes(path: string): number | undefined {
  for (let current = path; ; current = dirname(current)) {
    try {
      const stats = statfsSync(current);
      return stats.bavail * stats.bsize;
    } catch {
      if (dirname(current) === current) return undefined;
    }
  }
}

/** "needs about 120 KiB in /x (40 KiB free)": what the ENOSPC message adds, so the fix is concrete. */
export function spaceNeeded(entries: { path: string; size: number }[]): string {
  const byDirectory = new Map<string, number>();
  for (const entry of entries) byDirectory.set(dirname(entry.path), (byDirectory.get(dirname(entry.path)) ?? 0) + onDiskSize(entry.size));
  const parts = [...byDirectory].map(([directory, bytes]) => {
    const free = freeBytes(directory);
    return `${Math.ceil(bytes / KIB)} KiB in ${directory}${free === undefined ? '' : ` (${Math.floor(free / KIB)} KiB free)`}`;
  });
  return `it needs about ${parts.join(', ')}`;
}

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir says ENOENT on a read-only filesystem,
 * where making one component at a time gives EROFS (or EACCES, EPERM). Returns the first directory made.
 */
export function makeDirectories(directory: string, mode = 0o755): string | undefined {
  const missing: string[] = [];
  for (let current = directory; !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing) {
    try {
      mkdirSync(path, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return missing[0];
}

/** ioError for a write into `directory`, adding for a full disk how much space is left there. */
export function writeError(error: unknown, directory: string, outcome = 'nothing was changed'): RescueError {
  const failure = ioError(error, outcome);
  if (failure.code !== 'DISK_FULL') return failure;
  const free = freeBytes(directory);
  return new RescueError('DISK_FULL', `${failure.message}; ${directory} has ${free === undefined ? 'no' : Math.floor(free / KIB)} KiB free`, { hint: failure.hint, cause: error });
}

/**
 * Phase one of an all-or-nothing write: every temp file is created beside its target (mode exact from the
 * first byte, owner set), written completely, fsynced, and its size checked against what was meant, before
 * anything is renamed. Any failure (ENOSPC half-way, EROFS, EPERM) removes every temp and throws a
 * RescueError that says nothing was changed and how much space the write needs.
 */
export function prepareWrites(entries: EntryToWrite[]): PreparedWrites {
  const temps: string[] = [];
  const createdDirectories: string[] = [];
  const canChown = process.getuid?.() === 0;
  const discard = () => {
    for (const temp of temps) {
      try {
        unlinkSync(temp);
      } catch {}
    }
    for (const directory of createdDirectories.reverse()) {
      try {
        rmdirSync(directory);
      } catch {}
    }
  };
  try {
    for (const entry of entries) {
      const directory = dirname(entry.path);
      const made = makeDirectories(directory);
      if (made) for (let current = directory; current.length >= made.length; current = dirname(current)) createdDirectories.unshift(current);
      const temp = tempPathFor(entry.path);
      if (entry.linkTarget !== undefined) {
        symlinkSync(entry.linkTarget, temp);
        temps.push(temp);
        if (canChown && entry.uid !== undefined) lchownSync(temp, entry.uid, entry.gid ?? 0);
        continue;
      }
      const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0));
      // Created with the final mode: a key is never world-readable, not even for a moment.
      const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, entry.mode & 0o600);
      temps.push(temp);
      try {
        if (canChown && entry.uid !== undefined) fchownSync(fd, entry.uid, entry.gid ?? 0);
        fchmodSync(fd, entry.mode); // exact mode whatever the umask (and after chown, which clears setuid bits)
        for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
        fsyncSync(fd);
        const written = fstatSync(fd).size;
        if (written !== data.length) throw new RescueError('WRITE_FAILED', `${temp}: ${written} of ${data.length} bytes reached the disk`, { hint: 'check the disk (dmesg); nothing was changed' });
      } finally {
        closeSync(fd);
      }
    }
  } catch (cause) {
    discard();
    if (cause instanceof RescueError) throw cause;
    const error = ioError(cause, 'nothing was changed');
    if (error.code === 'DISK_FULL') {
      const sizes = entries.map((entry) => ({ path: entry.path, size: entry.linkTarget !== undefined ? 0 : Buffer.byteLength(entry.data ?? '') }));
      throw new RescueError('DISK_FULL', `${error.message}; ${spaceNeeded(sizes)}`, { hint: error.hint, cause });
    }
    throw error;
  }
  return {
    discard,
    commit(afterEach) {
      entries.forEach((entry, index) => {
        renameSync(temps[index]!, entry.path);
        afterEach?.(index);
      });
      temps.length = 0;
      for (const directory of new Set(entries.map((entry) => dirname(entry.path)))) fsyncDirectory(directory);
    },
  };
}

/**
 * Write several files so that either all of them land or none does:
 * every temp file is written, fsynced and checked before the first rename.
 * Existing files are refused unless `overwrite` (nothing is lost by accident).
 */
export function writeFilesAtomically(files: FileToWrite[], options: { overwrite?: boolean } = {}): void {
  if (!options.overwrite) {
    const existing = files.filter((file) => existsSync(file.path)).map((file) => file.path);
    if (existing.length) {
      throw new RescueError('FILE_EXISTS', `refusing to overwrite ${existing.join(', ')}`, {
        hint: 'choose another --out, move the old files away, or pass --force',
      });
    }
  }
  prepareWrites(files).commit();
}

