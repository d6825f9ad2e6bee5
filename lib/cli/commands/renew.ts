// `rescue-kit renew` and `rescue-kit rollback`: plan, confirm, back up,
// journal, write, restart in order, health-check, roll back on failure.
import { ExitCode, RescueError } from '../../errors.js';
import { createHost, Host } from '../../host/host.js';
import { ApplyOptions, ApplyReport, applyRenewPlan } from '../../ops/renewal/apply.js';
import { chooseRollbackTarget, closeAbandonedRuns, previewRollback, resumeInterruptedRun, RollbackPreview, rollbackUnderLock } from '../../ops/renewal/runs.js';
import { discover } from '../../ops/inventory/discover.js';
import { listRuns, refuseIfBusyOrInterrupted } from '../../ops/renewal/journal.js';
import { buildRenewPlan, planJson, RenewPlan } from '../../ops/renewal/renew-plan.js';
import { notAllRenewedError } from '../../ops/renewal/not-renewed.js';
import { buildCaRenewPlan } from '../../ops/ca/ca-renew-plan.js';
import { detectRestartMode, RestartMode } from '../../ops/renewal/restart.js';
import { classifyHosts } from '../../pki/san.js';
import { parseDuration } from '../../pki/validity.js';
import { bold, green, printJson, red, say, table, warn } from '../output.js';
import { notAfterText, renderPlan } from '../../render/plan.js';
export { renderPlan };
import { version } from '../version.js';
import { confirmOrAbort } from './confirm.js';

export interface RenewCommandOptions {
  root: string;
  /** Renew the PEMs of this folder (a binary install) instead of the kubeadm layout. */
  path?: string;
  all?: boolean;
  validity: string;
  newKey?: boolean;
  reuseKey?: boolean;
  addSan?: string[];
  addSanTo?: string[];
  nodeName?: string;
  force?: boolean;
  /** 'auto' is resolved to what fits the host (detectRestartMode) before anything else. */
  restart: RestartMode | 'auto';
  timeout: string;
  apiserverUrl?: string;
  etcdBackup: boolean;
  allowLiveCopy?: boolean;
  beyondCa: 'cap' | 'refuse';
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  resume?: boolean;
}

function applyOptions(options: Pick<RenewCommandOptions, 'restart' | 'timeout' | 'apiserverUrl' | 'etcdBackup' | 'allowLiveCopy'>, command: string): ApplyOptions {
  if (options.restart === 'auto') throw new RescueError('INTERNAL', '--restart auto was not resolved');
  return {
    command,
    version: version(),
    restart: options.restart,
    timeoutMs: parseDuration(options.timeout, '--timeout'),
    apiserverUrl: options.apiserverUrl,
    etcdBackup: options.etcdBackup ? 'auto' : 'skip',
    allowLiveCopy: options.allowLiveCopy,
    log: (message) => say(`  ${message}`),
  };
}

function renderReport(plan: RenewPlan | undefined, report: ApplyReport, root: string, json?: boolean): void {
  // Tables are data (stdout); with --json, stdout is the JSON report and the tables go to stderr.
  const data = (text: string) => (json ? process.stderr : process.stdout).write(`${text}\n`);
  // A failed run shows what it did and what was put back, never a "Renewed" table or an undo line.
  if (plan && report.ok) {
    data(bold('\nRenewed'));
    data(table(['CERTIFICATE', 'OLD NOT AFTER', 'NEW NOT AFTER'], plan.items.map((item) => [item.name, notAfterText(item.before.notAfter), notAfterText(item.after.notAfter)])));
  }
  if (report.steps.length) {
    data(bold('\nRestart and health'));
    data(table(['COMPONENT', 'RESTART', 'HEALTH'], report.steps.map((step) => [step.component, `${step.restart.ok ? 'ok' : 'FAILED'} (${(step.restart.elapsedMs / 1000).toFixed(1)}s) ${step.restart.detail}`, step.health ? `${step.health.ok ? (step.health.pending ? 'ok, PENDING' : 'ok') : 'FAILED'} ${step.health.detail}` : '-'])));
    // A gate that passed without a whole cluster (etcd's first member): say what waits, and what to do next.
    for (const step of report.steps.filter((entry) => entry.health?.pending)) say(`not whole yet: ${step.component}: ${step.health!.pending}`);
  }
  say(`\nbackup: ${report.backup}`);
  say(report.ok ? `run: ${report.runId}   undo: rescue-kit rollback --root ${root} --run ${report.runId}` : `run: ${report.runId}`);
  say(`total: ${(report.elapsedMs / 1000).toFixed(2)} s`);
}

export async function renew(names: string[], options: RenewCommandOptions): Promise<void> {
  const host = createHost({ root: options.root });
  if (options.resume) {
    await resolveRestart(host, options);
    return resume(host, options);
  }
  if (options.newKey && options.reuseKey) throw new RescueError('USAGE', '--new-key and --reuse-key contradict each other');
  await planAndApply(host, options, `renew ${names.join(' ') || '--all'}`, async () =>
    buildRenewPlan(host, discover(host, { path: options.path }), {
      names,
      all: Boolean(options.all),
      durationMs: parseDuration(options.validity, '--validity'),
      newKey: Boolean(options.newKey),
      addSans: options.addSan?.length ? classifyHosts(options.addSan.flatMap((entry) => entry.split(','))) : undefined,
      addSanTo: options.addSanTo?.length ? options.addSanTo.flatMap((entry) => entry.split(',')).map((entry) => entry.trim()) : undefined,
      beyondCa: options.beyondCa,
      nodeName: options.nodeName,
      force: options.force,
    }),
  );
}

/** `ca renew`: the same plan -> confirm -> backup -> journal -> restart -> health path, for CA certificates. */
export async function caRenew(names: string[], options: RenewCommandOptions): Promise<void> {
  const host = createHost({ root: options.root });
  await planAndApply(host, options, `ca renew ${names.join(' ') || '--all'}`, async () =>
    buildCaRenewPlan(host, discover(host, { path: options.path }), { names, all: Boolean(options.all), durationMs: parseDuration(options.validity, '--validity') }),
  );
}

/** --restart auto: the mode that fits this host, said out loud (the fleet playbook's default). */
async function resolveRestart(host: Host, options: RenewCommandOptions): Promise<void> {
  if (options.restart !== 'auto') return;
  options.restart = await detectRestartMode(host);
  say(`--restart auto: ${options.restart}${options.restart === 'none' ? ' (no static pods with crictl, no systemd units found: restart the components yourself)' : ''}`);
}

export async function planAndApply(host: Host, options: RenewCommandOptions, command: string, build: () => Promise<RenewPlan>, done?: string): Promise<RenewPlan | undefined> {
  await resolveRestart(host, options);
  refuseIfBusyOrInterrupted(host);
  const plan = await build();
  const missed = plan.notRenewed?.length ?? 0;
  if (options.json && options.dryRun) printJson(planJson(plan));
  // The plan is data (stdout: `renew --all --dry-run > plan.txt`), unless stdout carries the --json report.
  else (options.json ? process.stderr : process.stdout).write(renderPlan(plan));
  // A dry run that would leave certificates expired says so in its exit status too (3), as the real run would.
  if (options.dryRun || (missed && plan.items.length === 0)) {
    if (missed) throw notAllRenewedError(plan);
    return undefined;
  }
  const alsoMissed = missed ? ` (${missed} cannot be, listed above)` : '';
  await confirmOrAbort(options.yes, `renew ${plan.items.length} certificates${alsoMissed} under ${host.root}${plan.restart.length && options.restart !== 'none' ? ` and restart ${plan.restart.join(', ')}` : ''}?`);
  const report = await applyRenewPlan(host, plan, applyOptions(options, command));
  finish(plan, report, options, done);
  return plan;
}

function finish(plan: RenewPlan | undefined, report: ApplyReport, options: Pick<RenewCommandOptions, 'root' | 'json'>, done = 'the control plane certificates are renewed'): void {
  if (options.json) printJson({ ...report, plan: plan ? planJson(plan) : undefined });
  renderReport(plan, report, options.root, options.json);
  if (report.ok && plan?.notRenewed?.length) {
    // The rest is renewed and stays renewed; the run still fails, naming each one left expired.
    say(red(`\nrenewed ${plan.items.length}; NOT renewed: ${plan.notRenewed.map((entry) => entry.name).join(', ')}`));
    throw notAllRenewedError(plan);
  }
  if (report.ok) return say(green(`\n${done}`));
  if (report.rolledBack) {
    say(red(`\nFAILED: ${report.failure}`));
    say('rolled back: every file is byte-for-byte as before the run, and restarted components were restarted again');
    throw new RescueError('FAILED_ROLLED_BACK', `renewal failed and was rolled back (${report.failure})`, { hint: 'fix the cause shown above, then run renew again' });
  }
  say(red(`\nFAILED: ${report.failure}`));
  throw new RescueError('FAILED_ROLLED_BACK', `renewal failed and the rollback did NOT fully restore: ${report.rollbackProblems.slice(0, 5).join(', ')}`, {
    hint: `restore by hand: rescue-kit restore ${report.backup} --root ${options.root}`,
  });
}

async function resume(host: Host, options: RenewCommandOptions): Promise<void> {
  const resumed = await resumeInterruptedRun(host, applyOptions(options, 'renew --resume'));
  if (!resumed) return say('nothing to finish: no interrupted run');
  finish(undefined, resumed.report, options);
}

export interface RollbackCommandOptions {
  root: string;
  run?: string;
  /** Restore this backup archive instead of a run's. */
  to?: string;
  list?: boolean;
  dryRun?: boolean;
  /** Default: the mode the run itself restarted with (recorded in its journal). */
  restart?: RestartMode;
  timeout: string;
  yes?: boolean;
  json?: boolean;
}

export async function rollback(options: RollbackCommandOptions): Promise<void> {
  const host = createHost({ root: options.root });
  if (options.to) {
    // A backup given by hand (e.g. one taken before a manual change): the same as `restore`.
    const { restore } = await import('./backup.js');
    return restore(options.to, { root: options.root, yes: options.yes });
  }
  if (options.list) {
    const runs = listRuns(host);
    if (options.json) return printJson(runs.map(({ steps, ...journal }) => ({ ...journal, files: steps.length })));
    return say(table(['RUN', 'COMMAND', 'PHASE', 'STARTED', 'BACKUP'], runs.map((journal) => [journal.runId, journal.command, journal.phase, journal.startedAt, journal.backup ?? '-'])));
  }
  const target = chooseRollbackTarget(host, options.run);
  if (target.nothingToDo !== undefined) {
    if (!options.dryRun) closeAbandonedRuns(host);
    return say(target.nothingToDo);
  }
  const preview = previewRollback(host, target.journal);
  say(`roll back run ${target.journal.runId} (${target.journal.command}, ${target.journal.phase}) ${preview.fromJournal ? `from its journal (${target.journal.steps.length} files)` : `from ${preview.backup}`}`);
  if (options.dryRun) return printRollbackPreview(target.journal.runId, preview, options);
  await confirmOrAbort(options.yes, `restore ${host.root} to the state before run ${target.journal.runId}?`);
  // Chosen again under the lock: a run rolled back by someone else meanwhile is not undone twice.
  const outcome = await rollbackUnderLock(host, target.journal.runId, { restart: options.restart, timeoutMs: parseDuration(options.timeout, '--timeout'), log: (message) => say(`  ${message}`), version: version() });
  if ('nothingToDo' in outcome) return say(outcome.nothingToDo);
  const { journal } = outcome.run;
  if (outcome.safetyBackup) say(`current state saved: ${outcome.safetyBackup}`);
  if (outcome.problems.length) {
    process.exitCode = ExitCode.failedPartialChange;
    return say(red(`rollback incomplete: ${outcome.problems.slice(0, 5).join(', ')}`));
  }
  if (outcome.saved.length) warn(`changed since the run, saved before being replaced: ${outcome.saved.join(', ')} (in ${outcome.run.dir}/replaced-by-rollback)`);
  for (const restarted of outcome.restarts) (restarted.ok ? say : warn)(`${restarted.component}: ${restarted.detail}`);
  say(green(`rolled back: ${outcome.restored.length} files are byte-for-byte as before run ${journal.runId}${outcome.safetyBackup ? '' : "; the run's new files stay in its journal directory"}`));
}

/** The plan of what would be put back: data on stdout, nothing written. */
function printRollbackPreview(runId: string, preview: RollbackPreview, options: RollbackCommandOptions): void {
  if (!preview.fromJournal) return void process.stdout.write(`the whole backup ${preview.backup} would be restored (see: rescue-kit restore ${preview.backup} --dry-run --root ${options.root})\n`);
  if (options.json) return printJson({ runId, actions: preview.actions });
  process.stdout.write(`${table(['ACTION', 'PATH', 'NOTE'], preview.actions.map((entry) => [entry.action, entry.hostPath, entry.changedSinceRun ? 'changed since the run: saved into the run directory first' : '']))}\n`);
}
