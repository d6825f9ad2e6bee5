// Scenario 4's child: one createBackup of --root into --out in a process of
// its own, so its VmHWM is the backup's (Node and the library included).
// Prints one JSON line: time, CPU, VmHWM, archive size, etcd method.
//
//   node build/scripts/benchmark/backup-child.js --root ROOT --out FILE [--level N]
//
// etcd is "stopped": the host's etcdctl answers as a stopped etcd does (exit 1,
// deadline exceeded) at once, so createBackup takes its real fallback — copy
// the data dir, method 'data-dir' — without the 5 s etcdctl probe timeout, which
// the parent measures on its own (it is a fixed cost, not throughput).
import { performance } from 'node:perf_hooks';
import { createHost, type RunResult } from '../../lib/host/host.js';
import { createBackup } from '../../lib/ops/archive/backup.js';
import { ownCpuMs, vmHwmBytes } from './measure.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

async function stoppedEtcd(command: string): Promise<RunResult> {
  if (command === 'etcdctl') return { exitCode: 1, stdout: '', stderr: 'context deadline exceeded (bench: etcd is stopped)', timedOut: false };
  return { exitCode: 127, stdout: '', stderr: `${command}: not run by the bench`, timedOut: false };
}

async function main(): Promise<void> {
  const root = option('--root');
  const out = option('--out');
  if (!root || !out) throw new Error('usage: backup-child.js --root ROOT --out FILE [--level N]');
  const level = option('--level') === undefined ? undefined : Number(option('--level'));
  const host = createHost({ root, run: stoppedEtcd });
  const vmHwmBefore = vmHwmBytes();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await createBackup(host, { out, etcd: 'auto', version: 'bench', check: null, level });
  const ms = performance.now() - start;
  const files = result.manifest.entries.filter((entry) => entry.type === 'file');
  console.log(
    JSON.stringify({
      ms,
      cpuMs: ownCpuMs(cpu),
      vmHwm: vmHwmBytes(),
      vmHwmBefore,
      archiveBytes: result.bytes,
      files: files.length,
      inputBytes: files.reduce((sum, entry) => sum + entry.size, 0),
      etcdMethod: result.manifest.etcd.method,
      warnings: result.manifest.warnings,
    }),
  );
}

main().catch((error) => {
  console.error(`backup-child: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
