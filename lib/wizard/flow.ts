// The wizard: the operator's path through a rescue, over the same ops as the
// CLI (no crypto or file logic here). Detect and show -> choose what to do ->
// choose how -> show the Plan -> confirm -> run with progress -> summary.
import { join } from 'node:path';
import { isRescueError, RescueError } from '../errors.js';
import type { Host } from '../host/host.js';
import { applyRenewPlan, rollbackRun } from '../ops/renewal/apply.js';
import { createBackup, defaultBackupPath } from '../ops/archive/backup.js';
import { checkInventory, CheckReport } from '../ops/inventory/check.js';
import { discover, Inventory } from '../ops/inventory/discover.js';
import { listRuns, loadRun } from '../ops/renewal/journal.js';
import { buildRenewPlan } from '../ops/renewal/renew-plan.js';
import { buildCaRenewPlan } from '../ops/ca/ca-renew-plan.js';
import { detectRestartMode, RestartMode } from '../ops/renewal/restart.js';
import { parseSanList, parseValidity } from '../ops/inputs.js';
import { renderReport } from '../render/check.js';
import { renderPlan } from '../render/plan.js';
import { bold, green, red, table, yellow } from '../render/text.js';
import { renewableNames } from '../catalogue/kubeadm.js';
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
  /** Run a rescue-kit command line (the seeds' tools): the wizard collects the flags, the CLI does the work. */
  runCommand: (argv: string[]) => Promise<void>;
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
    case 'webhook':
    case 'vcluster-reset':
    case 'cert-manager-doctor':
      return options.runCommand(await seedToolArguments(options, action));
  }
}

/** The seeds' tools: ask for their flags, then run the same command a person would type. */
async function seedToolArguments(options: WizardOptions, action: 'ca-rotate' | 'webhook' | 'vcluster-reset' | 'cert-manager-doctor'): Promise<string[]> {
  const { host, answers } = options;
  if (!options.prompter && (action === 'webhook' || action === 'vcluster-reset')) {
    const command = action === 'webhook' ? 'webhook' : 'vcluster reset';
    throw new RescueError('USAGE', `${action} needs answers that only its own command takes unattended`, { hint: `run rescue-kit ${command} --help and pass its flags` });
  }
  const ask = (message: string, defaultValue?: string) => need(options, undefined as string | undefined, (prompter) => prompter.text(message, defaultValue), message, defaultValue);
  const yes = answers.confirm ? ['--yes'] : [];
  switch (action) {
    case 'ca-rotate': {
      const inTransition = host.lstat('/etc/kubernetes/pki/ca.old.crt') !== undefined;
      const restart = await need(options, answers.restart, async (prompter) => prompter.restart(await detectRestartMode(host)), '--restart');
      return ['ca', 'rotate', '--phase', inTransition ? 'finish' : 'start', '--root', host.root, '--restart', restart, ...yes];
    }
    case 'webhook': {
      const namespace = await ask('Namespace of the webhook Service and Secret');
      const service = await ask('Webhook Service name');
      const secret = await ask('TLS Secret the webhook server mounts', `${service}-tls`);
      const config = await ask('Validating/MutatingWebhookConfiguration name');
      const kind = await need(options, undefined as 'validating' | 'mutating' | 'both' | undefined, (prompter) => prompter.choose('Which configuration kinds?', [{ value: 'validating', name: 'validating' }, { value: 'mutating', name: 'mutating' }, { value: 'both', name: 'both' }]), '--kind', 'validating');
      const from = await ask('Exported manifests directory (empty: read the live cluster with kubectl)', '');
      const out = await ask('Write the patched manifests, certs, apply.sh and rollback.sh to', `./webhook-${service}`);
      return ['webhook', '--namespace', namespace, '--service', service, '--secret', secret, '--webhook-config', config, '--kind', kind, '--out', out, ...(from ? ['--from', from] : [])];
    }
    case 'vcluster-reset': {
      const data = await ask('Host path of the vcluster data volume (mounted at /data in the pod)');
      const name = await ask('vcluster name', 'vcluster');
      const namespace = await ask('vcluster namespace', name);
      return ['vcluster', 'reset', '--root', host.root, '--data', data, '--name', name, '--namespace', namespace, ...yes];
    }
    case 'cert-manager-doctor': {
      const from = await ask('Recorded `kubectl get certificate,certificaterequest -A -o json` file (empty: ask the live cluster)', '');
      return ['cert-manager', 'doctor', ...(from ? ['--from', from] : [])];
    }
  }
}

async function confirmOrStop(options: WizardOptions, message: string): Promise<void> {
  const yes = await need(options, options.answers.confirm, (prompter) => prompter.proceed(message), '--yes');
  if (!yes) throw new RescueError('ABORTED', 'stopped at your request; nothing was changed');
}

async function backupFlow(options: WizardOptions): Promise<void> {
  const progress = new Progress();
  progress.step('backing up /etc/kubernetes, /var/lib/kubelet/pki and etcd');
  const result = await createBackup(options.host, { etcd: 'auto', version: options.version, check: null });
  progress.done();
  for (const warning of result.manifest.warnings) options.say(`warning: ${warning}`);
  options.say(green(`backup: ${result.archive} (${result.manifest.entries.length} entries, etcd: ${result.manifest.etcd.method})`));
}

async function renewFlow(options: WizardOptions, action: Action, expiring: string[], present: string[]): Promise<void> {
  const { host, answers } = options;
  const names =
    action === 'ca-renew'
      ? ['ca', 'front-proxy-ca', 'etcd-ca']
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
  const plan =
    action === 'ca-renew'
      ? buildCaRenewPlan(host, discover(host), { names, all: false, durationMs })
      : await buildRenewPlan(host, discover(host), { names, all: false, durationMs, newKey, addSans: addSans.length ? parseSanList(addSans) : undefined });
  options.say(`\n${renderPlan(plan)}`);
  await confirmOrStop(options, `Renew ${plan.items.length} certificates${restart !== 'none' ? ` and restart ${plan.restart.join(', ')}` : ''}?`);
  const progress = new Progress();
  const result = await applyRenewPlan(host, plan, {
    command: `wizard renew ${names.join(' ')}`,
    version: options.version,
    restart,
    timeoutMs: options.timeoutMs,
    etcdBackup: 'auto',
    log: (message) => progress.log(message),
  });
  progress.done(result.ok);
  if (result.steps.length) {
    options.say(table(['COMPONENT', 'RESTART', 'HEALTH'], result.steps.map((step) => [step.component, step.restart.ok ? 'ok' : 'FAILED', step.health ? `${step.health.ok ? 'ok' : 'FAILED'}: ${step.health.detail}` : '-'])));
  }
  options.say(`backup: ${result.backup}`);
  options.say(`undo:   rescue-kit rollback --root ${host.root} --run ${result.runId}`);
  if (!result.ok) {
    options.say(red(`FAILED: ${result.failure}`));
    throw new RescueError('FAILED_ROLLED_BACK', result.rolledBack ? 'renewal failed and was rolled back byte for byte' : `renewal failed and the rollback did not fully restore: ${result.rollbackProblems.join(', ')}`, {
      hint: result.rolledBack ? 'fix the cause above and run again' : `restore by hand: rescue-kit restore ${result.backup} --root ${host.root}`,
    });
  }
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
  const runs = listRuns(options.host).filter((run) => run.phase !== 'rolled-back' && run.backup);
  if (!runs.length) throw new RescueError('FILE_NOT_FOUND', 'no run to roll back on this host', { hint: 'runs are listed by rescue-kit rollback --list' });
  options.say(table(['RUN', 'COMMAND', 'PHASE', 'STARTED'], runs.map((run) => [run.runId, run.command, run.phase, run.startedAt])));
  const runId = runs[0]!.runId;
  await confirmOrStop(options, `Roll back run ${runId} (restore its backup byte for byte)?`);
  const progress = new Progress();
  progress.step('saving the current state');
  await createBackup(options.host, { out: defaultBackupPath(options.host, `pre-rollback-${runId}`), etcd: 'skip', version: options.version, check: null });
  progress.step(`restoring the state before run ${runId}`);
  const result = await rollbackRun(options.host, loadRun(options.host, runId), { restart: options.answers.restart ?? 'none', timeoutMs: options.timeoutMs, log: (message) => progress.log(message), version: options.version });
  progress.done(result.problems.length === 0);
  if (result.problems.length) throw new RescueError('FAILED_ROLLED_BACK', `rollback incomplete: ${result.problems.join(', ')}`);
  options.say(green('rolled back byte for byte'));
}
