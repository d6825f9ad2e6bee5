// Applying a renewal Plan safely: lock, journal, backup, stage every new file,
// commit each with an atomic rename (journal updated after each), restart in
// order with a health check after each step — and on any failure, restore the
// backup byte for byte and restart what was restarted. A run killed anywhere
// is finished (resumeRun) or undone (rollbackRun) by the next invocation.
import { chownSync, closeSync, constants, fsyncSync, lchownSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { RescueError } from '../errors.js';
import type { Host } from '../host/host.js';
import { createBackup, defaultBackupPath } from './backup.js';
import { BACKUP_PATHS } from './backup-manifest.js';
import { fsyncDirectory } from '../host/fs.js';
import { appendAudit } from './audit.js';
import { checkHealth, HealthResult } from './health.js';
import { acquireLock, Journal, JournalStep, openRun, Run, runIdFor } from './journal.js';
import { readManifests } from './manifests.js';
import type { Component, RenewPlan } from './renew-plan.js';
import { RestartMode, RestartResult, restartComponent, unpauseAll } from './restart.js';
import { applyRestore, planRestore, verifyRestored } from './restore.js';

export interface ApplyOptions {
  command: string;
  version: string;
  restart: RestartMode;
  /** Per component, for the restart and again for the health check. */
  timeoutMs: number;
  pollMs?: number;
  apiserverUrl?: string;
  etcdBackup: 'auto' | 'skip';
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

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Write one journal step into place: temp beside the target, fsync, owner and mode, rename.
 * Idempotent (resume simply commits every step again). The caller fsyncs the directories
 * once all steps are in (commitSteps), instead of once per file.
 */
export function commitStep(host: Host, run: Run, step: JournalStep): void {
  const target = host.real(step.hostPath);
  if (step.kind === 'delete') {
    rmSync(target, { force: true });
    return;
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.rescue-kit`);
  if (step.kind === 'symlink') {
    symlinkSync(step.target!, temp);
    try {
      lchownSync(temp, step.uid, step.gid);
    } catch {}
  } else {
    const data = readFileSync(join(run.dir, 'staged', step.staged!));
    if (sha256(data) !== step.afterSha256) {
      throw new RescueError('INTERNAL', `staged file for ${step.hostPath} is damaged (sha256 mismatch)`, { hint: 'roll back: rescue-kit rollback' });
    }
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, step.mode);
    try {
      for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      chownSync(temp, step.uid, step.gid);
    } catch {}
  }
  renameSync(temp, target);
}

/** Commit every step, then make the renames durable (one fsync per directory). */
export function commitSteps(host: Host, run: Run, steps: JournalStep[], afterEach?: (index: number) => void): void {
  steps.forEach((step, index) => {
    commitStep(host, run, step);
    afterEach?.(index);
  });
  for (const directory of new Set(steps.map((step) => dirname(host.real(step.hostPath))))) fsyncDirectory(directory);
  for (const step of steps) step.done = true;
}

export function journalFor(plan: RenewPlan, runId: string, command: string, startedAt: string): Journal {
  return {
    schemaVersion: 1,
    runId,
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
    restarted: [],
    paused: [],
  };
}

/** The usual trees, plus the directory of any file changed outside them (a binary install's pki folder). */
export function backupPathsFor(changedFiles: string[]): string[] {
  const inside = (path: string) => BACKUP_PATHS.some((root) => path === root || path.startsWith(`${root}/`));
  const extra = changedFiles.map((file) => dirname(file)).filter((dir) => !inside(dir));
  return [...BACKUP_PATHS, ...new Set(extra)].filter((path, index, all) => !all.some((other, j) => j !== index && path.startsWith(`${other}/`)));
}

export async function applyRenewPlan(host: Host, plan: RenewPlan, options: ApplyOptions): Promise<ApplyReport> {
  const started = Date.now();
  const unlock = acquireLock(host);
  const runId = runIdFor(host.now());
  const run = openRun(host, journalFor(plan, runId, options.command, host.now().toISOString()));
  const { journal } = run;
  const report: ApplyReport = { runId, backup: '', steps: [], ok: false, rolledBack: false, rollbackProblems: [], elapsedMs: 0 };
  try {
    options.log('backing up the current state');
    const backup = await createBackup(host, { out: defaultBackupPath(host, `pre-renew-${runId}`), paths: backupPathsFor(plan.changes.map((change) => change.hostPath)), etcd: options.etcdBackup, version: options.version, check: null, log: options.log });
    journal.backup = report.backup = backup.archive;
    journal.phase = 'backed-up';
    run.save();
    failpoint('backed-up');

    // Stage every new file (keys included, 0600, in the run's private dir) before touching the tree.
    plan.changes.forEach((change, index) => {
      if (change.kind !== 'file') return;
      const path = join(run.dir, 'staged', String(index));
      writeFileSync(path, change.data!, { mode: 0o600 });
      const fd = openSync(path, 'r');
      fsyncSync(fd);
      closeSync(fd);
    });
    journal.phase = 'staged';
    run.save();
    failpoint('staged');

    // From here the tree may be a mix until 'committed': the journal says so, and the next run
    // either commits every step again (resume: steps are idempotent) or restores the backup.
    journal.phase = 'committing';
    run.save();
    commitSteps(host, run, journal.steps, (index) => failpoint(`commit:${index}`));
    journal.phase = 'committed';
    run.save();
    failpoint('committed');

    await restartInOrder(host, run, plan.restart, options, report);
    journal.phase = 'done';
    run.save();
    rmSync(join(run.dir, 'staged'), { recursive: true, force: true });
    report.ok = true;
  } catch (error) {
    report.failure = (error as Error).message;
    journal.error = report.failure;
    if (journal.phase === 'planned') {
      // Nothing was changed (the backup itself failed).
      journal.phase = 'rolled-back';
      run.save();
      throw error;
    }
    options.log(`failed: ${report.failure}; rolling back`);
    await rollBackInto(report, host, run, options);
  } finally {
    unlock();
    report.elapsedMs = Date.now() - started;
  }
  appendAudit(host, {
    runId,
    command: options.command,
    result: report.ok ? 'ok' : report.rolledBack ? 'rolled-back' : 'failed',
    certificates: plan.items.map((item) => ({ name: item.name, action: 'renew', oldSerial: item.before.serial, newSerial: report.ok ? item.after.serial : undefined, oldNotAfter: item.before.notAfter, newNotAfter: report.ok ? item.after.notAfter : undefined })),
    backup: report.backup || undefined,
    detail: report.failure,
  });
  return report;
}

/** Restart each component in order, health-check it, throw (for the rollback) at the first failure. */
export async function restartInOrder(host: Host, run: Run, components: Component[], options: ApplyOptions, report: ApplyReport): Promise<void> {
  const { journal } = run;
  if (options.restart === 'none') {
    if (components.length) options.log(`not restarting (--restart none): ${components.join(', ')} must be restarted to load the new certificates`);
    return;
  }
  journal.phase = 'restarting';
  run.save();
  const cluster = readManifests(host);
  const timing = { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 1000 };
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
    const health = restart.ok ? await checkHealth(host, cluster, component, { ...timing, apiserverUrl: options.apiserverUrl }) : undefined;
    report.steps.push({ component, restart, health });
    if (!restart.ok || (health && !health.ok)) {
      throw new RescueError('FAILED_ROLLED_BACK', `${component}: ${!restart.ok ? restart.detail : health!.detail}`);
    }
    options.log(`${component}: ${restart.detail}${health ? `; ${health.detail}` : ''}`);
  }
}

/** After a failure: roll the run back and record in the report whether that fully worked. */
export async function rollBackInto(report: ApplyReport, host: Host, run: Run, options: ApplyOptions): Promise<void> {
  const rollback = await rollbackRun(host, run, options);
  report.rolledBack = rollback.problems.length === 0;
  report.rollbackProblems = rollback.problems;
}

/** Put the tree back as the run's backup holds it, then restart what the run had restarted. */
export async function rollbackRun(host: Host, run: Run, options: Pick<ApplyOptions, 'restart' | 'timeoutMs' | 'pollMs' | 'log' | 'version'>): Promise<{ problems: string[]; restarts: RestartResult[] }> {
  const { journal } = run;
  if (!journal.backup) throw new RescueError('FILE_NOT_FOUND', `run ${journal.runId} has no backup recorded: nothing was changed by it`);
  unpauseAll(host, journal.paused);
  journal.paused = [];
  const plan = await planRestore(host, journal.backup);
  await applyRestore(host, plan);
  const problems = verifyRestored(host, plan);
  journal.phase = problems.length ? 'failed' : 'rolled-back';
  run.save();
  appendAudit(host, {
    runId: journal.runId,
    command: `rollback of: ${journal.command}`,
    result: problems.length ? 'failed' : 'ok',
    certificates: journal.steps.map((step) => ({ name: step.hostPath, action: 'rollback' })),
    backup: journal.backup,
    detail: problems.length ? `not restored: ${problems.slice(0, 5).join(', ')}` : undefined,
  });
  const restarts: RestartResult[] = [];
  for (const component of journal.restarted) {
    options.log(`restarting ${component} again with the restored certificates`);
    restarts.push(await restartComponent(host, options.restart, component, { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 1000 }));
  }
  return { problems, restarts };
}

/** Temp files an interrupted commitStep left beside a target (they may hold key material). */
function removeStaleTemps(host: Host, step: JournalStep): void {
  const target = host.real(step.hostPath);
  const prefix = `.${basename(target)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^[0-9a-f]{12}\.rescue-kit$/.test(name.slice(prefix.length))) rmSync(join(dirname(target), name), { force: true });
  }
}

/** Finish an interrupted run: commit the staged files it had not written yet (restarts: restartInOrder). */
export function resumeRun(host: Host, run: Run): number {
  const { journal } = run;
  if (!['staged', 'committing', 'committed', 'restarting'].includes(journal.phase)) {
    throw new RescueError('USAGE', `run ${journal.runId} is "${journal.phase}": there is nothing to finish`, { hint: journal.phase === 'backed-up' ? 'it stopped before staging: roll it back (nothing changed) and run renew again' : undefined });
  }
  unpauseAll(host, journal.paused);
  journal.paused = [];
  // Idempotent: a step whose rename landed before the crash is simply written again.
  for (const step of journal.steps) removeStaleTemps(host, step);
  const committed = journal.steps.filter((step) => !step.done).length;
  commitSteps(host, run, journal.steps);
  journal.phase = 'committed';
  run.save();
  return committed;
}
