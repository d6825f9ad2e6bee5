// The wizard: the operator's path through a rescue, over the same ops as the
// CLI (no crypto or file logic here). Detect and show -> choose what to do ->
// choose how -> show the Plan -> confirm -> run with progress -> summary.
import { join } from 'node:path';
import { isRescueError, RescueError } from '../errors.js';
import type { Host } from '../host/host.js';
import { applyRenewPlan } from '../ops/renewal/apply.js';
import { createBackup } from '../ops/archive/backup.js';
import { checkInventory, CheckReport } from '../ops/inventory/check.js';
import { discover, Inventory } from '../ops/inventory/discover.js';
import { listRuns, refuseIfBusyOrInterrupted } from '../ops/renewal/journal.js';
import { chooseRollbackTarget, closeAbandonedRuns, previewRollback, rollbackUnderLock } from '../ops/renewal/runs.js';
import type { RenewPlan } from '../ops/renewal/renew-plan.js';
import { buildCaRotateFinish } from '../ops/ca/ca-rotate-plan.js';
import { buildRotationPhase, nextRotationPhase, type PhasePlan } from '../ops/ca/rotate-phases.js';
import { inClusterAfterPhase } from '../ops/ca/after-phase.js';
import { applyCertManagerFixes, fixable, readCertManagerState } from '../ops/seeds/cert-manager-doctor.js';
import { shellLine } from '../ops/seeds/cert-manager.js';
import { renewWebhook } from '../ops/seeds/webhook-run.js';
import { findPersistedPki, resetVclusterPki } from '../ops/seeds/vcluster.js';
import { buildRenewPlan } from '../ops/renewal/renew-plan.js';
import { buildCaRenewPlan } from '../ops/ca/ca-renew-plan.js';
import { detectRestartMode, RestartMode } from '../ops/renewal/restart.js';
import { parseSanList, parseValidity } from '../ops/inputs.js';
import { renderReport } from '../render/check.js';
import { renderPlan } from '../render/plan.js';
import { bold, green, red, table, yellow } from '../render/text.js';
import { CERTIFICATE_AUTHORITIES, renewableNames, TREE_PATHS } from '../catalogue/kubeadm.js';
import { Action, Answers } from '../ops/answers.js';
import { Progress } from './progress.js';
import { listTemplates, templateVariables } from '../ops/templates.js';
import type { Prompter } from './prompts.js';

export interface WizardOptions {
  host: Host;
  answers: Answers;
  /** Undefined when nobody can answer: a missing answer is then an error. */
  prompter?: Prompter;
  version: string;
  timeoutMs: number;
  templatesDir: string;
  caConfigPath: string;
  say: (text: string) => void;
}

/**
 * The answer from the merged sources, else the prompt; unattended, the prompt's default
 * when it has a safe one, else a clear error naming the flag.
 */
async function need<T>(options: WizardOptions, value: T | undefined, ask: (prompter: Prompter) => Promise<T>, flag: string, unattendedDefault?: T): Promise<T> {
  if (value !== undefined) return value;
  if (!options.prompter && unattendedDefault !== undefined) return unattendedDefault;
  if (!options.prompter) throw new RescueError('USAGE', `no answer for ${flag} and no terminal to ask on`, { hint: `pass ${flag}, or put it in --answers FILE.json` });
  return ask(options.prompter);
}


/** The renewable certificates this tree has (super-admin.conf only from 1.29; nothing that is missing here). */
function presentNames(inventory: Inventory | undefined): string[] {
  const renewable = renewableNames(99);
  return renewable.filter((name) => inventory?.items.some((item) => item.name === name && item.expected && item.certificate));
}

function needsRenewal(report: CheckReport): string[] {
  const renewable = renewableNames(99);
  return report.certificates.filter((entry) => renewable.includes(entry.name) && ['EXPIRED', 'WARN', 'NOT-YET-VALID'].includes(entry.status)).map((entry) => entry.name);
}

export async function runWizard(options: WizardOptions): Promise<void> {
  const { host, answers, say } = options;
  say(bold(`rescue-kit wizard — ${host.root === '/' ? 'this host' : host.root}`));
  // No tree here is no reason to stop: issue, webhook, cert-manager doctor and rollback need none.
  let inventory: Inventory | undefined;
  try {
    inventory = discover(host);
  } catch (error) {
    if (!isRescueError(error) || error.code !== 'NO_TREE') throw error;
    say(`${yellow('!')} ${error.message}: the renewal actions are unavailable here${error.hint ? `\n  (${error.hint})` : ''}\n`);
  }
  const report = inventory ? checkInventory(inventory, { now: host.now(), warnMs: 30 * 86_400_000 }) : undefined;
  if (inventory && report) {
    say(`layout: ${inventory.layout}${inventory.cluster.minor ? `, Kubernetes 1.${inventory.cluster.minor}` : ''}\n`);
    say(renderReport(report, process.stderr));
  }
  const expiring = report ? needsRenewal(report) : [];
  const renewAvailable = inventory?.layout === 'kubeadm';
  const action = await need<Action>(
    options,
    answers.action,
    (prompter) =>
      prompter.action([
        { value: 'renew-expiring', name: `renew everything expired or expiring (${expiring.length}: ${expiring.join(', ') || 'none'})`, disabled: !renewAvailable || expiring.length === 0 ? '(nothing to renew)' : false },
        { value: 'renew-chosen', name: 'renew the certificates I choose', disabled: renewAvailable ? false : '(kubeadm layout only)' },
        { value: 'backup', name: 'back up pki, kubeconfigs, manifests and etcd' },
        { value: 'issue', name: 'issue a certificate from a CSR template' },
        { value: 'ca-renew', name: 'renew the CAs (same keys: existing certificates keep verifying)', disabled: renewAvailable ? false : '(kubeadm layout only)' },
        { value: 'ca-rotate', name: 'rotate the cluster CA to a new key (trust bundle, two phases)', disabled: renewAvailable ? false : '(kubeadm layout only)' },
        { value: 'webhook', name: 'renew an admission webhook serving cert and caBundle' },
        { value: 'vcluster-reset', name: 'reset a k0s vcluster whose expired pki is persisted on its volume' },
        { value: 'cert-manager-doctor', name: 'find cert-manager renewals stuck behind a failed request' },
        { value: 'rollback', name: 'roll back a previous run' },
      ]),
    '--action',
  );
  switch (action) {
    case 'backup':
      return backupFlow(options);
    case 'renew-expiring':
    case 'renew-chosen':
    case 'ca-renew':
      return renewFlow(options, action, expiring, presentNames(inventory));
    case 'issue':
      return issueFlow(options);
    case 'rollback':
      return rollbackFlow(options);
    case 'ca-rotate':
      return caRotateFlow(options);
    case 'cert-manager-doctor':
      return certManagerFlow(options);
    case 'webhook':
      return webhookFlow(options);
    case 'vcluster-reset':
      return vclusterFlow(options);
  }
}

/** Seed 000: ask what `webhook` takes (both configuration kinds may have their own names), then the same ops. */
async function webhookFlow(options: WizardOptions): Promise<void> {
  if (!options.prompter) throw new RescueError('USAGE', 'webhook needs answers that only its own command takes unattended', { hint: 'run rescue-kit webhook --help and pass its flags' });
  const ask = (message: string, defaultValue?: string) => need(options, undefined as string | undefined, (prompter) => prompter.text(message, defaultValue), message, defaultValue);
  const namespace = await ask('Namespace of the webhook Service and Secret');
  const service = await ask('Webhook Service name');
  const secret = await ask('TLS Secret the webhook server mounts', `${service}-tls`);
  const validating = await ask('ValidatingWebhookConfiguration name (empty: none)', '');
  const mutating = await ask('MutatingWebhookConfiguration name (empty: none)', '');
  const from = await ask('Exported manifests directory (empty: read the live cluster with kubectl)', '');
  const out = await ask('Write the patched manifests, certs, apply.sh and rollback.sh to', `./webhook-${service}`);
  await renewWebhook(options.host, { namespace, service, secret, validatingConfig: validating || undefined, mutatingConfig: mutating || undefined, validity: '1y', out, from: from || undefined }, { say: options.say, warn: (line) => options.say(`${yellow('!')} ${line}`) });
}

/** Seed 001: find the persisted pki, show it, confirm, move it aside (backed up first); the kubectl steps are printed. */
async function vclusterFlow(options: WizardOptions): Promise<void> {
  const { host } = options;
  if (!options.prompter) throw new RescueError('USAGE', 'vcluster-reset needs answers that only its own command takes unattended', { hint: 'run rescue-kit vcluster reset --help and pass its flags' });
  const ask = (message: string, defaultValue?: string) => need(options, undefined as string | undefined, (prompter) => prompter.text(message, defaultValue), message, defaultValue);
  const data = await ask('Host path of the vcluster data volume (mounted at /data in the pod)');
  const name = await ask('vcluster name', 'vcluster');
  const namespace = await ask('vcluster namespace', name);
  const pkiDir = findPersistedPki(host, data);
  options.say(renderReport(checkInventory(discover(host, { path: pkiDir }), { now: host.now(), warnMs: 30 * 86_400_000 }), process.stderr));
  await confirmOrStop(options, `Move ${host.real(pkiDir)} aside (backed up first) so vcluster ${name} regenerates its certificates?`);
  const reset = await resetVclusterPki(host, { dataDir: data, name, namespace, version: options.version, log: options.say });
  options.say(`backup: ${reset.backup}\nmoved: ${reset.pkiDir} -> ${reset.movedTo} (undo: mv ${host.real(reset.movedTo)} ${host.real(reset.pkiDir)})`);
  options.say('now run (where kubectl reaches the host cluster):');
  for (const command of reset.commands) options.say(`  ${shellLine(command)}`);
}

async function confirmOrStop(options: WizardOptions, message: string): Promise<void> {
  const yes = await need(options, options.answers.confirm, (prompter) => prompter.proceed(message), '--yes');
  if (!yes) throw new RescueError('ABORTED', 'stopped at your request; nothing was changed');
}

/**
 * Run `attempt` with the live-copy answer; when ops refuses a live etcd copy (ETCD_LIVE_COPY) and nobody
 * answered yet, show why and ask — the refusal, its reason and the way past it are ops' (etcd-capture.ts).
 */
async function withLiveCopyAnswer<T>(options: WizardOptions, progress: Progress, step: string, attempt: (allowLiveCopy: boolean) => Promise<T>): Promise<T> {
  try {
    return await attempt(options.answers.allowLiveCopy ?? false);
  } catch (error) {
    if (!isRescueError(error) || error.code !== 'ETCD_LIVE_COPY' || options.answers.allowLiveCopy !== undefined || !options.prompter) throw error;
    // The spinner stops before the question (it would redraw over the prompt) and starts again after a yes.
    progress.done(false);
    options.say(yellow(`warning: ${error.message}`));
    if (!(await options.prompter.proceed('Copy the data dir of the running etcd anyway (it may be inconsistent)?'))) throw error;
    progress.step(step);
    return attempt(true);
  }
}

async function backupFlow(options: WizardOptions): Promise<void> {
  const progress = new Progress();
  const step = `backing up ${TREE_PATHS.join(', ')} and etcd`;
  progress.step(step);
  const result = await withLiveCopyAnswer(options, progress, step, (allowLiveCopy) => createBackup(options.host, { etcd: 'auto', allowLiveCopy, version: options.version, check: null })).catch((error: unknown) => {
    progress.done(false);
    throw error;
  });
  progress.done();
  for (const warning of result.manifest.warnings) options.say(`warning: ${warning}`);
  options.say(green(`backup: ${result.archive} (${result.manifest.entries.length} entries, etcd: ${result.manifest.etcd.method})`));
}

async function renewFlow(options: WizardOptions, action: Action, expiring: string[], present: string[]): Promise<void> {
  const { host, answers } = options;
  const names =
    action === 'ca-renew'
      ? CERTIFICATE_AUTHORITIES.map((ca) => ca.name)
      : action === 'renew-expiring'
      ? expiring
      : await need(options, answers.names, (prompter) => prompter.names(present.map((name) => ({ value: name, name, checked: expiring.includes(name) }))), '--names');
  if (names.length === 0) throw new RescueError('USAGE', 'nothing to renew: every certificate is valid for more than 30 days', { hint: 'choose "renew the certificates I choose" to renew anyway' });
  const validity = await need(options, answers.validity, (prompter) => prompter.validity(), '--validity', action === 'ca-renew' ? '10y' : '1y');
  // A CA keeps its key (that is what keeps existing leaves valid); leaves may get new ones.
  const newKey = action === 'ca-renew' ? false : await need(options, answers.newKey, (prompter) => prompter.newKey(), '--new-key', false);
  const restart = await need(options, answers.restart, async (prompter) => prompter.restart(await detectRestartMode(host)), '--restart');
  const addSans = action === 'ca-renew' ? [] : await need(options, answers.addSans, (prompter) => prompter.addSans(), '--add-san', [] as string[]);
  const durationMs = parseValidity(validity, 'validity');
  const build = () =>
    action === 'ca-renew'
      ? Promise.resolve(buildCaRenewPlan(host, discover(host), { names, all: false, durationMs }))
      : buildRenewPlan(host, discover(host), { names, all: false, durationMs, newKey, addSans: addSans.length ? parseSanList(addSans) : undefined });
  return planConfirmApply(options, `wizard ${action === 'ca-renew' ? 'ca renew' : 'renew'} ${names.join(' ')}`, restart, build);
}

/** The cluster CA rotation's next phase on this node (trust, reissue, distrust), through the same plan -> confirm -> apply path. */
async function caRotateFlow(options: WizardOptions): Promise<void> {
  const { host, answers } = options;
  refuseIfBusyOrInterrupted(host);
  const phase = nextRotationPhase(host, discover(host), 'ca');
  const why: Record<string, string> = {
    trust: ' (every kubeconfig and ca.crt get a bundle of both CAs; nothing re-signed)',
    reissue: ' (every node must already have done trust: leaves re-signed by the new key)',
    distrust: ' (every node must already have done reissue: the old CA is removed)',
    finish: ' (a transition started with --phase start: the old CA is removed)',
  };
  options.say(`CA rotation: the next phase here is "${phase}"${why[phase]}`);
  const validity = phase === 'trust' ? await need(options, answers.validity, (prompter) => prompter.validity(), '--validity', '10y') : '10y';
  const restart = await need(options, answers.restart, async (prompter) => prompter.restart(await detectRestartMode(host)), '--restart');
  let phased: PhasePlan | undefined;
  const build = async () => (phase === 'finish' ? buildCaRotateFinish(host, discover(host)) : (phased = await buildRotationPhase(host, discover(host), { phase, authorities: ['ca'], durationMs: parseValidity(validity, 'validity') })));
  await planConfirmApply(options, `wizard ca rotate --phase ${phase} ca`, restart, build);
  // The cluster's own copies of the CA (cluster-info, caBundles), as `ca rotate` does after the node's phase.
  if (phased && phase !== 'finish') await inClusterAfterPhase(host, phased.state, { phase }, { say: options.say, warn: (line) => options.say(`warning: ${line}`) });
  if (phase !== 'distrust' && phase !== 'finish') options.say(`phase ${phase} done here. Run it on every other node (rescue-kit ca rotate ca --phase ${phase} --new-ca DIR), then run the wizard again for the next phase`);
}

/** Every renewal-shaped action: refuse a busy or half-changed tree first (as the CLI does), plan, show, confirm, apply. */
async function planConfirmApply(options: WizardOptions, command: string, restart: RestartMode, build: () => Promise<RenewPlan>): Promise<void> {
  const { host } = options;
  refuseIfBusyOrInterrupted(host);
  const plan = await build();
  options.say(`\n${renderPlan(plan)}`);
  await confirmOrStop(options, `Renew ${plan.items.length} certificates${restart !== 'none' ? ` and restart ${plan.restart.join(', ')}` : ''}?`);
  const progress = new Progress();
  const result = await withLiveCopyAnswer(options, progress, 'renewing', (allowLiveCopy) =>
    applyRenewPlan(host, plan, {
      command,
      version: options.version,
      restart,
      timeoutMs: options.timeoutMs,
      etcdBackup: 'auto',
      allowLiveCopy,
      log: (message) => progress.log(message),
    }),
  );
  progress.done(result.ok);
  if (result.steps.length) {
    options.say(table(['COMPONENT', 'RESTART', 'HEALTH'], result.steps.map((step) => [step.component, step.restart.ok ? 'ok' : 'FAILED', step.health ? `${step.health.ok ? 'ok' : 'FAILED'}: ${step.health.detail}` : '-'])));
  }
  options.say(`backup: ${result.backup}`);
  if (!result.ok) {
    options.say(red(`FAILED: ${result.failure}`));
    throw new RescueError('FAILED_ROLLED_BACK', result.rolledBack ? 'renewal failed and was rolled back byte for byte' : `renewal failed and the rollback did not fully restore: ${result.rollbackProblems.join(', ')}`, {
      hint: result.rolledBack ? 'fix the cause above and run again' : `restore by hand: rescue-kit restore ${result.backup} --root ${host.root}`,
    });
  }
  options.say(`undo:   rescue-kit rollback --root ${host.root} --run ${result.runId}`);
  options.say(green(`renewed ${plan.items.length} certificates in ${(result.elapsedMs / 1000).toFixed(1)} s`));
}

async function issueFlow(options: WizardOptions): Promise<void> {
  const { answers } = options;
  const templates = listTemplates(options.templatesDir);
  const template = await need(options, answers.template, (prompter) => prompter.text(`CSR template (${templates.slice(0, 4).join(', ')}, ...) or a path`, 'kubeadm/apiserver-csr.json'), '--template');
  const path = templates.includes(template) ? join(options.templatesDir, template) : template;
  const vars: Record<string, string> = { ...answers.vars };
  for (const name of templateVariables(path)) {
    vars[name] ??= await need(options, undefined as string | undefined, (prompter) => prompter.text(`${name}`), `vars.${name}`);
  }
  const profile = await need(options, answers.profile, (prompter) => prompter.text('Signing profile (conf/ca-config.json)', 'server'), '--profile');
  const out = await need(options, answers.out, (prompter) => prompter.text('Write to (prefix: PREFIX.pem, PREFIX-key.pem, PREFIX.csr)', './issued'), '--out');
  const { issueFromTemplate } = await import('../ops/issue.js');
  const written = await issueFromTemplate(options.host, { templatePath: path, vars, profile, out, configPath: options.caConfigPath }, options.say);
  options.say(green(`wrote ${written.join(', ')}`));
}

async function rollbackFlow(options: WizardOptions): Promise<void> {
  const { host } = options;
  const runs = listRuns(host).filter((run) => run.phase !== 'rolled-back');
  if (runs.length) options.say(table(['RUN', 'COMMAND', 'PHASE', 'STARTED'], runs.map((run) => [run.runId, run.command, run.phase, run.startedAt])));
  // The same choice as `rescue-kit rollback`: the interrupted run, else the newest finished one.
  const target = chooseRollbackTarget(host);
  if (target.nothingToDo !== undefined) {
    closeAbandonedRuns(host);
    return options.say(`${yellow('!')} ${target.nothingToDo}`);
  }
  const preview = previewRollback(host, target.journal);
  const what = preview.fromJournal ? `put back ${preview.actions.filter((entry) => entry.action !== 'unchanged').length} files from its journal` : `restore its backup ${preview.backup}`;
  await confirmOrStop(options, `Roll back run ${target.journal.runId} (${target.journal.command}): ${what}?`);
  const progress = new Progress();
  progress.step(`restoring the state before run ${target.journal.runId}`);
  const outcome = await rollbackUnderLock(host, target.journal.runId, { restart: options.answers.restart, timeoutMs: options.timeoutMs, log: (message) => progress.log(message), version: options.version });
  if ('nothingToDo' in outcome) {
    progress.done(true);
    return options.say(`${yellow('!')} ${outcome.nothingToDo}`);
  }
  progress.done(outcome.problems.length === 0);
  if (outcome.safetyBackup) options.say(`current state saved: ${outcome.safetyBackup}`);
  if (outcome.problems.length) throw new RescueError('FAILED_ROLLED_BACK', `rollback incomplete: ${outcome.problems.join(', ')}`);
  for (const path of outcome.saved) options.say(`${yellow('!')} changed since the run, saved before being replaced: ${path}`);
  for (const restarted of outcome.restarts) options.say(`${restarted.ok ? green('✓') : yellow('!')} ${restarted.component}: ${restarted.detail}`);
  options.say(green(`rolled back: ${outcome.restored.length} files are byte-for-byte as before run ${target.journal.runId}`));
}

/** Seed 002: the findings, then (after a yes) the fixes, through the same ops as `cert-manager doctor`. */
async function certManagerFlow(options: WizardOptions): Promise<void> {
  const from = await need(options, undefined as string | undefined, (prompter) => prompter.text('Recorded `kubectl get certificate,certificaterequest -A -o json` file (empty: ask the live cluster)', ''), '--from', '');
  const state = await readCertManagerState(options.host, { from: from || undefined });
  options.say(table(['NAMESPACE', 'CERTIFICATE', 'DIAGNOSIS'], state.findings.map((finding) => [finding.namespace, finding.name, finding.diagnosis])));
  for (const finding of state.findings.filter((entry) => entry.diagnosis !== 'ok')) {
    options.say(`\n${finding.namespace}/${finding.name}: ${finding.explanation}`);
    for (const step of finding.fix) options.say(`  ${shellLine(step)}`);
  }
  if (!fixable(state).length) return options.say(green('nothing to fix'));
  await confirmOrStop(options, `Run these ${fixable(state).reduce((count, finding) => count + finding.fix.length, 0)} kubectl steps now?`);
  await applyCertManagerFixes(options.host, state, options.say);
}
