// `rescue-kit ca rotate CA... --phase trust|reissue|distrust`: each phase one plan through the
// renew path (confirm, backup, journal, restart, health, rollback); the exchange directory is
// read before the plan and written after a successful run. Policy lives in ops/ca.
import { RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { discover } from '../../ops/inventory/discover.js';
import { parseDuration } from '../../pki/validity.js';
import { say } from '../output.js';
import { planAndApply, RenewCommandOptions } from './renew.js';

export interface CaRotateOptions extends RenewCommandOptions {
  phase?: 'trust' | 'reissue' | 'distrust' | 'start' | 'finish';
  newCa?: string;
  exportNew?: string;
  certificatesOnly?: boolean;
}

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
    return share(done);
  }
  const plan = await planAndApply(
    host,
    options,
    `ca rotate --phase ${phase} ${chosen.join(' ')}`,
    async () => buildRotationPhase(host, discover(host), { phase, authorities: chosen, durationMs: parseDuration(options.validity, '--validity'), given: exchange?.given, shared: exchange?.shared, force: options.force }),
    `ca rotate ${chosen.join(' ')}: phase ${phase} done on this node`,
  );
  if (!plan || options.dryRun) return;
  share((plan as Awaited<ReturnType<typeof buildRotationPhase>>).state);

  function share(state: Parameters<typeof writeExchange>[2]): void {
    if (options.exportNew) say(`exported for the other control planes: ${writeExchange(host, options.exportNew, state, { withKeys: !options.certificatesOnly }).join(', ')}`);
    if (options.newCa) writeExchange(host, options.newCa, state, { withKeys: false });
    say(`next: ${NEXT[phase]}`);
  }
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
