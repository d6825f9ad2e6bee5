// `rescue-kit backup`, `backup verify`, `restore`.
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, ioError, RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { readArchive } from '../../ops/archive/archive-reader.js';
import { isEncrypted } from '../../ops/archive/archive-crypto.js';
import { createBackup, defaultBackupPath } from '../../ops/archive/backup.js';
import { SNAPSHOT_PATH } from '../../ops/archive/backup-manifest.js';
import { checkInventory } from '../../ops/inventory/check.js';
import { discover } from '../../ops/inventory/discover.js';
import { snapshotStatus } from '../../ops/renewal/etcd.js';
import { applyRestore, assertRestoreFits, planRestore, verifyRestored } from '../../ops/archive/restore.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { green, printJson, red, say, table, warn } from '../output.js';
import { readPassphrase } from './passphrase.js';
import { version } from '../version.js';
import { confirmOrAbort } from './confirm.js';
import { byteProgress } from '../progress.js';

export interface BackupCommandOptions {
  root: string;
  out?: string;
  force?: boolean;
  encrypt?: boolean;
  passphraseFile?: string;
  etcd: boolean;
  allowLiveCopy?: boolean;
  json?: boolean;
}

export async function backup(options: BackupCommandOptions): Promise<void> {
  const host = createHost({ root: options.root });
  const passphrase = options.encrypt ? await readPassphrase(options, true) : undefined;
  const check = checkInventory(discover(host), { now: host.now(), warnMs: 30 * 86_400_000 });
  const started = Date.now();
  const progress = byteProgress('archiving');
  let result;
  try {
    result = await createBackup(host, { out: options.out, force: options.force, passphrase, etcd: options.etcd ? 'auto' : 'skip', allowLiveCopy: options.allowLiveCopy, check, version: version(), log: (message) => (progress.end(), say(message)), progress: progress.update });
  } finally {
    progress.end();
  }
  result.manifest.warnings.forEach(warn);
  const files = result.manifest.entries.filter((entry) => entry.type === 'file').length;
  if (options.json) return printJson({ archive: result.archive, bytes: result.bytes, files, etcd: result.manifest.etcd, encrypted: result.manifest.encrypted, warnings: result.manifest.warnings });
  say(`${files} files, etcd: ${result.manifest.etcd.method}, ${(result.bytes / 1e6).toFixed(1)} MB${passphrase ? ', encrypted' : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${result.archive}\n`);
}

export async function passphraseFor(file: string, options: { passphraseFile?: string }): Promise<string | undefined> {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      head = Buffer.alloc(64);
      head = head.subarray(0, readSync(fd, head, 0, 64, 0));
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    throw new RescueError('FILE_NOT_FOUND', `cannot read the backup: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { file, hint: 'check the path', cause });
  }
  return isEncrypted(head) ? readPassphrase(options, false) : undefined;
}

export async function backupVerify(file: string, options: { passphraseFile?: string; json?: boolean }): Promise<void> {
  const host = createHost();
  const passphrase = await passphraseFor(file, options);
  const scratch = mkdtempSync(join(tmpdir(), 'rescue-kit-verify-'));
  try {
    const snapshotFile = join(scratch, 'snapshot.db');
    const contents = await readArchive(file, {
      passphrase,
      sink: (entry) => (entry.path === SNAPSHOT_PATH ? createWriteStream(snapshotFile, { mode: 0o600 }) : undefined),
    });
    const files = contents.entries.filter((entry) => entry.type === 'file');
    let snapshot: { ok: boolean; detail: string } | undefined;
    if (contents.manifest.etcd.method === 'snapshot') {
      snapshot = await snapshotStatus(host, snapshotFile);
      if (!snapshot.ok) process.exitCode = ExitCode.invalidInput;
    }
    const summary = {
      archive: file,
      ok: !snapshot || snapshot.ok,
      files: files.length,
      bytes: files.reduce((sum, entry) => sum + entry.size, 0),
      createdAt: contents.manifest.createdAt,
      hostname: contents.manifest.hostname,
      etcd: { ...contents.manifest.etcd, snapshotStatus: snapshot?.detail },
    };
    if (options.json) return printJson(summary);
    say(`${green('OK')}: ${files.length} files match the manifest (sha256), made ${summary.createdAt} on ${summary.hostname}`);
    if (snapshot) say(snapshot.ok ? `${green('OK')}: etcd snapshot: ${snapshot.detail}` : `${red('FAILED')}: etcd snapshot: ${snapshot.detail}`);
    else say(`etcd: ${contents.manifest.etcd.method}${contents.manifest.etcd.note ? ` (${contents.manifest.etcd.note})` : ''}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface RestoreCommandOptions {
  root: string;
  dryRun?: boolean;
  yes?: boolean;
  includeEtcd?: boolean;
  passphraseFile?: string;
  json?: boolean;
}

export async function restore(file: string, options: RestoreCommandOptions): Promise<void> {
  const host = createHost({ root: options.root });
  const passphrase = await passphraseFor(file, options);
  const plan = await planRestore(host, file, { passphrase, includeEtcd: options.includeEtcd });
  const changes = plan.items.filter((item) => item.action !== 'unchanged' && item.action !== 'skip');
  if (options.json) printJson({ archive: file, counts: plan.counts, changes });
  else {
    say(`restore ${file} (made ${plan.contents.manifest.createdAt} on ${plan.contents.manifest.hostname}) into ${host.root}`);
    if (changes.length) say(table(['ACTION', 'TYPE', 'PATH'], changes.map((item) => [item.action, item.type, `/${item.path}`])));
    say(Object.entries(plan.counts).map(([action, count]) => `${action}: ${count}`).join(', '));
  }
  if (options.dryRun) return;
  if (!changes.length) return say('nothing to change');
  await confirmOrAbort(options.yes, `restore ${changes.length} paths under ${host.root}?`);
  assertRestoreFits(host, plan);
  // Take the current state first, so the restore itself can be undone (unless there is nothing left to take).
  let before: string | undefined;
  // Save what this restore will touch: the trees the archive holds that exist here now.
  const archived = new Set(plan.contents.entries.map((entry) => entry.path));
  const roots = plan.contents.entries
    .filter((entry) => entry.type === 'directory' && !archived.has(entry.path.split('/').slice(0, -1).join('/')) && !entry.path.startsWith('rescue-kit'))
    .map((entry) => `/${entry.path}`)
    .filter((path) => host.lstat(path));
  if (roots.length) {
    const saved = await createBackup(host, { out: defaultBackupPath(host, 'pre-restore'), paths: roots, etcd: 'skip', version: version(), check: null }).catch((error: Error) => {
      const failure = ioError(error, 'nothing was changed');
      throw new RescueError(failure.code === 'INTERNAL' ? 'ABORTED' : failure.code, `could not back up the current state before restoring: ${failure.message}`, { hint: failure.hint ?? 'free space under /var/lib/rescue-kit/backups or pass a writable --root', cause: error });
    });
    before = saved.archive;
    say(`current state saved: ${before}`);
  } else say('nothing the backup holds exists here yet: nothing to save before restoring');
  await applyRestore(host, plan, { passphrase, audit: { command: 'restore', backup: before, log: say } });
  const problems = verifyRestored(host, plan);
  if (problems.length) {
    throw new RescueError('INTERNAL', `restored tree differs from the backup at: ${problems.slice(0, 5).join(', ')}`, { hint: before ? `the previous state is in ${before}` : undefined });
  }
  say(`${green('restored')}: ${changes.length} paths; the tree now matches the backup byte for byte.${before ? ` Undo with: rescue-kit restore ${before} --root ${options.root}` : ''}`);
}
