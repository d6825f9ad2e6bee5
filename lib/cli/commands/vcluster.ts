// `rescue-kit vcluster reset`: seed 001's fix for a k0s vcluster stuck on expired persisted certs.
import { createHost } from '../../host/host.js';
import { checkInventory } from '../../ops/inventory/check.js';
import { discover } from '../../ops/inventory/discover.js';
import { assertKubectlReachesCluster, findPersistedPki, resetVclusterPki, runVclusterCommands } from '../../ops/seeds/vcluster.js';
import { renderReport } from '../../render/check.js';
import { shellLine } from '../../ops/seeds/cert-manager.js';
import { say } from '../output.js';
import { version } from '../version.js';
import { confirmOrAbort } from './confirm.js';

export interface VclusterOptions {
  root: string;
  data: string;
  name: string;
  namespace: string;
  dryRun?: boolean;
  yes?: boolean;
  apply?: boolean;
  kubeconfig?: string;
}

export async function vclusterReset(options: VclusterOptions): Promise<void> {
  const host = createHost({ root: options.root });
  const pkiDir = findPersistedPki(host, options.data);
  say(`persisted pki: ${host.real(pkiDir)}`);
  process.stderr.write(renderReport(checkInventory(discover(host, { path: pkiDir }), { now: host.now(), warnMs: 30 * 86_400_000 }), process.stderr));
  say(`plan: back up ${pkiDir}, move it to ${pkiDir}.old-<time>, delete secret ${options.name}-certs, delete pod ${options.name}-0 (vcluster then generates a new pki)`);
  // Before the question and before any move: the kubectl steps of --apply must be able to run.
  if (options.apply) {
    await assertKubectlReachesCluster(host, options.kubeconfig);
    say('kubectl reaches the cluster');
  }
  if (options.dryRun) return;
  await confirmOrAbort(options.yes, `move ${pkiDir} aside so vcluster ${options.name} regenerates its certificates?`);
  const reset = await resetVclusterPki(host, { dataDir: options.data, name: options.name, namespace: options.namespace, version: version(), kubeconfig: options.kubeconfig, log: say });
  say(`backup: ${reset.backup}\nmoved: ${reset.pkiDir} -> ${reset.movedTo} (undo: mv ${host.real(reset.movedTo)} ${host.real(reset.pkiDir)})`);
  if (!options.apply) {
    say('now run:');
    for (const command of reset.commands) say(`  ${shellLine(command)}`);
    return;
  }
  await runVclusterCommands(host, reset, say);
}
