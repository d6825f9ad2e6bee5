// rescue-kit's benchmark: ours against what an operator would otherwise run —
// openssl and cfssl loops, tar czf — on the same files, in one run.
// Not a test: it prints a table (and JSON with --json).
//
//   scripts/bench [--quick] [--json] [--only reuse|newkeys|ecdsa|ecdsa1000|backup|renewal|cluster|ca-rotation] [--backup-size MB]
//
// Scenario 1: kubeadm's 10 leaf certs re-issued with their existing keys.
// Scenario 2: the same 10 certs with new RSA-2048 keys.
// Scenario 3: 1000 ECDSA P-256 kubelet client certs (ours in a child process so
//             its peak RSS is its own; openssl and cfssl do 50, extrapolated).
// Scenario 4: backup throughput of a tree with a 1 GiB etcd db, ours (child
//             process, VmHWM) against tar czf.
// Scenario 5: the whole kubeadm renewal of a real kubeadm 1.14 tree, ours as
//             the CLI and in-process, against openssl and cfssl loops.
// Scenario 6: the rolling renewal of a 3-node HA control plane on the test rig
//             behind a real haproxy: failed client requests and wall time (no contenders:
//             no other tool does this rollout; once per run).
//
// `--only ecdsa1000` is the child: it measures our 1000 certificates in this
// process and reports total time and VmHWM (`--only ecdsa` runs scenario 3). The parent adds --ca-dir,
// --out and --json-line so the child signs with the shared CA and its output
// can be verified. Scenario 4's child is backup-child.js.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, type Only } from './args.js';
import { scenarioBackup } from './backup.js';
import { oursEcdsa, scenarioEcdsa } from './ecdsa.js';
import { environment, measureStartup } from './environment.js';
import { fmtMb, fmtMs, progress } from './format.js';
import { scenarioKubeadm } from './kubeadm-set.js';
import { prepareKubeadmSet } from './kubeadm-set-jobs.js';
import { scenarioRenewal } from './renewal.js';
import { ClusterResult, printCluster, scenarioCluster } from './cluster.js';
import { CaRotationResult, printCaRotation, scenarioCaRotation } from './ca-rotation.js';
import { printResult, printSummary } from './report.js';
import { failed, type AnyScenarioResult } from './results.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));

  // The child (or someone wanting only our ECDSA number): measure in this process.
  if (args.only === 'ecdsa1000') {
    const result = await oursEcdsa(args.count, args.caDir, args.out);
    if (args.jsonLine) console.log(JSON.stringify(result));
    else {
      console.log(`ours: ${result.count} ECDSA P-256 certs in ${fmtMs(result.ms)} (${result.certsPerSecond.toFixed(0)} certs/s, cpu ${fmtMs(result.cpuMs)}), VmHWM ${fmtMb(result.vmHwm)}`);
      console.log(`  phases (ms): ${Object.entries(result.phases).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ')}`);
      if (args.json) console.log(JSON.stringify(result, null, 2));
    }
    return;
  }

  const started = performance.now();
  const reps = args.quick ? 1 : 3;
  const backupMb = args.backupMb ?? (args.quick ? 128 : 1024);
  const work = mkdtempSync(join(tmpdir(), 'rescue-kit-bench-'));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  try {
    const info = environment(work);
    const wanted = (id: Exclude<Only, 'ecdsa1000'>) => !args.only || args.only === id;
    const results: AnyScenarioResult[] = [];
    if (wanted('reuse') || wanted('newkeys')) {
      progress('building the sandbox tree (RSA 2048) and the inputs');
      const { jobs } = await prepareKubeadmSet(work);
      if (wanted('reuse')) results.push(await scenarioKubeadm('reuse', jobs, work, reps));
      if (wanted('newkeys')) results.push(await scenarioKubeadm('newkeys', jobs, work, reps));
    }
    if (wanted('ecdsa')) results.push(await scenarioEcdsa(work, reps));
    if (wanted('backup')) results.push(await scenarioBackup(work, reps, backupMb));
    if (wanted('renewal')) results.push(await scenarioRenewal(work, reps));
    const cluster: ClusterResult | undefined = wanted('cluster') ? await scenarioCluster() : undefined;
    const rotation: CaRotationResult | undefined = wanted('ca-rotation') ? await scenarioCaRotation() : undefined;
    const startupMs = measureStartup();
    info.loadAverageAtEnd = loadavg();
    const totalMs = performance.now() - started;

    const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
    console.log(`rescue-kit bench: ${reps} repetition${reps > 1 ? 's' : ''} per contender, interleaved; median wall time`);
    console.log(`  node ${info.node} (OpenSSL ${info.nodeOpenssl}, zlib ${info.nodeZlib}); ${info.openssl}; cfssl ${info.cfssl}; ${info.tar}; ${info.gzip}`);
    console.log(`  ${info.cpus} CPUs (${info.cpu}); temp files in ${info.tmp}; load average ${load(info.loadAverageAtStart)} at start, ${load(info.loadAverageAtEnd)} at end`);
    if (Math.max(info.loadAverageAtStart[0]!, info.loadAverageAtEnd[0]!) > info.cpus) {
      console.log(`  WARNING: the machine was busy (load > ${info.cpus} CPUs): wall times are inflated and noisy; the cpu column is steadier`);
    }
    console.log('');
    for (const result of results) printResult(result);
    if (cluster) printCluster(cluster);
    if (rotation) printCaRotation(rotation);
    if (results.length) printSummary(results, totalMs, startupMs);
    if (cluster) console.log(`  6 cluster: 3 control planes rolled, ${cluster.requests} requests through haproxy, ${cluster.failedRequests} failed, ${fmtMs(cluster.wallMs)}  target 0 failed ${cluster.failedRequests === 0 ? 'PASS' : 'MISS'}`);
    if (rotation) console.log(`  7 ca-rotation: 4 CAs x 3 phases x 3 control planes, ${rotation.requests} requests through haproxy, ${rotation.failedRequests} failed, ${fmtMs(rotation.wallMs)}  target 0 failed ${rotation.failedRequests === 0 && rotation.runs.every((run) => run.exitCode === 0) ? 'PASS' : 'MISS'}`);
    if (args.json) console.log(JSON.stringify({ reps, environment: info, totalMs, nodeStartupImportMs: startupMs, scenarios: results, cluster, rotation }, null, 2));
    if (results.some(failed) || (cluster && (cluster.failedRequests > 0 || cluster.perNode.some((node) => node.exitCode !== 0)))) process.exitCode = 1;
    if (rotation && (rotation.failedRequests > 0 || rotation.runs.some((run) => run.exitCode !== 0))) process.exitCode = 1;
  } finally {
    cleanup();
  }
}

main().catch((error) => {
  console.error(`bench: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
