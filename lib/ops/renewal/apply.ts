// Applying a renewal Plan safely: lock, re-check the plan's fingerprints,
// journal, backup, stage every new and every old file in the run's directory,
// prepare complete temps beside every target, then rename them all; restart in
// order with a health check after each step — and on any failure, put back the
// old bytes of exactly the files the run changed and restart what was
// restarted. A failure before the first rename changes nothing and blocks no
// one. A run killed anywhere is finished (resumeRun) or undone (rollbackRun).
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { sha256Hex } from '../../pki/digest.js';
import { dirname, join } from 'node:path';
import { ioError, RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { createBackup, defaultBackupPath } from '../archive/backup.js';
import { BACKUP_PATHS } from '../archive/backup-manifest.js';
import { captureEtcd, EtcdCapture } from '../archive/etcd-capture.js';
import { assertSpaceFor, EntryToWrite, fsyncDirectory, prepareWrites, writeError } from '../../host/fs.js';
import { commandName, journalEntries, planEntries, recordAudit } from '../audit/entries.js';
import { checkHealth, GateContext, HealthResult } from './health.js';
import { restartWouldLoseQuorum } from './etcd-cluster.js';
import { acquireLock, BEFORE_ANY_CHANGE, closeUnchangedRun, removeRunTemps, BeforeState, Journal, JournalStep, openRun, refuseIfBusyOrInterrupted, Run, runIdFor, RUNS_DIR } from './journal.js';
import { readManifests } from '../inventory/manifests.js';
import { Component, currentFingerprint, RenewPlan } from './renew-plan.js';
import { detectRestartMode, RestartMode, RestartResult, restartComponent, restartModeProblem, unpauseAll } from './restart.js';
import { applyRestore, planRestore, verifyRestored } from '../archive/restore.js';

export interface ApplyOptions {
  command: string;
  version: string;
  restart: RestartMode;
  /** Per component, for the restart and again for the health check. */
  timeoutMs: number;
  pollMs?: number;
  apiserverUrl?: string;
  etcdBackup: 'auto' | 'skip';
  /** The automatic backup may copy a running etcd's data dir when no snapshot can be taken (else the run is refused, exit 3). */
  allowLiveCopy?: boolean;
  log: (message: string) => void;
}

export interface StepReport {
  component: Component;
  restart: RestartResult;
  health?: HealthResult;
}

export interface ApplyReport {
  runId: string;
  backup: string;
  steps: StepReport[];
  ok: boolean;
  rolledBack: boolean;
  rollbackProblems: string[];
  failure?: string;
  elapsedMs: number;
}

/**
 * Deterministic crash injection for the crash-safety tests (like etcd's gofail):
 * RESCUE_KIT_FAILPOINT=<name> kills the process with SIGKILL when that point is reached.
 */
export function failpoint(name: string): void {
  if (process.env.RESCUE_KIT_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}


/** Staged new bytes of a step, checked against the journal (a damaged stage is never written into the tree). */
function stagedBytes(run: Run, name: string, expectedSha256: string, what: string): Buffer {
  const data = readFileSync(join(run.dir, 'staged', name));
  if (sha256Hex(data) !== expectedSha256) {
    throw new RescueError('INTERNAL', `staged file for ${what} is damaged (sha256 mismatch)`, { file: join(run.dir, 'staged', name), hint: 'roll back: rescue-kit rollback' });
  }
  return data;
}

/** Paths whose content differs from what the plan (or journal) fingerprinted: someone changed the tree meanwhile. */
export function changedSincePlan(host: Host, steps: Pick<JournalStep, 'hostPath' | 'kind' | 'beforeSha256'>[]): string[] {
  return steps.filter((step) => currentFingerprint(host, step.hostPath, step.kind) !== step.beforeSha256).map((step) => step.hostPath);
}

function assertUnchangedSincePlan(host: Host, steps: Pick<JournalStep, 'hostPath' | 'kind' | 'beforeSha256'>[], inputs: RenewPlan['inputs'] = []): void {
  const changed = [...changedSincePlan(host, steps), ...inputs.filter((input) => currentFingerprint(host, input.hostPath, 'file') !== input.sha256).map((input) => input.hostPath)];
  if (changed.length) {
    throw new RescueError('TREE_CHANGED', `the tree changed since the plan was made (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}); nothing was changed`, {
      hint: 'another run or the kubelet wrote these files: plan again (run the same command again)',
    });
  }
}

/**
 * Commit every step all-or-nothing: each new file is prepared as a complete, fsynced temp beside its
 * target first (a full disk fails here, with nothing renamed), the journal then says "committing", and only
 * then are the temps renamed. Idempotent: resume simply commits every step again.
 */
export function commitSteps(host: Host, run: Run, afterEach?: (index: number) => void): void {
  const { journal } = run;
  const writes = journal.steps.filter((step) => step.kind !== 'delete');
  const prepared = prepareWrites(
    writes.map((step) =>
      step.kind === 'symlink'
        ? { path: host.real(step.hostPath), linkTarget: step.target!, mode: 0o777, uid: step.uid, gid: step.gid }
        : { path: host.real(step.hostPath), data: stagedBytes(run, step.staged!, step.afterSha256, step.hostPath), mode: step.mode, uid: step.uid, gid: step.gid },
    ),
  );
  failpoint('prepared');
  const previous = journal.phase;
  try {
    journal.phase = 'committing';
    run.save();
  } catch (error) {
    // The journal could not say "committing" (full disk): nothing may be renamed, and the run is still unchanged.
    journal.phase = previous;
    prepared.discard();
    throw error;
  }
  prepared.commit(afterEach);
  for (const step of journal.steps.filter((entry) => entry.kind === 'delete')) rmSync(host.real(step.hostPath), { force: true });
  for (const directory of new Set(journal.steps.map((step) => dirname(host.real(step.hostPath))))) fsyncDirectory(directory);
  for (const step of journal.steps) step.done = true;
}

export function journalFor(plan: RenewPlan, runId: string, command: string, startedAt: string, restartMode?: RestartMode): Journal {
  return {
    schemaVersion: 1,
    runId,
    pid: process.pid,
    command,
    startedAt,
    updatedAt: startedAt,
    phase: 'planned',
    steps: plan.changes.map((change, index) => ({
      hostPath: change.hostPath,
      kind: change.kind,
      target: change.target,
      mode: change.mode,
      uid: change.uid,
      gid: change.gid,
      beforeSha256: change.beforeSha256,
      afterSha256: change.afterSha256,
      staged: change.kind === 'file' ? String(index) : undefined,
      done: false,
    })),
    restart: plan.restart,
    restartMode,
    restarted: [],
    paused: [],
  };
}

/** What a path holds now, as a BeforeState (the bytes themselves are returned to be staged). */
function stateOf(host: Host, hostPath: string, stagedName: string): { state: BeforeState; data?: Buffer } {
  const stats = host.lstat(hostPath);
  if (!stats) return { state: { kind: 'absent' } };
  const real = host.real(hostPath);
  if (stats.isSymbolicLink()) return { state: { kind: 'symlink', target: readlinkSync(real), uid: stats.uid, gid: stats.gid } };
  if (!stats.isFile()) throw new RescueError('TREE_CHANGED', `${hostPath} is no longer a regular file; nothing was changed`, { hint: 'plan again' });
  const data = readFileSync(real);
  return { state: { kind: 'file', staged: stagedName, sha256: sha256Hex(data), size: data.length, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid }, data };
}

/**
 * Stage the run before touching the tree: every new file and every old one (keys included; 0600 in the
 * run's 0700 directory), complete and fsynced, so the run can be finished or undone from its own directory
 * whatever happens next. The old bytes are read under the lock and must still be what the plan saw.
 */
function stageRun(host: Host, run: Run, plan: RenewPlan): void {
  const staged = join(run.dir, 'staged');
  const files: EntryToWrite[] = [];
  run.journal.steps.forEach((step, index) => {
    const change = plan.changes[index]!;
    if (change.kind === 'file') files.push({ path: join(staged, String(index)), data: change.data!, mode: 0o600 });
    const before = stateOf(host, step.hostPath, `before-${index}`);
    step.before = before.state;
    if (before.data) files.push({ path: join(staged, `before-${index}`), data: before.data, mode: 0o600 });
  });
  assertUnchangedSincePlan(host, run.journal.steps, plan.inputs);
  prepareWrites(files).commit();
}

/** The usual trees, plus the directory of any file changed outside them (a binary install's pki folder). */
export function backupPathsFor(changedFiles: string[]): string[] {
  const inside = (path: string) => BACKUP_PATHS.some((root) => path === root || path.startsWith(`${root}/`));
  const extra = changedFiles.map((file) => dirname(file)).filter((dir) => !inside(dir));
  return [...BACKUP_PATHS, ...new Set(extra)].filter((path, index, all) => !all.some((other, j) => j !== index && path.startsWith(`${other}/`)));
}

export async function applyRenewPlan(host: Host, plan: RenewPlan, options: ApplyOptions): Promise<ApplyReport> {
  const started = Date.now();
  const misfit = await restartModeProblem(host, options.restart, plan.restart);
  if (misfit) {
    const detected = await detectRestartMode(host);
    throw new RescueError('PRECONDITION', `--restart ${options.restart} does not fit this host: ${misfit}; nothing was changed`, {
      hint: detected !== options.restart ? `this host looks like --restart ${detected}${detected === 'none' ? ' (then restart the components yourself)' : ''}` : 'fix the runtime first, or pass --restart none and restart the components yourself',
    });
  }
  if (options.restart !== 'none' && plan.restart.includes('etcd')) {
    const quorum = await restartWouldLoseQuorum(host, readManifests(host));
    if (quorum) {
      throw new RescueError('PRECONDITION', `${quorum}; nothing was changed`, {
        hint: 'bring the other members back first (or remove a dead one: etcdctl member remove ID), then renew this node; one control-plane node at a time',
      });
    }
  }
  const unlock = acquireLock(host);
  const report: ApplyReport = { runId: '', backup: '', steps: [], ok: false, rolledBack: false, rollbackProblems: [], elapsedMs: 0 };
  let run: Run | undefined;
  let etcd: EtcdCapture | undefined;
  try {
    // Under the lock: no other run can start now, so re-check what the plan was made from.
    refuseIfBusyOrInterrupted(host);
    assertUnchangedSincePlan(host, plan.changes, plan.inputs);
    // etcd before the run exists: a running etcd that cannot be snapshotted refuses the run (exit 3) with
    // nothing created, unless --allow-live-copy; the same policy as `backup` (archive/etcd-capture.ts).
    etcd = await captureEtcd(host, readManifests(host), { mode: options.etcdBackup, allowLiveCopy: options.allowLiveCopy, log: options.log });
    const runId = uniqueRunId(host);
    report.runId = runId;
    run = openRun(host, journalFor(plan, runId, options.command, host.now().toISOString(), options.restart));
  } catch (error) {
    etcd?.dispose();
    unlock();
    throw writeError(error, host.real(RUNS_DIR));
  }
  const { journal } = run;
  try {
    options.log('backing up the current state');
    const backup = await createBackup(host, { out: defaultBackupPath(host, `pre-renew-${report.runId}`), paths: backupPathsFor(plan.changes.map((change) => change.hostPath)), etcdCapture: etcd, version: options.version, check: null, log: options.log });
    journal.backup = report.backup = backup.archive;
    journal.phase = 'backed-up';
    run.save();
    failpoint('backed-up');

    stageRun(host, run, plan);
    journal.phase = 'staged';
    run.save();
    failpoint('staged');

    // commitSteps saves "committing" once every temp is complete and before the first rename: from then on
    // the tree may be a mix until "committed", and the next run either commits every step again (resume)
    // or puts the old bytes back (rollback).
    commitSteps(host, run, (index) => failpoint(`commit:${index}`));
    journal.phase = 'committed';
    run.save();
    failpoint('committed');

    await restartInOrder(host, run, plan.restart, options, report);
    journal.phase = 'done';
    report.ok = true;
    try {
      run.save();
    } catch (error) {
      // Every file is written and every component healthy: a journal that cannot say "done" (a disk filled by
      // something else meanwhile) is no reason to undo a good renewal. It stays "committed"; --resume closes it.
      options.log(`warning: the journal could not record "done": ${ioError(error, 'the renewal itself is complete').message}; run rescue-kit renew --resume once there is space`);
    }
  } catch (error) {
    report.failure = (error as Error).message;
    journal.error = report.failure;
    if (BEFORE_ANY_CHANGE.includes(journal.phase)) {
      // Nothing in the tree was changed (the backup, the staging or the temps failed): say so, leave nothing
      // behind that could block the next run, and keep no staged key material.
      closeUnchangedRun(host, run);
      auditQuietly(host, options, plan, report, 'failed');
      throw ioError(error, 'nothing was changed');
    }
    options.log(`failed: ${report.failure}; rolling back`);
    await rollBackInto(report, host, run, options);
  } finally {
    unlock();
    report.elapsedMs = Date.now() - started;
  }
  auditQuietly(host, options, plan, report, report.ok ? 'ok' : report.rolledBack ? 'rolled-back' : 'failed');
  return report;
}

/** One run id per run even for two runs started in the same millisecond by one pid (tests, the wizard). */
function uniqueRunId(host: Host): string {
  const base = runIdFor(host.now());
  for (let suffix = 0; ; suffix++) {
    const id = suffix ? `${base}.${suffix}` : base;
    if (!host.lstat(`${RUNS_DIR}/${id}`)) return id;
  }
}

/** The audit lines must never turn a finished (or safely failed) run into a crash: a full disk gets a warning. */
function auditQuietly(host: Host, options: ApplyOptions, plan: RenewPlan, report: ApplyReport, result: 'ok' | 'rolled-back' | 'failed'): void {
  recordAudit(host, { command: commandName(options.command), runId: report.runId, result, backup: report.backup || undefined, detail: report.failure }, planEntries(plan, report.ok), options.log);
}

/** Restart each component in order, health-check it, throw (for the rollback) at the first failure. */
export async function restartInOrder(host: Host, run: Run, components: Component[], options: ApplyOptions, report: ApplyReport): Promise<void> {
  const { journal } = run;
  if (options.restart === 'none') {
    if (components.length) options.log(`warning: not restarting (--restart none): ${components.join(', ')} must be restarted to load the new certificates`);
    return;
  }
  journal.phase = 'restarting';
  run.save();
  const cluster = readManifests(host);
  const timing = { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 1000 };
  // etcd's gate tells the apiserver's whether quorum can exist yet (all peer certs expired: see etcd-cluster.ts).
  const gates: GateContext = {};
  for (const component of components) {
    options.log(`restarting ${component} (${options.restart})`);
    const restart = await restartComponent(host, options.restart, component, {
      ...timing,
      onPause: (pause) => {
        journal.paused = pause ? [pause] : [];
        run.save();
      },
    });
    journal.restarted.push(component);
    run.save();
    failpoint(`restarted:${component}`);
    const health = restart.ok ? await checkHealth(host, cluster, component, { ...timing, apiserverUrl: options.apiserverUrl }, gates) : undefined;
    report.steps.push({ component, restart, health });
    if (!restart.ok || (health && !health.ok)) {
      throw new RescueError('FAILED_ROLLED_BACK', `${component}: ${!restart.ok ? restart.detail : health!.detail}`);
    }
    options.log(`${component}: ${restart.detail}${health ? `; ${health.detail}` : ''}`);
    if (health?.pending) options.log(`${component}: passed, not whole yet: ${health.pending}`);
  }
}

/** After a failure: roll the run back and record in the report whether that fully worked. */
export async function rollBackInto(report: ApplyReport, host: Host, run: Run, options: ApplyOptions): Promise<void> {
  try {
    const rollback = await rollbackRun(host, run, options);
    report.rolledBack = rollback.problems.length === 0;
    report.rollbackProblems = rollback.problems;
  } catch (error) {
    // E.g. no space even for the old bytes: the run stays "interrupted" (journal and staged bytes kept), so
    // `rescue-kit rollback` can finish the job once space is freed.
    report.rolledBack = false;
    report.rollbackProblems = [ioError(error, 'the rollback did not start; the run is kept for rescue-kit rollback').message];
  }
}

export interface RollbackResult {
  problems: string[];
  restarts: RestartResult[];
  /** Paths put back (or removed because the run had created them). */
  restored: string[];
  /** Files changed by someone else since the run, saved into the run's directory before being replaced. */
  saved: string[];
}

/**
 * Undo exactly what the journal says the run changed: each path gets its old bytes, mode and owner back
 * (from the run's own staged copy), files the run created are removed, and nothing else in the tree is
 * touched (a cert the kubelet rotated since stays). Space is checked first, every temp is complete before
 * the first rename, and a file someone changed after the run is saved beside the journal before it is
 * replaced. Runs journalled before old bytes were staged fall back to restoring their backup.
 */
export async function rollbackRun(host: Host, run: Run, options: Pick<ApplyOptions, 'restart' | 'timeoutMs' | 'pollMs' | 'log' | 'version'>): Promise<RollbackResult> {
  const { journal } = run;
  const legacy = journal.steps.some((step) => !step.before);
  if (legacy && !journal.backup) throw new RescueError('FILE_NOT_FOUND', `run ${journal.runId} has no backup recorded: nothing was changed by it`);
  unpauseAll(host, journal.paused);
  journal.paused = [];
  // Temps a killed commit left beside the targets (complete new files, keys among them) go first.
  removeRunTemps(host, journal);
  const { restored, saved, problems } = legacy ? await restoreFromBackup(host, journal) : putBackBefore(host, run);
  journal.phase = problems.length ? 'failed' : 'rolled-back';
  run.save();
  recordAudit(
    host,
    { command: 'rollback', runId: journal.runId, result: problems.length ? 'failed' : 'ok', backup: journal.backup, detail: problems.length ? `not restored: ${problems.slice(0, 5).join(', ')}` : `rollback of: ${journal.command}` },
    journalEntries(host, journal),
    options.log,
  );
  const restarts: RestartResult[] = [];
  for (const component of journal.restarted) {
    options.log(`restarting ${component} again with the restored certificates`);
    restarts.push(await restartComponent(host, options.restart, component, { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 1000 }));
  }
  return { problems, restarts, restored, saved };
}

async function restoreFromBackup(host: Host, journal: Journal) {
  const plan = await planRestore(host, journal.backup!);
  const restored = await applyRestore(host, plan);
  return { restored, saved: [], problems: verifyRestored(host, plan) };
}

/** Does `hostPath` hold exactly the before-state? */
function holdsBefore(host: Host, hostPath: string, before: BeforeState): boolean {
  const stats = host.lstat(hostPath);
  if (before.kind === 'absent') return !stats;
  if (!stats) return false;
  if (before.kind === 'symlink') return stats.isSymbolicLink() && readlinkSync(host.real(hostPath)) === before.target;
  return stats.isFile() && (stats.mode & 0o7777) === before.mode && stats.size === before.size && sha256Hex(readFileSync(host.real(hostPath))) === before.sha256;
}

export interface RollbackAction {
  hostPath: string;
  /** What the rollback does to this path: put the old bytes (or link) back, remove what the run created, or nothing. */
  action: 'restore' | 'remove' | 'unchanged';
  /** Someone changed it after the run: it is saved into the run's directory before being replaced. */
  changedSinceRun: boolean;
}

/** What a rollback from the journal would do, path by path (rollback --dry-run prints it; putBackBefore does it). */
export function rollbackActions(host: Host, run: Run): RollbackAction[] {
  return run.journal.steps.map((step) => {
    const before = step.before!;
    if (holdsBefore(host, step.hostPath, before)) return { hostPath: step.hostPath, action: 'unchanged', changedSinceRun: false };
    const stats = host.lstat(step.hostPath);
    const changedSinceRun = Boolean(stats?.isFile() && sha256Hex(readFileSync(host.real(step.hostPath))) !== step.afterSha256);
    return { hostPath: step.hostPath, action: before.kind === 'absent' ? 'remove' : 'restore', changedSinceRun };
  });
}

function putBackBefore(host: Host, run: Run) {
  const { journal } = run;
  const writes: EntryToWrite[] = [];
  const removals: string[] = [];
  const saved: string[] = [];
  const actions = rollbackActions(host, run);
  actions.forEach(({ action, changedSinceRun }, index) => {
    if (action === 'unchanged') return;
    const step = journal.steps[index]!;
    const before = step.before!;
    // Changed by someone else after the run (neither the run's bytes nor the old ones): keep a copy first.
    if (changedSinceRun) {
      writes.unshift({ path: join(run.dir, 'replaced-by-rollback', String(index)), data: readFileSync(host.real(step.hostPath)), mode: 0o600 });
      saved.push(step.hostPath);
    }
    if (before.kind === 'absent') removals.push(step.hostPath);
    else if (before.kind === 'symlink') writes.push({ path: host.real(step.hostPath), linkTarget: before.target, mode: 0o777, uid: before.uid, gid: before.gid });
    else writes.push({ path: host.real(step.hostPath), data: stagedBytes(run, before.staged, before.sha256, step.hostPath), mode: before.mode, uid: before.uid, gid: before.gid });
  });
  assertSpaceFor(writes.map((write) => ({ path: write.path, size: write.data ? Buffer.byteLength(write.data) : 0 })), 'the rollback', 'run rescue-kit rollback again');
  prepareWrites(writes).commit();
  for (const path of removals) rmSync(host.real(path), { force: true });
  for (const directory of new Set(removals.map((path) => dirname(host.real(path))))) fsyncDirectory(directory);
  const problems = journal.steps.filter((step) => !holdsBefore(host, step.hostPath, step.before!)).map((step) => step.hostPath);
  return { restored: actions.filter((entry) => entry.action !== 'unchanged').map((entry) => entry.hostPath), saved, problems };
}

/** Finish an interrupted run: commit the staged files it had not written yet (restarts: restartInOrder). */
export function resumeRun(host: Host, run: Run, log: (message: string) => void = () => {}): number {
  const { journal } = run;
  if (!['staged', 'committing', 'committed', 'restarting'].includes(journal.phase)) {
    throw new RescueError('USAGE', `run ${journal.runId} is "${journal.phase}": there is nothing to finish`, { hint: journal.phase === 'backed-up' ? 'it stopped before staging: roll it back (nothing changed) and run renew again' : undefined });
  }
  unpauseAll(host, journal.paused);
  journal.paused = [];
  // Idempotent: a step whose rename landed before the crash is simply written again.
  removeRunTemps(host, journal);
  const committed = journal.steps.filter((step) => !step.done).length;
  commitSteps(host, run);
  journal.phase = 'committed';
  run.save();
  recordAudit(host, { command: commandName(journal.command), runId: journal.runId, result: 'ok', backup: journal.backup, detail: 'an interrupted run, finished by --resume' }, journalEntries(host, journal), log);
  return committed;
}
