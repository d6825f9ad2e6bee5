// Scenario 4: backup throughput. A kubeadm tree with a large etcd db (see
// backup-data.ts) archived by ours — createBackup in a child process, etcd
// stopped, so it copies the data dir (method 'data-dir') — and by
// `tar czf` (GNU tar + gzip -6) of the same dirs, interleaved in one run.
// Throughput = the files' bytes / wall time; higher is better.
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHost } from '../../lib/host/host.js';
import { etcdClient, etcdHealthy } from '../../lib/ops/renewal/etcd.js';
import { readManifests } from '../../lib/ops/inventory/manifests.js';
import { BACKUP_CHILD, CLI } from './constants.js';
import { fmtMb, fmtMs, fmtRatio, progress } from './format.js';
import { run, runJsonChild, timeCommand, type Timing } from './measure.js';
import { median, type BackupContender, type BackupScenarioResult } from './results.js';
import { BACKUP_DIRS, buildBackupInput, DB_PATH, type BackupInput } from './backup-data.js';
import type { Verification } from './verify.js';

interface ChildResult {
  ms: number;
  cpuMs: number;
  vmHwm: number;
  vmHwmBefore: number;
  archiveBytes: number;
  files: number;
  inputBytes: number;
  etcdMethod: string;
  warnings: string[];
  spawnMs: number;
}

const MB = 1024 * 1024;
const rate = (bytes: number, ms: number) => bytes / MB / (ms / 1000);

function oursBackup(input: BackupInput, out: string, level?: number): ChildResult {
  const args = ['--root', input.root, '--out', out, ...(level === undefined ? [] : ['--level', String(level)])];
  return runJsonChild<ChildResult>(BACKUP_CHILD, args, 'backup child');
}

function tarBackup(input: BackupInput, out: string, gzipLevel?: number): Timing {
  // Default: `tar czf` (gzip -6). For scale only: another level through -I.
  const args = gzipLevel === undefined ? ['czf', out] : ['cf', out, '-I', `gzip -${gzipLevel}`];
  return timeCommand('tar', [...args, '-C', input.root, ...BACKUP_DIRS], 'tar czf');
}

/** What `tar tzf` lists (dirs keep their trailing "/"). */
const listing = (archive: string) => run('tar', ['tzf', archive], `tar tzf ${archive}`).split('\n').filter(Boolean);

function sameEntries(label: string, listed: string[], input: BackupInput): string[] {
  const want = new Set(input.entries);
  const got = new Set(listed);
  const missing = input.entries.filter((entry) => !got.has(entry));
  const extra = listed.filter((entry) => !want.has(entry));
  const problems: string[] = [];
  if (missing.length) problems.push(`${label}: ${missing.length} entries missing (${missing.slice(0, 3).join(', ')})`);
  if (extra.length) problems.push(`${label}: ${extra.length} unexpected entries (${extra.slice(0, 3).join(', ')})`);
  return problems;
}

/** Ours: `rescue-kit backup verify` passes (every file's sha256 against the manifest), the data dir was copied, GNU tar lists the tree. */
function verifyOurs(archive: string, child: ChildResult, input: BackupInput): Verification {
  const problems: string[] = [];
  try {
    // The CLI talks on stderr (stdout is for data): read both.
    const result = spawnSync(process.execPath, [CLI, 'backup', 'verify', archive], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const said = `${result.stdout}${result.stderr}`;
    if (result.status !== 0) throw new Error(`rescue-kit backup verify exited ${result.status}: ${said.trim()}`);
    const files = /(\d+) files match the manifest/.exec(said);
    if (!/OK/.test(said) || !files) problems.push(`ours: backup verify did not say OK: ${said.trim().split('\n')[0]}`);
    else if (Number(files[1]) !== input.files) problems.push(`ours: backup verify checked ${files[1]} files, the tree has ${input.files}`);
  } catch (error) {
    problems.push(`ours: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
  if (child.etcdMethod !== 'data-dir') problems.push(`ours: etcd method ${child.etcdMethod}, expected data-dir`);
  if (child.inputBytes !== input.inputBytes) problems.push(`ours: archived ${child.inputBytes} bytes of files, the tree has ${input.inputBytes}`);
  problems.push(...sameEntries('ours (tar tzf)', listing(archive).filter((entry) => !entry.startsWith('rescue-kit/')), input));
  return { checked: 1, ok: problems.length ? 0 : 1, problems };
}

function verifyTar(archive: string, input: BackupInput): Verification {
  const problems = sameEntries('tar (tar tzf)', listing(archive), input);
  return { checked: 1, ok: problems.length ? 0 : 1, problems };
}

/** What a real `backup` adds when etcdctl is installed and etcd is stopped: the health probe's timeout (measured once, untimed). */
async function etcdProbeMs(root: string): Promise<string> {
  const host = createHost({ root });
  const start = performance.now();
  const client = await etcdClient(host, readManifests(host));
  if (!client) return 'no etcd client credentials (no probe)';
  const health = await etcdHealthy(host, client);
  client.dispose();
  const ms = performance.now() - start;
  if (health.exitCode === 127) return 'etcdctl not installed: no probe wait';
  return `${fmtMs(ms)} (etcdctl endpoint health, exit ${health.exitCode}${health.exitCode === 0 ? ': something answers on the endpoint!' : ''})`;
}

function contender(timings: Timing[], bytes: number, archiveBytes: number[], verification: Verification, extra: Partial<BackupContender> = {}): BackupContender {
  const runsMs = timings.map((timing) => timing.ms);
  const cpuRunsMs = timings.map((timing) => timing.cpuMs);
  const medianMs = median(runsMs);
  return { runsMs, medianMs, cpuRunsMs, medianCpuMs: median(cpuRunsMs), mbPerSecond: rate(bytes, medianMs), archiveBytes, verification, ...extra };
}

export async function scenarioBackup(work: string, reps: number, dbMb: number): Promise<BackupScenarioResult> {
  const base = join(work, 'backup');
  progress(`backup: building the tree with a ${dbMb} MB etcd db (untimed)`);
  const built = performance.now();
  const input = await buildBackupInput(join(base, 'root'), dbMb);
  const buildMs = performance.now() - built;
  const out = (name: string) => join(base, name);

  const runs = { ours: [] as Timing[], tar: [] as Timing[] };
  const sizes = { ours: [] as number[], tar: [] as number[] };
  const spawnRunsMs: number[] = [];
  const hwm: number[] = [];
  const checks = { ours: [] as Verification[], tar: [] as Verification[] };
  for (let rep = 0; rep < reps; rep++) {
    progress(`backup: rep ${rep + 1}/${reps}`);
    const oursOut = out(`ours-${rep}.tar.gz`);
    const tarOut = out(`tar-${rep}.tar.gz`);
    // Alternate who goes first, so neither always meets the other's leftovers (dirty pages, cache).
    const contenders = [
      () => {
        const child = oursBackup(input, oursOut);
        runs.ours.push(child);
        spawnRunsMs.push(child.spawnMs);
        hwm.push(child.vmHwm);
        sizes.ours.push(child.archiveBytes);
        return child;
      },
      () => {
        runs.tar.push(tarBackup(input, tarOut));
        sizes.tar.push(statSync(tarOut).size);
        return undefined;
      },
    ];
    if (rep % 2) contenders.reverse();
    const results = contenders.map((contenderRun) => contenderRun());
    const child = results.find((result) => result !== undefined)!;
    // Outside timing.
    checks.ours.push(verifyOurs(oursOut, child, input));
    checks.tar.push(verifyTar(tarOut, input));
    rmSync(oursOut, { force: true });
    rmSync(tarOut, { force: true });
  }

  progress('backup: untimed extras (etcd probe, gzip level 1 for scale)');
  const extras: Record<string, string> = {};
  extras['etcd probe a real backup adds (etcdctl installed, etcd stopped)'] = await etcdProbeMs(input.root);
  const level1 = oursBackup(input, out('ours-level1.tar.gz'), 1);
  const tarLevel1 = tarBackup(input, out('tar-level1.tar.gz'), 1);
  extras['level 1, one run each (not the comparison)'] =
    `ours ${rate(input.inputBytes, level1.ms).toFixed(1)} MB/s (${fmtMb(level1.archiveBytes)}), tar+gzip -1 ${rate(input.inputBytes, tarLevel1.ms).toFixed(1)} MB/s (${fmtMb(statSync(out('tar-level1.tar.gz')).size)})`;
  rmSync(out('ours-level1.tar.gz'), { force: true });
  rmSync(out('tar-level1.tar.gz'), { force: true });
  extras['input built in (untimed)'] = fmtMs(buildMs);

  const merge = (list: Verification[]): Verification => ({ checked: list.length, ok: list.filter((v) => !v.problems.length).length, problems: list.flatMap((v) => v.problems) });
  const ours = contender(runs.ours, input.inputBytes, sizes.ours, merge(checks.ours), { spawnRunsMs, vmHwmBytes: hwm });
  const tar = contender(runs.tar, input.inputBytes, sizes.tar, merge(checks.tar));
  const throughputRatio = ours.mbPerSecond / tar.mbPerSecond;
  const peak = Math.max(...hwm);
  return {
    id: 'backup',
    title: `Scenario 4: backup throughput, kubeadm tree + ${dbMb} MB etcd db (${input.files} files, ${fmtMb(input.inputBytes)}), tar.gz at gzip level 6`,
    inputBytes: input.inputBytes,
    files: input.files,
    contenders: { ours, tar },
    throughputRatio,
    targets: [
      { name: 'ours/tar throughput >= 0.9x', value: fmtRatio(throughputRatio), pass: throughputRatio >= 0.9 },
      { name: 'peak RSS (VmHWM, worst run) < 150 MB', value: fmtMb(peak), pass: peak < 150 * MB },
    ],
    extras,
    notes: [
      `ours: child \`node build/scripts/benchmark/backup-child.js\`: createBackup(host, {etcd: 'auto'}) with etcd stopped -> copies ${DB_PATH.split('/').slice(0, 3).join('/')} (method data-dir); timed: the createBackup call (walk, read, sha256, tar, gzip -6 on the libuv pool, fsync, rename); VmHWM is the whole child`,
      `tar: \`tar czf F -C ROOT ${BACKUP_DIRS.join(' ')}\` (GNU tar pipes to gzip -6, a second process: tar and gzip use both CPUs); no fsync, no hashes, no manifest`,
      'db content: 4 KiB pages, 50% AES-CTR keystream (incompressible), 50% etcd-like /registry key + JSON text (compressible); seeded, same bytes every run',
      'verified (untimed): ours passes `rescue-kit backup verify` (sha256 of every file vs the manifest) and GNU tar lists exactly the tree; tar\'s archive lists exactly the tree',
    ],
  };
}
