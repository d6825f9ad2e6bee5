// `rescue-kit demo`: the whole rescue on a sandbox, in under a minute. A
// kubeadm-shaped tree whose leaves expired a month ago (made by our own
// library), then check -> backup -> renew -> check, and, where etcd is
// installed, a real etcd serving the renewed certs answering a health check.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHost } from '../../host/host.js';
import { writeTree } from '../../host/tree.js';
import { applyRenewPlan } from '../../ops/renewal/apply.js';
import { createBackup } from '../../ops/archive/backup.js';
import { checkInventory } from '../../ops/inventory/check.js';
import { discover } from '../../ops/inventory/discover.js';
import { buildRenewPlan } from '../../ops/renewal/renew-plan.js';
import { buildSandboxTree } from '../../ops/sandbox/sandbox.js';
import { parseDuration } from '../../pki/validity.js';
import { bold, green, red, say } from '../output.js';
import { version } from '../version.js';
import { renderReport } from '../../render/check.js';
import { renderPlan } from '../../render/plan.js';
import { etcdHealthWithTree, hasEtcd } from './demo-etcd.js';

const DAY = 86_400_000;

export async function demo(options: { dir?: string; wizard?: boolean }): Promise<void> {
  const started = Date.now();
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'rescue-kit-demo-'));
  const host = createHost({ root });
  const step = (text: string) => say(bold(`\n== ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)`));

  step('1. a sandbox kubeadm control plane whose certificates expired 30 days ago');
  writeTree(root, await buildSandboxTree({ now: host.now(), expiredDaysAgo: 30 }));
  say(`   ${root}/etc/kubernetes, ${root}/var/lib/kubelet/pki`);
  if (options.wizard) {
    // The same rescue through the wizard: asked on a terminal, defaults (renew what expired, no restarts) otherwise.
    const { wizard, interactive } = await import('./wizard.js');
    step(`2. rescue-kit wizard --root ${root}`);
    await wizard({ root, timeout: '60s', ...(interactive() ? {} : { action: 'renew-expiring', restart: 'none', yes: true }) });
    say(bold(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`));
    process.stdout.write(`${root}\n`);
    return;
  }

  step('2. rescue-kit check --root ' + root);
  process.stderr.write(renderReport(checkInventory(discover(host), { now: host.now(), warnMs: 30 * DAY }), process.stderr));

  step('3. rescue-kit backup (pki, kubeconfigs, manifests, kubelet pki; manifest of sha256s; 0600)');
  const backup = await createBackup(host, { etcd: 'skip', version: version(), check: null });
  say(`   ${backup.archive} (${backup.manifest.entries.length} entries, ${(backup.bytes / 1024).toFixed(0)} KiB)`);

  step('4. rescue-kit renew --all (same keys, subjects, SANs; journal; automatic backup)');
  const plan = await buildRenewPlan(host, discover(host), { names: [], all: true, durationMs: parseDuration('1y'), newKey: false });
  process.stderr.write(renderPlan(plan));
  const report = await applyRenewPlan(host, plan, { command: 'demo renew --all', version: version(), restart: 'none', timeoutMs: 60_000, etcdBackup: 'skip', log: (message) => say(`   ${message}`) });
  if (!report.ok) throw new Error(`demo renew failed: ${report.failure}`);

  step('5. rescue-kit check again');
  const after = checkInventory(discover(host), { now: host.now(), warnMs: 30 * DAY });
  process.stderr.write(renderReport(after, process.stderr));

  if (await hasEtcd()) {
    step('6. a real etcd with client-cert auth, serving the renewed certs');
    const health = await etcdHealthWithTree(root);
    say(`   etcdctl --cert healthcheck-client.crt endpoint health: ${health.ok ? green(health.output) : red(health.output)}`);
    if (!health.ok) process.exitCode = 1;
  } else say('\n(etcd is not installed: skipping the live etcd check; apt-get install etcd-server etcd-client to see it)');

  say(bold(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`));
  say(`files: ${root}/etc/kubernetes   backups: ${root}/var/lib/rescue-kit/backups`);
  say(`undo the renewal: ./rescue-kit.sh rollback --root ${root} --yes`);
  process.stdout.write(`${root}\n`);
}
