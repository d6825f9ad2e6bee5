// `rescue-kit ca rotate CA... --phase trust|reissue|distrust`: each phase one plan through the
// renew path (confirm, backup, journal, restart, health, rollback); the exchange directory is
// read before the plan and written after a successful run. Policy lives in ops/ca.
import { RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { discover } from '../../ops/inventory/discover.js';
import { parseDuration } from '../../pki/validity.js';
import { say, warn } from '../output.js';
import { planAndApply, RenewCommandOptions } from './renew.js';

export interface CaRotateOptions extends RenewCommandOptions {
  phase?: 'trust' | 'reissue' | 'distrust' | 'start' | 'finish';
  newCa?: string;
  exportNew?: string;
  certificatesOnly?: boolean;
  /** --no-in-cluster: leave the cluster's objects alone. */
  inCluster?: boolean;
  inClusterFrom?: string;
  inClusterOut?: string;
  exportKubeconfigs?: string;
  tokenGrace?: string;
  tokenSecretsFrom?: string;
  /** --no-server-check: distrust removes the old CA from every caBundle without asking its server. */
  serverCheck?: boolean;
}

/** --token-grace: a duration, or 0 (the operator knows every pod's token was refreshed). */
const graceOf = (text: string) => (/^\s*0+[a-z]*\s*$/.test(text) ? 0 : parseDuration(text, '--token-grace'));

const NEXT: Record<string, string> = {
  trust: 'once every node (control planes, then workers) has done trust: --phase reissue, node by node',
  reissue: 'once every node has done reissue (and kubelets hold client certs of the new CA): --phase distrust',
  distrust: 'the old CA is trusted nowhere on this node; distrust the other nodes too',
};

export async function caRotate(names: string[], options: CaRotateOptions): Promise<void> {
  const host = createHost({ root: options.root });
  const { ROTATABLE } = await import('../../ops/ca/rotation-state.js');
  const { exportFromTree, readExchange, writeExchange } = await import('../../ops/ca/rotation-exchange.js');
  if (options.phase === 'start' || options.phase === 'finish') return legacy(names, options);
  if (!options.phase) {
    if (!options.exportNew) throw new RescueError('USAGE', 'say which phase: --phase trust|reissue|distrust (or --export-new DIR alone to export a rotation in progress)');
    const written = exportFromTree(host, options.exportNew, { withKeys: !options.certificatesOnly });
    return say(`exported: ${written.join(', ')}`);
  }
  const authorities = options.all ? [...ROTATABLE] : names;
  if (!authorities.length) throw new RescueError('USAGE', 'say which authorities to rotate: ca, etcd-ca, front-proxy-ca, sa, or --all');
  const unknown = authorities.filter((name) => !(ROTATABLE as readonly string[]).includes(name));
  if (unknown.length) throw new RescueError('USAGE', `unknown authority ${unknown.join(', ')}`, { hint: `one or more of ${ROTATABLE.join(', ')}, or --all` });
  const chosen = [...new Set(authorities)] as (typeof ROTATABLE)[number][];
  const exchange = options.newCa ? readExchange(options.newCa, chosen) : undefined;
  const { buildRotationPhase, phaseAlreadyDone } = await import('../../ops/ca/rotate-phases.js');
  const phase = options.phase;
  const done = phaseAlreadyDone(host, discover(host), { phase, authorities: chosen, shared: exchange?.shared });
  if (done) {
    say(`ca rotate ${chosen.join(' ')}: phase ${phase} already done on this node: nothing to do`);
    return await share(done);
  }
  const plan = await planAndApply(
    host,
    options,
    `ca rotate --phase ${phase} ${chosen.join(' ')}`,
    async () => buildRotationPhase(host, discover(host), { phase, authorities: chosen, durationMs: parseDuration(options.validity, '--validity'), given: exchange?.given, shared: exchange?.shared, force: options.force, tokenGraceMs: options.tokenGrace === undefined ? undefined : graceOf(options.tokenGrace), tokenSecretsFrom: options.tokenSecretsFrom }),
    `ca rotate ${chosen.join(' ')}: phase ${phase} done on this node`,
  );
  if (!plan || options.dryRun) return;
  await share((plan as Awaited<ReturnType<typeof buildRotationPhase>>).state);

  async function share(state: Parameters<typeof writeExchange>[2]): Promise<void> {
    if (options.exportNew) say(`exported for the other control planes: ${writeExchange(host, options.exportNew, state, { withKeys: !options.certificatesOnly }).join(', ')}`);
    if (options.newCa) writeExchange(host, options.newCa, state, { withKeys: false });
    // Idempotent: a phase already done here still (re)checks the cluster's copies, so a re-run completes them.
    if (chosen.includes('ca')) await clusterCaCopies(host, state, phase as 'trust' | 'reissue' | 'distrust', options);
    say(`next: ${NEXT[phase!]}`);
  }
}

/** After a phase of the cluster CA: its copies in the cluster (live, or the scripts), and kubeconfigs to hand out. */
async function clusterCaCopies(host: ReturnType<typeof createHost>, state: import('../../ops/ca/rotation-state.js').RotationState, phase: 'trust' | 'reissue' | 'distrust', options: CaRotateOptions): Promise<void> {
  const { exportKubeconfigs, inClusterAfterPhase } = await import('../../ops/ca/after-phase.js');
  if (options.inCluster !== false) {
    const outcome = await inClusterAfterPhase(host, state, { phase, objectsFrom: options.inClusterFrom, out: options.inClusterOut, checkServers: options.serverCheck }, { say, warn });
    if (outcome) say(`in-cluster copies: ${outcome.out}/ (${inClusterSummary(outcome)})`);
  }
  if (options.exportKubeconfigs) say(`kubeconfigs to hand out again: ${exportKubeconfigs(host, options.exportKubeconfigs).map((name) => `${options.exportKubeconfigs}/${name}`).join(', ')}`);
}

function inClusterSummary(outcome: import('../../ops/ca/in-cluster-run.js').InClusterOutcome): string {
  if (outcome.source === 'offline') return 'the API did not answer: export.sh written';
  if (!outcome.copies.length) return 'every copy already right: nothing to change';
  return outcome.applied ? `${outcome.copies.length} object(s) replaced and read back` : `${outcome.copies.length} object(s) to replace: sh apply.sh`;
}

/** `ca in-cluster DIR`: continue the in-cluster step of a phase (from exported objects, or live once the API answers). */
export async function caInCluster(dir: string, options: { root?: string; from?: string; kubeconfig?: string; apply?: boolean; serverCheck?: boolean }): Promise<void> {
  const host = createHost({ root: options.root });
  const { readRotationFile, rotateInClusterCopies } = await import('../../ops/ca/in-cluster-run.js');
  const { adminConf } = await import('../../ops/ca/after-phase.js');
  const { phase, ca } = readRotationFile(dir);
  const outcome = await rotateInClusterCopies(host, { phase, ca, out: dir, from: options.from, kubeconfig: options.kubeconfig ?? host.real(adminConf()), apply: options.apply !== false && !options.from, checkServers: options.serverCheck }, { say, warn });
  say(`in-cluster copies, phase ${phase}: ${outcome.out}/ (${inClusterSummary(outcome)})`);
}

/** The two-phase rotation of the cluster CA alone (start: bundle + re-issue at once; finish). */
async function legacy(names: string[], options: CaRotateOptions): Promise<void> {
  if (names.some((name) => name !== 'ca') || options.all) throw new RescueError('USAGE', '--phase start|finish rotates the cluster CA only', { hint: 'use --phase trust|reissue|distrust for etcd-ca, front-proxy-ca and sa' });
  const host = createHost({ root: options.root });
  const { buildCaRotateFinish, buildCaRotateStart } = await import('../../ops/ca/ca-rotate-plan.js');
  const phase = options.phase!;
  await planAndApply(host, options, `ca rotate --phase ${phase}`, async () =>
    phase === 'start' ? buildCaRotateStart(host, discover(host), parseDuration(options.validity, '--validity')) : buildCaRotateFinish(host, discover(host)),
  );
  if (phase === 'start' && !options.dryRun) say('transition: clients trust both CAs. Once every node and client has the bundle, run: rescue-kit ca rotate --phase finish');
}
