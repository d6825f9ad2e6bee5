// Scenario 5: the whole kubeadm renewal of a real kubeadm 1.14 tree (7 pki
// leaves + 4 kubeconfigs, reused keys): `rescue-kit renew --all` with its
// automatic backup, journal and fsyncs — as the CLI process and in-process —
// against the openssl and cfssl loops with a tar czf backup first.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHost } from '../../lib/host/host.js';
import { applyRenewPlan } from '../../lib/ops/renewal/apply.js';
import { discover } from '../../lib/ops/inventory/discover.js';
import { interruptedRuns } from '../../lib/ops/renewal/journal.js';
import { buildRenewPlan } from '../../lib/ops/renewal/renew-plan.js';
import { parseDuration } from '../../lib/pki/validity.js';
import { CLI, ROOT } from './constants.js';
import { fmtRatio, progress } from './format.js';
import { ownCpuMs, timeCommand, timeScript, type Timing } from './measure.js';
import { medianPhases, mergeVerification, summarise, type Phases, type ScenarioResult } from './results.js';
import { copyFixture, renewalJobs, verifyRenewedTree, type RenewalJob } from './renewal-jobs.js';
import { cfsslRenewalScript, opensslRenewalScript } from './renewal-scripts.js';
import type { Verification } from './verify.js';

const BACKUPS = join('var', 'lib', 'rescue-kit', 'backups');
const hasArchive = (dir: string) => () => existsSync(dir) && readdirSync(dir).some((file) => file.endsWith('.tar.gz'));

/** Ours as the operator runs it: a new node process, the CLI, every default but the ones the scenario names. */
function oursCli(root: string): Timing {
  return timeCommand(process.execPath, [CLI, 'renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root], 'rescue-kit renew (CLI)');
}

/**
 * The CLI as shipped on the USB stick: build the real x64 bundle (untimed; Node 22 LTS from the
 * cache scripts/build-bundle keeps) and unpack it. Undefined when it cannot be built here.
 */
function prepareBundle(work: string): string | undefined {
  const out = join(work, 'bundle');
  const built = spawnSync(join(ROOT, 'scripts', 'build-bundle'), ['--arch', 'x64', '--out', out], { encoding: 'utf8' });
  const tarball = existsSync(out) ? readdirSync(out).find((file) => /linux-x64\.tar\.gz$/.test(file)) : undefined;
  if (built.status !== 0 || !tarball) {
    progress(`renewal: no bundle contender (scripts/build-bundle failed: ${(built.stderr ?? '').trim().split('\n').pop()})`);
    return undefined;
  }
  spawnSync('tar', ['xzf', join(out, tarball), '-C', out]);
  const dir = readdirSync(out).find((name) => !name.endsWith('.tar.gz') && existsSync(join(out, name, 'rescue-kit.sh')));
  return dir ? join(out, dir, 'rescue-kit.sh') : undefined;
}

function oursBundle(script: string, root: string): Timing {
  return timeCommand(script, ['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root], 'rescue-kit renew (bundle)');
}

/** Ours in this process: what the CLI's renew does after parsing its flags (no plan printing). */
async function oursInProcess(root: string): Promise<Timing & { phases: Phases }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const host = createHost({ root });
  if (interruptedRuns(host).length) throw new Error(`${root} has an interrupted run`);
  const inventory = discover(host);
  const plan = await buildRenewPlan(host, inventory, { names: [], all: true, durationMs: parseDuration('1y', '--validity'), newKey: false, beyondCa: 'cap' });
  const planned = performance.now();
  const report = await applyRenewPlan(host, plan, {
    command: 'renew --all',
    version: 'bench',
    restart: 'none',
    timeoutMs: parseDuration('120s', '--timeout'),
    etcdBackup: 'skip',
    log: () => {},
  });
  const ms = performance.now() - start;
  if (!report.ok) throw new Error(`in-process renew failed: ${report.failure}`);
  return { ms, cpuMs: ownCpuMs(cpu), phases: { 'discover+plan': planned - start, 'apply (lock, journal, backup, stage, commit, fsyncs)': ms - (planned - start) } };
}

export async function scenarioRenewal(work: string, reps: number): Promise<ScenarioResult> {
  const base = join(work, 'renewal');
  const jobs: RenewalJob[] = renewalJobs(join(base, 'inputs'));
  const n = jobs.length;
  progress('renewal: building the offline bundle (untimed)');
  const bundle = prepareBundle(base);
  const runs = { ours: [] as Timing[], inProcess: [] as Timing[], bundle: [] as Timing[], openssl: [] as Timing[], cfssl: [] as Timing[] };
  const checks = { ours: [] as Verification[], inProcess: [] as Verification[], bundle: [] as Verification[], openssl: [] as Verification[], cfssl: [] as Verification[] };
  const phases: Phases[] = [];
  for (let rep = 0; rep < reps; rep++) {
    progress(`renewal: rep ${rep + 1}/${reps}`);
    // Fresh copies first (untimed), then the contenders interleaved.
    const root = (who: string) => copyFixture(join(base, who, `rep-${rep}`, 'root'));
    const roots = { ours: root('ours'), inProcess: root('in-process'), bundle: root('bundle-run'), openssl: root('openssl'), cfssl: root('cfssl') };
    const scratch = (who: string) => join(base, who, `rep-${rep}`, 'scratch');
    const loopBackup = (who: string) => join(base, who, `rep-${rep}`, 'backup.tar.gz');

    runs.ours.push(oursCli(roots.ours));
    if (bundle) runs.bundle.push(oursBundle(bundle, roots.bundle));
    const inProcess = await oursInProcess(roots.inProcess);
    runs.inProcess.push(inProcess);
    phases.push(inProcess.phases);
    const opensslScript = join(base, `openssl-${rep}.sh`);
    writeFileSync(opensslScript, opensslRenewalScript(roots.openssl, jobs, { scratch: scratch('openssl'), backup: loopBackup('openssl') }));
    runs.openssl.push(timeScript(opensslScript, 'renewal openssl loop'));
    const cfsslScript = join(base, `cfssl-${rep}.sh`);
    writeFileSync(cfsslScript, cfsslRenewalScript(roots.cfssl, jobs, { scratch: scratch('cfssl'), backup: loopBackup('cfssl') }));
    runs.cfssl.push(timeScript(cfsslScript, 'renewal cfssl loop'));

    // Outside timing: every tree renewed right, and backed up.
    checks.ours.push(verifyRenewedTree('ours', roots.ours, jobs, join(base, 'ours', `rep-${rep}`, 'check'), hasArchive(join(roots.ours, BACKUPS))));
    if (bundle) checks.bundle.push(verifyRenewedTree('ours-bundle', roots.bundle, jobs, join(base, 'bundle-run', `rep-${rep}`, 'check'), hasArchive(join(roots.bundle, BACKUPS))));
    checks.inProcess.push(verifyRenewedTree('ours-lib', roots.inProcess, jobs, join(base, 'in-process', `rep-${rep}`, 'check'), hasArchive(join(roots.inProcess, BACKUPS))));
    checks.openssl.push(verifyRenewedTree('openssl', roots.openssl, jobs, join(base, 'openssl', `rep-${rep}`, 'check'), () => existsSync(loopBackup('openssl'))));
    checks.cfssl.push(verifyRenewedTree('cfssl', roots.cfssl, jobs, join(base, 'cfssl', `rep-${rep}`, 'check'), () => existsSync(loopBackup('cfssl'))));
    rmSync(join(base, 'ours', `rep-${rep}`), { recursive: true, force: true });
  }
  const ours = summarise(runs.ours, n, mergeVerification(checks.ours));
  const oursLib = summarise(runs.inProcess, n, mergeVerification(checks.inProcess), { phases: medianPhases(phases) });
  const oursShipped = bundle ? summarise(runs.bundle, n, mergeVerification(checks.bundle)) : undefined;
  const openssl = summarise(runs.openssl, n, mergeVerification(checks.openssl));
  const cfssl = summarise(runs.cfssl, n, mergeVerification(checks.cfssl));
  const ratios = {
    oursOverOpenssl: ours.medianMs / openssl.medianMs,
    oursOverCfssl: ours.medianMs / cfssl.medianMs,
    basis: 'median wall time, the whole renewal of the same tree (CLI process: node start included)',
    inProcess: { oursOverOpenssl: oursLib.medianMs / openssl.medianMs, oursOverCfssl: oursLib.medianMs / cfssl.medianMs },
    bundle: oursShipped ? { oursOverOpenssl: oursShipped.medianMs / openssl.medianMs, oursOverCfssl: oursShipped.medianMs / cfssl.medianMs } : undefined,
  };
  const target = (name: string, ratio: number) => ({ name, value: fmtRatio(ratio), pass: ratio <= 0.5 });
  return {
    id: 'renewal',
    title: `Scenario 5: whole kubeadm renewal, real kubeadm 1.14 tree: ${n - 4} pki leaves + 4 kubeconfigs, reused keys, backup first`,
    contenders: { ours, oursInProcess: oursLib, oursBundle: oursShipped, openssl, cfssl },
    ratios,
    targets: [
      target('CLI ours/openssl <= 0.5x', ratios.oursOverOpenssl),
      target('CLI ours/cfssl <= 0.5x', ratios.oursOverCfssl),
      target('in-process ours/openssl <= 0.5x', ratios.inProcess.oursOverOpenssl),
      target('in-process ours/cfssl <= 0.5x', ratios.inProcess.oursOverCfssl),
      ...(ratios.bundle ? [target('bundle ours/openssl <= 0.5x', ratios.bundle.oursOverOpenssl), target('bundle ours/cfssl <= 0.5x', ratios.bundle.oursOverCfssl)] : []),
    ],
    notes: [
      'ours (CLI): `node build/lib/cli/main.js renew --all --restart none --yes --no-etcd-backup --root COPY`: node start, discover, plan, lock, journal, tar.gz backup (fsync), staged files (fsync), 11 commits (fsync file + dir, journal after each)',
      'ours bundle: the same command through the offline bundle as an operator runs it (rescue-kit.sh: arch + glibc checks, then its own Node 22 LTS on the one-file CLI)',
      'ours-lib: the same in this process (createHost + discover + buildRenewPlan + applyRenewPlan); warm after the first rep',
      'openssl: tar czf etc/kubernetes; per pki leaf x509 -x509toreq + x509 -req -extfile over the old cert; per kubeconfig sed|base64 -d cert and key, the same 2 openssl calls, base64 -w0 + sed -i to re-embed',
      'cfssl: the same backup and kubeconfig handling; per cert x509 -x509toreq (timed: cfssl needs a CSR) + cfssl sign -hostname SANs | cfssljson -bare + cat into place. Loops do no fsync and keep no journal',
    ],
  };
}
