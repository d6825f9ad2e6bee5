// Scenario 7: every CA of a 3-node HA control plane rotated on the test rig (`ca rotate --all`: ca,
// etcd-ca, front-proxy-ca, sa), trust -> reissue -> distrust, each phase on cp1, cp2, cp3 in turn with
// the real CLI and --restart static-pod, while a client goes through haproxy with cp1's admin.conf as it
// is at that moment (its CA data and client cert re-read per request, as kubectl would). Measured: the
// requests and failed requests over the whole rotation, and each node's phase run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readKubeconfig } from '../../lib/ops/inventory/kubeconfig.js';
import { startClusterRig, type Rig } from '../../test/helpers/cluster-rig.js';
import { cli } from '../../test/helpers/renew.js';
import { fmtMs, progress } from './format.js';

export interface CaRotationResult {
  id: 'ca-rotation';
  nodes: number;
  requests: number;
  failedRequests: number;
  errors: string[];
  /** Failed requests by the run under way (or just done) when they failed. */
  failedDuring: Record<string, number>;
  wallMs: number;
  runs: { phase: string; node: string; exitCode?: number; ms: number }[];
}

const PHASES = ['trust', 'reissue', 'distrust'] as const;

/** cp1's admin.conf client credentials now (its current context's user, as kubectl picks it). */
function adminCredentials(rig: Rig): { cert?: Buffer; key?: Buffer } {
  const file = join(rig.nodes[0]!.root, 'etc/kubernetes/admin.conf');
  const user = readKubeconfig(readFileSync(file, 'utf8'), file).currentUser;
  const data = (value: string | undefined) => (value ? Buffer.from(value, 'base64') : undefined);
  return { cert: data(user?.certData), key: data(user?.keyData) };
}

/** GET through haproxy until stopped; rig.fetch trusts cp1's ca.crt bundle as it is now. */
function adminLoop(rig: Rig, running_: { now: string }) {
  const stats = { requests: 0, failures: 0, errors: [] as string[], during: {} as Record<string, number> };
  let running = true;
  const loop = (async () => {
    while (running) {
      stats.requests++;
      try {
        const { status } = await rig.fetch('/api/v1/namespaces/default', adminCredentials(rig));
        if (status !== 200) throw new Error(`HTTP ${status}`);
      } catch (error) {
        stats.failures++;
        stats.during[running_.now] = (stats.during[running_.now] ?? 0) + 1;
        if (stats.errors.length < 10) stats.errors.push(`${new Date().toISOString()} ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}

export async function scenarioCaRotation(): Promise<CaRotationResult> {
  progress('ca-rotation: starting the rig (3 trees, etcd x3, apiserver stand-ins, haproxy)');
  const rig = await startClusterRig();
  const share = join(rig.nodes[0]!.root, '..', 'rk-bench-new-ca');
  try {
    const current = { now: 'before' };
    const loop = adminLoop(rig, current);
    const started = performance.now();
    const runs: CaRotationResult['runs'] = [];
    for (const phase of PHASES) {
      for (const [index, node] of rig.nodes.entries()) {
        progress(`ca-rotation: ca rotate --all --phase ${phase} on ${node.name}`);
        const exchange = phase === 'trust' && index === 0 ? ['--export-new', share] : ['--new-ca', share];
        // The rig's pods refresh their tokens at once (no 24 h wait); its API holds no legacy token Secret.
        const grace = phase === 'distrust' ? ['--token-grace', '0'] : [];
        current.now = `${phase}@${node.name}`;
        const t0 = performance.now();
        const run = await cli(['ca', 'rotate', '--all', '--phase', phase, ...exchange, ...grace, '--yes', '--root', node.root, '--restart', 'static-pod', '--timeout', '60s'], node.fakes.env, 180_000);
        runs.push({ phase, node: node.name, exitCode: run.exitCode, ms: performance.now() - t0 });
        current.now = `after ${phase}@${node.name}`;
        if (run.exitCode !== 0) progress(`ca-rotation: ${phase} on ${node.name} exit ${run.exitCode}: ${run.stderr.slice(-400)}`);
      }
    }
    const wallMs = performance.now() - started;
    const stats = await loop.stop();
    return { id: 'ca-rotation', nodes: rig.nodes.length, requests: stats.requests, failedRequests: stats.failures, errors: stats.errors, failedDuring: stats.during, wallMs, runs };
  } finally {
    await rig.stop();
  }
}

export function printCaRotation(result: CaRotationResult): void {
  console.log('7. every CA rotated on a 3-node HA control plane (ca rotate --all: ca, etcd-ca, front-proxy-ca, sa; rig as in 6)');
  console.log(`   requests through haproxy with cp1's admin.conf as it was at each moment: ${result.requests}, failed: ${result.failedRequests}${result.failedRequests ? ` (${result.errors.slice(0, 3).join('; ')})` : ''}`);
  if (result.failedRequests) console.log(`   failed during: ${Object.entries(result.failedDuring).map(([run, count]) => `${run} ${count}`).join(', ')}`);
  console.log(`   wall time, three phases x three nodes one after another: ${fmtMs(result.wallMs)}`);
  for (const phase of PHASES) {
    const runs = result.runs.filter((run) => run.phase === phase);
    console.log(`   ${phase.padEnd(8)} ${runs.map((run) => `${run.node} ${fmtMs(run.ms)}${run.exitCode ? ` (exit ${run.exitCode})` : ''}`).join(', ')}`);
  }
  console.log('   A phase must be done on every node before the next starts; a node\'s run grows with its leaves, not with the cluster.');
  console.log('');
}
