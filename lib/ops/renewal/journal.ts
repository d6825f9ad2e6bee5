// The run journal: every mutating run gets /var/lib/rescue-kit/runs/<id>/
// (0700) holding journal.json and, staged before the first change, both the
// new bytes and the old bytes of every file it touches. It is written before
// each change, so a run killed at any point can be rolled back (the old bytes
// put back, exactly the files the run changed) or finished (the new ones
// committed) by the next one. A run that stopped before its first change is
// swept away by the next run that takes the lock: it never blocks anyone.
import { closeSync, constants, existsSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ioError, RescueError } from '../../errors.js';
import { makeDirectories, removeStaleTemps, writeError, writeFilesAtomically } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import type { Component, FileChange } from './renew-plan.js';
import { compactTime } from '../../host/time.js';

export const RUNS_DIR = '/var/lib/rescue-kit/runs';
const LOCK = '/var/lib/rescue-kit/lock';

/** 'aborted': stopped before its first change to the tree (nothing to undo). */
export type Phase = 'planned' | 'backed-up' | 'staged' | 'committing' | 'committed' | 'restarting' | 'done' | 'rolled-back' | 'failed' | 'aborted';
export const FINISHED: Phase[] = ['done', 'rolled-back', 'aborted'];
/** Phases in which the tree has not been touched yet: a dead run there left nothing to undo. */
export const BEFORE_ANY_CHANGE: Phase[] = ['planned', 'backed-up', 'staged'];

/** What a path held before the run, so a rollback puts back exactly that (and removes what the run created). */
export type BeforeState =
  | { kind: 'absent' }
  | { kind: 'symlink'; target: string; uid: number; gid: number }
  | { kind: 'file'; staged: string; sha256: string; size: number; mode: number; uid: number; gid: number };

/** A FileChange as the journal keeps it: everything but the bytes (those are staged, 0600, beside the journal). */
export type JournalStep = Pick<FileChange, 'hostPath' | 'kind' | 'target' | 'mode' | 'uid' | 'gid' | 'beforeSha256' | 'afterSha256'> & {
  /** File under staged/ holding the new bytes. */
  staged?: string;
  /** Recorded when staging (runs older than that have none: they roll back from their backup). */
  before?: BeforeState;
  done: boolean;
};

export interface Journal {
  schemaVersion: 1;
  runId: string;
  /** The process that ran it: a live one holding the lock is "in progress", never "interrupted". */
  pid?: number;
  command: string;
  startedAt: string;
  updatedAt: string;
  phase: Phase;
  /** Real path of the backup taken before any change. */
  backup?: string;
  steps: JournalStep[];
  restart: Component[];
  /** How the run restarted components (a rollback restarts them the same way). */
  restartMode?: string;
  restarted: Component[];
  /** Static pod manifests moved out of manifests/ (to move back after a crash). */
  paused: { from: string; to: string }[];
  error?: string;
}

export interface Run {
  dir: string;
  journal: Journal;
  save(): void;
}

export function runIdFor(now: Date): string {
  return `${compactTime(now, { milliseconds: true })}-${process.pid}`;
}

function runAt(host: Host, dir: string, journal: Journal): Run {
  return {
    dir,
    journal,
    save() {
      journal.updatedAt = host.now().toISOString();
      writeFilesAtomically([{ path: join(dir, 'journal.json'), data: `${JSON.stringify(journal, null, 2)}\n`, mode: 0o600 }], { overwrite: true });
    },
  };
}

export function openRun(host: Host, journal: Journal): Run {
  const dir = host.real(`${RUNS_DIR}/${journal.runId}`);
  makeDirectories(join(dir, 'staged'), 0o700);
  const run = runAt(host, dir, journal);
  run.save();
  return run;
}

export function loadRun(host: Host, runId: string): Run {
  const dir = host.real(`${RUNS_DIR}/${runId}`);
  const file = join(dir, 'journal.json');
  if (!existsSync(file)) throw new RescueError('FILE_NOT_FOUND', `no run ${runId}`, { file, hint: 'list runs with rescue-kit rollback --list' });
  return runAt(host, dir, JSON.parse(readFileSync(file, 'utf8')) as Journal);
}

/**
 * All runs, newest first. A journal that cannot be read for want of permission is an error (as non-root,
 * "no runs" would be a lie); a damaged or half-written one is skipped.
 */
export function listRuns(host: Host): Journal[] {
  const dir = host.real(RUNS_DIR);
  const readable = (read: () => string) => {
    try {
      return read();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw ioError(error, 'the runs of this host cannot be listed; nothing was changed');
      return undefined;
    }
  };
  // readdir, not existsSync: existsSync says "absent" for a directory it may not look into.
  const ids = readable(() => readdirSync(dir).join('\n'));
  return (ids ? ids.split('\n') : [])
    .sort()
    .reverse()
    .flatMap((id) => {
      const text = readable(() => readFileSync(join(dir, id, 'journal.json'), 'utf8'));
      try {
        return text === undefined ? [] : [JSON.parse(text) as Journal];
      } catch {
        return [];
      }
    });
}

/**
 * A run that changed the tree and neither finished nor was rolled back (killed, power loss, failed
 * rollback). Runs that stopped before their first change are not: they are swept by sweepAbandonedRuns.
 * The run of a live process holding the lock is in progress, not interrupted.
 */
export function interruptedRuns(host: Host): Journal[] {
  const live = lockHolder(host);
  return listRuns(host).filter((journal) => !FINISHED.includes(journal.phase) && !BEFORE_ANY_CHANGE.includes(journal.phase) && !(live !== undefined && journal.pid === live));
}

/** Refuse to start while another run is live (say so, with its pid) or an earlier one left the tree half-changed. */
export function refuseIfBusyOrInterrupted(host: Host): void {
  const live = lockHolder(host);
  if (live !== undefined && live !== process.pid) {
    const journal = listRuns(host).find((entry) => entry.pid === live && !FINISHED.includes(entry.phase));
    throw new RescueError('RUN_IN_PROGRESS', `another rescue-kit run (pid ${live}${journal ? `, ${journal.command}, phase "${journal.phase}"` : ''}) is in progress`, {
      hint: 'wait for it to finish, then plan again (it is a live run, not a crashed one)',
    });
  }
  const [interrupted] = interruptedRuns(host);
  if (interrupted) {
    throw new RescueError('INTERRUPTED_RUN', `run ${interrupted.runId} (${interrupted.command}) was interrupted in phase "${interrupted.phase}"`, {
      hint: `undo it: rescue-kit rollback --root ${host.root}   or finish it: rescue-kit renew --resume --root ${host.root}`,
    });
  }
}

/**
 * Under the lock: runs that died before their first change are closed as "aborted", their staged bytes
 * (keys among them) removed, and any temp they left beside a target deleted. Best effort: a full disk
 * must not turn this housekeeping into a failure.
 */
export function sweepAbandonedRuns(host: Host): void {
  for (const journal of listRuns(host).filter((entry) => BEFORE_ANY_CHANGE.includes(entry.phase))) {
    if (journal.pid === process.pid) continue;
    journal.error ??= 'stopped before changing anything; closed by the next run';
    closeUnchangedRun(host, runAt(host, host.real(`${RUNS_DIR}/${journal.runId}`), journal));
  }
}

/** Temps a killed commit left beside the run's targets (complete new files, keys among them). */
export function removeRunTemps(host: Host, journal: Journal): void {
  for (const directory of new Set(journal.steps.map((step) => dirname(host.real(step.hostPath))))) removeStaleTemps(directory);
}

/**
 * A run that changed nothing in the tree: "aborted", its temps and staged bytes (keys) removed. Best effort:
 * on a full disk the journal may keep its early phase, and the next run that takes the lock sweeps it again.
 */
export function closeUnchangedRun(host: Host, run: Run): void {
  removeRunTemps(host, run.journal);
  rmSync(join(run.dir, 'staged'), { recursive: true, force: true });
  run.journal.phase = 'aborted';
  try {
    run.save();
  } catch {}
}

/** The pid of a live process holding the lock, if any. */
export function lockHolder(host: Host): number | undefined {
  try {
    const pid = Number(readFileSync(host.real(LOCK), 'utf8'));
    return pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** One mutating run at a time per host; a lock left by a dead process is taken over. Runs that died before changing anything are swept. */
export function acquireLock(host: Host): () => void {
  const path = host.real(LOCK);
  try {
    makeDirectories(join(path, '..'), 0o700);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          writeSync(fd, String(process.pid));
        } catch (error) {
          closeSync(fd);
          rmSync(path, { force: true });
          throw error;
        }
        closeSync(fd);
        sweepAbandonedRuns(host);
        return () => rmSync(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const pid = Number(readFileSync(path, 'utf8'));
        if (pid && isAlive(pid)) {
          throw new RescueError('RUN_IN_PROGRESS', `another rescue-kit run (pid ${pid}) is in progress (it holds ${path})`, { hint: 'wait for it to finish, then plan again (it is a live run, not a crashed one); if that process is gone, remove the lock file' });
        }
        unlinkSync(path);
      }
    }
  } catch (error) {
    throw writeError(error, dirname(path), `nothing was changed (the state directory ${dirname(path)} must be writable)`);
  }
  throw new RescueError('INTERNAL', `could not take ${path}`);
}

/** Is a process with this pid running (EPERM: it is, but not ours)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
