// The policy for runs that already happened, for every front end alike (CLI,
// wizard, playbook): which run a rollback means, what it would put back, and
// doing it under the lock with a safety backup; finishing an interrupted run.
// Front ends only ask which run and whether to go on, and print the result.
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { createBackup, defaultBackupPath } from '../archive/backup.js';
import { ApplyOptions, ApplyReport, backupPathsFor, restartInOrder, rollbackActions, RollbackAction, rollBackInto, rollbackRun, RollbackResult, resumeRun } from './apply.js';
import { acquireLock, BEFORE_ANY_CHANGE, interruptedRuns, Journal, listRuns, loadRun, lockHolder, Run } from './journal.js';
import type { RestartMode } from './restart.js';

/** A run a rollback can undo, or the reason there is nothing to do (not an error: said and exit 0). */
export type RollbackTarget = { journal: Journal; nothingToDo?: undefined } | { journal?: Journal; nothingToDo: string };

/**
 * The run `rollback` means: the one named, else the interrupted one (the tree is half-changed), else the
 * newest finished one. An aborted or already rolled-back run has nothing to undo; say which earlier one does.
 */
export function chooseRollbackTarget(host: Host, runId?: string): RollbackTarget {
  const runs = listRuns(host);
  const live = lockHolder(host);
  // A run that died before its first change counts as aborted before the next lock sweeps it.
  const stoppedUnchanged = (entry: Journal) => entry.phase === 'aborted' || (BEFORE_ANY_CHANGE.includes(entry.phase) && entry.pid !== live);
  const journal = runId ? runs.find((entry) => entry.runId === runId) : (interruptedRuns(host)[0] ?? runs.find((entry) => entry.phase === 'done' || stoppedUnchanged(entry)));
  if (!journal) throw new RescueError('FILE_NOT_FOUND', runId ? `no run ${runId} under ${host.root}` : 'no run to roll back', { hint: 'list runs: rescue-kit rollback --list' });
  if (stoppedUnchanged(journal)) {
    const earlier = runs.find((entry) => entry.phase === 'done');
    return { journal, nothingToDo: `run ${journal.runId} stopped before changing anything: there is nothing to roll back${!runId && earlier ? ` (an earlier run can be: rescue-kit rollback --run ${earlier.runId})` : ''}` };
  }
  if (journal.phase === 'rolled-back') return { journal, nothingToDo: `run ${journal.runId} is already rolled back` };
  return { journal };
}

/**
 * Close runs that died before their first change (marked aborted, their temps and staged keys removed):
 * what taking the lock does, for a front end that found nothing to roll back.
 */
export function closeAbandonedRuns(host: Host): void {
  acquireLock(host)();
}

/** Runs journalled before old bytes were staged restore their whole backup instead of the journal's steps. */
export function rollsBackFromJournal(journal: Journal): boolean {
  return journal.steps.every((step) => step.before);
}

export type RollbackPreview = { fromJournal: true; actions: RollbackAction[] } | { fromJournal: false; backup: string };

/** What a rollback of this run would do (rollback --dry-run, the wizard's question); writes nothing. */
export function previewRollback(host: Host, journal: Journal): RollbackPreview {
  return rollsBackFromJournal(journal) ? { fromJournal: true, actions: rollbackActions(host, loadRun(host, journal.runId)) } : { fromJournal: false, backup: journal.backup ?? '' };
}

/** The restart mode a rollback uses unless told: the one the run itself restarted with. */
export function rollbackRestartMode(journal: Journal, requested?: RestartMode): RestartMode {
  return requested ?? (journal.restartMode as RestartMode | undefined) ?? 'none';
}

export interface RollbackOutcome extends RollbackResult {
  run: Run;
  restart: RestartMode;
  /** The safety backup of the current state, taken before a whole-backup restore. */
  safetyBackup?: string;
}

export interface RollbackRunOptions extends Pick<ApplyOptions, 'timeoutMs' | 'pollMs' | 'log' | 'version'> {
  restart?: RestartMode;
}

/**
 * Roll one run back, under the lock (refused while another run is live; it also closes runs that died
 * before changing anything). The target is chosen again under the lock, so a run finished or rolled back
 * by someone else in the meantime is not undone twice.
 */
export async function rollbackUnderLock(host: Host, runId: string | undefined, options: RollbackRunOptions): Promise<RollbackOutcome | { nothingToDo: string }> {
  const unlock = acquireLock(host);
  try {
    const target = chooseRollbackTarget(host, runId);
    if (target.nothingToDo !== undefined) return { nothingToDo: target.nothingToDo };
    const { journal } = target;
    let safetyBackup: string | undefined;
    if (!rollsBackFromJournal(journal)) {
      // An older run without its old bytes staged: keep what it wrote (new keys included) before restoring its backup.
      const paths = backupPathsFor(journal.steps.map((step) => step.hostPath)).filter((path) => host.lstat(path));
      safetyBackup = (await createBackup(host, { out: defaultBackupPath(host, `pre-rollback-${journal.runId}`), paths, etcd: 'skip', version: options.version, check: null })).archive;
    }
    const run = loadRun(host, journal.runId);
    const restart = rollbackRestartMode(journal, options.restart);
    if (run.journal.restarted.length) options.log(`restarting what the run restarted (${run.journal.restarted.join(', ')}) with --restart ${restart}`);
    const result = await rollbackRun(host, run, { ...options, restart });
    return { ...result, run, restart, safetyBackup };
  } finally {
    unlock();
  }
}

/**
 * Finish an interrupted run (renew --resume): commit what it had not written, restart what it had not
 * restarted; on any failure roll it back. Undefined when there is no interrupted run.
 */
export async function resumeInterruptedRun(host: Host, options: ApplyOptions): Promise<{ report: ApplyReport; committed: number } | undefined> {
  // Taking the lock also closes runs that died before changing anything: only real interruptions remain.
  const unlock = acquireLock(host);
  const started = Date.now();
  try {
    const [interrupted] = interruptedRuns(host);
    if (!interrupted) return undefined;
    const run = loadRun(host, interrupted.runId);
    const report: ApplyReport = { runId: run.journal.runId, backup: run.journal.backup ?? '', steps: [], ok: false, rolledBack: false, rollbackProblems: [], elapsedMs: 0 };
    let committed = 0;
    try {
      committed = resumeRun(host, run, options.log);
      options.log(`finished writing run ${run.journal.runId} (${committed} files were still pending)`);
      const remaining = run.journal.restart.filter((component) => !run.journal.restarted.includes(component));
      await restartInOrder(host, run, remaining, options, report);
      run.journal.phase = 'done';
      run.save();
      report.ok = true;
    } catch (error) {
      report.failure = (error as Error).message;
      await rollBackInto(report, host, run, options);
    }
    report.elapsedMs = Date.now() - started;
    return { report, committed };
  } finally {
    unlock();
  }
}
