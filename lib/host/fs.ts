// File I/O at the edge: atomic writes (temp file in the same directory, fsync,
// rename, fsync the directory), private keys 0600, and reads whose errors name
// the file and the fix.
import { closeSync, constants, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { RescueError } from '../errors.js';

export const PRIVATE_KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

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

/**
 * Write several files so that either all of them land or none does:
 * every temp file is written and fsynced before the first rename.
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
  const temps: string[] = [];
  try {
    for (const file of files) {
      const directory = dirname(file.path);
      mkdirSync(directory, { recursive: true, mode: 0o755 });
      const temp = join(directory, `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
      // Created with the final mode: a key is never world-readable, not even for a moment.
      const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, file.mode);
      temps.push(temp);
      try {
        fchmodSync(fd, file.mode); // exact mode whatever the umask

        const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
        for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  } catch (cause) {
    for (const temp of temps) {
      try {
        unlinkSync(temp);
      } catch {}
    }
    if (cause instanceof RescueError) throw cause;
    throw new RescueError('WRITE_FAILED', `could not write ${files.map((file) => file.path).join(', ')}: ${(cause as Error).message}`, {
      hint: 'check free space and permissions; nothing was changed',
      cause,
    });
  }
  files.forEach((file, index) => renameSync(temps[index]!, file.path));
  for (const directory of new Set(files.map((file) => dirname(file.path)))) fsyncDirectory(directory);
}

/**
 * writeFilesAtomically for many files at once: temp files are written and fsynced
 * concurrently (the filesystem can then commit them together instead of one
 * journal flush per file), renamed only when all are durable, and each directory
 * is fsynced once. Same all-or-nothing contract; refuses to overwrite unless asked.
 */
export async function writeFilesAtomicallyInBulk(files: FileToWrite[], options: { overwrite?: boolean; concurrency?: number } = {}): Promise<void> {
  const { open, rename, rm, mkdir } = await import('node:fs/promises');
  if (!options.overwrite) {
    const existing = files.filter((file) => existsSync(file.path)).map((file) => file.path);
    if (existing.length) throw new RescueError('FILE_EXISTS', `refusing to overwrite ${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ' ...' : ''}`, { hint: 'choose another output, or pass --force' });
  }
  const directories = [...new Set(files.map((file) => dirname(file.path)))];
  await Promise.all(directories.map((directory) => mkdir(directory, { recursive: true, mode: 0o755 })));
  const temps = files.map((file) => join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`));
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < files.length; index = next++) {
      const file = files[index]!;
      const handle = await open(temps[index]!, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, file.mode);
      try {
        await handle.chmod(file.mode);
        await handle.writeFile(file.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, files.length) }, worker));
  } catch (cause) {
    await Promise.all(temps.map((temp) => rm(temp, { force: true })));
    throw new RescueError('WRITE_FAILED', `could not write ${files.length} files under ${directories[0]}: ${(cause as Error).message}`, { hint: 'check free space and permissions; nothing was changed', cause });
  }
  await Promise.all(files.map((file, index) => rename(temps[index]!, file.path)));
  for (const directory of directories) fsyncDirectory(directory);
}
