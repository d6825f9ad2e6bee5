// Read a backup archive safely: decrypt if needed, parse tar entries, refuse
// anything hostile (absolute or ".." paths, links escaping the root, devices,
// hard links, duplicates), hash every file, and check it all against the
// manifest — before anything is written anywhere.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser } from 'tar/parse';
import type { ReadEntry } from 'tar/read-entry';
import { isIoError, RescueError } from '../../errors.js';
import { decryptStream, isEncrypted, ENCRYPTION_MAGIC } from './archive-crypto.js';
import { BackupManifest, EntryType, ManifestEntry, MANIFEST_PATH } from './backup-manifest.js';

/** An entry as read from the archive: the same fields the manifest lists (sha256 computed while reading). */
export type ArchiveEntry = ManifestEntry;

export interface ArchiveContents {
  manifest: BackupManifest;
  entries: ArchiveEntry[];
}

/** Called with each regular file's bytes as they stream (restore writes them; verify ignores them). */
export type FileSink = (entry: ArchiveEntry) => Writable | undefined;

const unsafe = (file: string, message: string) =>
  new RescueError('UNSAFE_ARCHIVE', message, { file, hint: 'this archive was not made by rescue-kit or was tampered with; nothing was written' });

/** A safe archive path: relative, normalised, no "..", no NUL. */
export function checkArchivePath(file: string, path: string): string {
  const stripped = path.replace(/\/+$/, '');
  if (stripped === '' || path.includes('\0')) throw unsafe(file, `empty or NUL path in archive entry`);
  if (posix.isAbsolute(path)) throw unsafe(file, `absolute path in archive: ${path}`);
  if (stripped.split('/').includes('..')) throw unsafe(file, `".." in archive path: ${path}`);
  if (posix.normalize(stripped) !== stripped) throw unsafe(file, `non-normalised archive path: ${path}`);
  return stripped;
}

/** A symlink target must resolve inside the root (absolute targets are re-rooted). */
export function checkLinkTarget(file: string, path: string, target: string): void {
  const resolved = posix.isAbsolute(target) ? posix.normalize(target) : posix.normalize(posix.join('/', posix.dirname(path), target));
  if (resolved.startsWith('/..') || resolved === '..' || target.includes('\0')) throw unsafe(file, `symlink ${path} -> ${target} points outside the root`);
  // posix.normalize('/../x') gives '/x' (clamped): detect a relative target that climbs above "/" explicitly.
  if (!posix.isAbsolute(target)) {
    let depth = path.split('/').length - 1;
    for (const part of target.split('/')) {
      if (part === '..') depth--;
      else if (part && part !== '.') depth++;
      if (depth < 0) throw unsafe(file, `symlink ${path} -> ${target} points outside the root`);
    }
  }
}

function typeOf(file: string, entry: ReadEntry): EntryType {
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    default:
      throw unsafe(file, `unsupported entry type ${entry.type} for ${entry.path} (devices, FIFOs and hard links are refused)`);
  }
}

function sniff(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(ENCRYPTION_MAGIC.length);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export async function readArchive(file: string, options: { passphrase?: string; sink?: FileSink } = {}): Promise<ArchiveContents> {
  const encrypted = isEncrypted(sniff(file));
  if (encrypted && !options.passphrase) {
    throw new RescueError('USAGE', 'this backup is encrypted', { file, hint: 'pass --passphrase-file FILE (or run on a terminal to be asked)' });
  }
  const entries: ArchiveEntry[] = [];
  const seen = new Set<string>();
  let manifestText: string | undefined;
  const pending: Promise<void>[] = [];
  let failure: Error | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        const path = checkArchivePath(file, entry.path);
        const type = typeOf(file, entry);
        if (seen.has(path)) throw unsafe(file, `duplicate archive entry ${path}`);
        seen.add(path);
        const record: ArchiveEntry = { path, type, mode: (entry.mode ?? 0) & 0o7777, uid: entry.uid ?? 0, gid: entry.gid ?? 0, size: entry.size ?? 0 };
        if (type === 'symlink') {
          record.target = entry.linkpath ?? '';
          checkLinkTarget(file, path, record.target);
        }
        entries.push(record);
        if (type !== 'file') return entry.resume();
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        const sink = path === MANIFEST_PATH ? undefined : options.sink?.(record);
        const done = new Promise<void>((resolve, reject) => {
          // Listen from the first byte: a sink failing mid-file (ENOSPC) must fail the read, never go unheard.
          sink?.once('error', (error) => {
            entry.resume();
            reject(error);
          });
          entry.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            if (path === MANIFEST_PATH) chunks.push(chunk);
            else if (sink && !sink.destroyed && !sink.write(chunk)) {
              entry.pause();
              sink.once('drain', () => entry.resume());
            }
          });
          entry.on('end', () => {
            record.sha256 = hash.digest('hex');
            if (path === MANIFEST_PATH) manifestText = Buffer.concat(chunks).toString();
            if (!sink) return resolve();
            sink.end((error?: Error | null) => (error ? reject(error) : resolve()));
          });
          entry.on('error', reject);
        });
        // Handled now (awaited after the parse): a sink that fails early must not be an unhandled rejection.
        done.catch(() => {});
        pending.push(done);
      } catch (error) {
        failure ??= error as Error;
        entry.resume();
      }
    },
  });
  parser.on('warn', (code: string, message: string) => {
    failure ??= new RescueError('INVALID_ARCHIVE', `damaged archive (${code}: ${message})`, { file, hint: 'the file is truncated or corrupt; use another copy of the backup' });
  });
  if (encrypted) {
    // GCM's tag is at the end: authenticate the whole file before any plaintext is parsed, so a wrong
    // passphrase (or a changed file) is reported as such, not as whatever the garbage parses into.
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), decryptStream(options.passphrase!, file), discard);
  }
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    const stages = encrypted ? [source, decryptStream(options.passphrase!, file), parser] : [source, parser];
    await pipeline(stages as unknown as [PassThrough, PassThrough]);
    await Promise.all(pending);
  } catch (error) {
    if (error instanceof RescueError || isIoError(error)) throw error;
    throw new RescueError('INVALID_ARCHIVE', `damaged archive: ${(error as Error).message}`, { file, hint: 'the file is truncated or corrupt; use another copy of the backup', cause: error });
  }
  if (failure) throw failure;
  if (!manifestText) throw new RescueError('INVALID_ARCHIVE', `no ${MANIFEST_PATH} in the archive: not a rescue-kit backup, or truncated`, { file, hint: 'use a backup made by rescue-kit backup' });
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(manifestText) as BackupManifest;
  } catch {
    throw new RescueError('INVALID_ARCHIVE', 'the manifest inside the archive is not valid JSON', { file });
  }
  const nonDirectories = new Map(entries.filter((entry) => entry.type !== 'directory').map((entry) => [entry.path, entry.type]));
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let index = 1; index < parts.length; index++) {
      const parent = parts.slice(0, index).join('/');
      const type = nonDirectories.get(parent);
      if (type) throw unsafe(file, `${entry.path} is beneath ${parent}, which the archive makes a ${type}`);
    }
  }
  compareWithManifest(file, manifest, entries);
  return { manifest, entries: entries.filter((entry) => entry.path !== MANIFEST_PATH) };
}

/** Every archive entry must be in the manifest with the same type, size, hash, mode and target — and vice versa. */
function compareWithManifest(file: string, manifest: BackupManifest, entries: ArchiveEntry[]): void {
  const listed = new Map<string, ManifestEntry>(manifest.entries.map((entry) => [entry.path, entry]));
  const problems: string[] = [];
  for (const entry of entries) {
    if (entry.path === MANIFEST_PATH) continue;
    const expected = listed.get(entry.path);
    if (!expected) {
      problems.push(`${entry.path} is in the archive but not in the manifest`);
      continue;
    }
    listed.delete(entry.path);
    if (expected.type !== entry.type) problems.push(`${entry.path}: type ${entry.type}, manifest says ${expected.type}`);
    else if (entry.type === 'file' && (expected.sha256 !== entry.sha256 || expected.size !== entry.size)) problems.push(`${entry.path}: sha256 does not match the manifest`);
    else if (entry.type === 'symlink' && expected.target !== entry.target) problems.push(`${entry.path}: link target differs from the manifest`);
    else if (expected.mode !== entry.mode) problems.push(`${entry.path}: mode ${entry.mode.toString(8)}, manifest says ${expected.mode.toString(8)}`);
  }
  for (const missing of listed.keys()) problems.push(`${missing} is in the manifest but missing from the archive`);
  if (problems.length) {
    throw new RescueError('INVALID_ARCHIVE', `the archive does not match its manifest: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`, {
      file,
      hint: 'the backup was changed after it was written; use another copy',
    });
  }
}
