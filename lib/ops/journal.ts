// The run journal: every mutating run gets /var/lib/rescue-kit/runs/<id>/
// (0700) holding journal.json and the staged new files. It is written before
// each change, so a run killed at any point can be rolled back (restore the
// backup) or finished (commit the remaining staged files) by the next one.
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RescueError } from '../errors.js';
import { writeFilesAtomically } from '../host/fs.js';
import type { Host } from '../host/host.js';
import type { Component, FileChange } from './renew-plan.js';

export const RUNS_DIR = '/var/lib/rescue-kit/runs';
const LOCK = '/var/lib/rescue-kit/lock';

export type Phase = 'planned' | 'backed-up' | 'staged' | 'committing' | 'committed' | 'restarting' | 'done' | 'rolled-back' | 'failed';
export const FINISHED: Phase[] = ['done', 'rolled-back'];

/** A FileChange as the journal keeps it: everything but the bytes (those are staged, 0600, beside the journal). */
export type JournalStep = Pick<FileChange, 'hostPath' | 'kind' | 'target' | 'mode' | 'uid' | 'gid' | 'beforeSha256' | 'afterSha256'> & {
  /** File under staged/ holding the new bytes. */
  staged?: string;
  done: boolean;
};

export interface Journal {
  schemaVersion: 1;
  runId: string;
  command: string;
  startedAt: string;
  updatedAt: string;
  phase: Phase;
  /** Real path of the backup taken before any change. */
  backup?: string;
  steps: JournalStep[];
  restart: Component[];
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
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z')}-${process.pid}`;
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
  mkdirSync(join(dir, 'staged'), { recursive: true, mode: 0o700 });
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

/** All runs, newest first. */
export function listRuns(host: Host): Journal[] {
  const dir = host.real(RUNS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .reverse()
    .flatMap((id) => {
      try {
        return [JSON.parse(readFileSync(join(dir, id, 'journal.json'), 'utf8')) as Journal];
      } catch {
        return [];
      }
    });
}

/** A run that neither finished nor was rolled back (killed, power loss, failed rollback). */
export function interruptedRuns(host: Host): Journal[] {
  return listRuns(host).filter((journal) => !FINISHED.includes(journal.phase) && journal.phase !== 'planned');
}

/** One mutating run at a time per host; a lock left by a dead process is taken over. */
export function acquireLock(host: Host): () => void {
  const path = host.real(LOCK);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8'));
      if (pid && isAlive(pid)) {
        throw new RescueError('FILE_EXISTS', `another rescue-kit run (pid ${pid}) holds ${path}`, { hint: 'wait for it to finish; if it is gone, remove the lock file' });
      }
      unlinkSync(path);
    }
  }
  throw new RescueError('INTERNAL', `could not take ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
