// The printed report: one block per scenario, then the summary table.
import { fmtMb, fmtMs, fmtRatio, lpad, pad } from './format.js';
import { failed, median, type AnyScenarioResult, type BackupContender, type BackupScenarioResult, type CertScenarioId, type ContenderResult, type ScenarioResult } from './results.js';
import type { Verification } from './verify.js';

const verifiedText = (v: Verification) => (v.problems.length ? `FAILED ${v.ok}/${v.checked}` : `ok ${v.checked}/${v.checked}`);

function printTargets(targets: { name: string; value: string; pass: boolean }[]): void {
  for (const target of targets) console.log(`  target ${pad(target.name, 38)} ${lpad(target.value, 9)}  ${target.pass ? 'PASS' : 'MISS'}`);
}

export function printScenario(result: ScenarioResult): void {
  const { ours, openssl, cfssl, oursInProcess, oursBundle } = result.contenders;
  console.log(result.title);
  console.log(
    `  ${pad('contender', 9)} ${lpad('certs', 5)} ${lpad('median', 9)} ${lpad('per cert', 9)} ${lpad('certs/s', 8)} ${lpad('cpu', 9)}  ${pad('runs (wall)', 28)} ${lpad('ours/x', 7)}  verified`,
  );
  const row = (name: string, contender: ContenderResult, ratio?: number) => {
    const runs = contender.runsMs.map(fmtMs).join(', ');
    let line = `  ${pad(name, 9)} ${lpad(String(contender.certs), 5)} ${lpad(fmtMs(contender.medianMs), 9)} ${lpad(fmtMs(contender.perCertMs), 9)} ${lpad((1000 / contender.perCertMs).toFixed(0), 8)} ${lpad(fmtMs(contender.medianCpuMs), 9)}  ${pad(runs, 28)} ${lpad(ratio === undefined ? '' : fmtRatio(ratio), 7)}  ${verifiedText(contender.verification)}`;
    if (contender.vmHwmBytes) line += `; VmHWM ${contender.vmHwmBytes.map(fmtMb).join(', ')}`;
    console.log(line);
  };
  row(oursInProcess ? 'ours cli' : 'ours', ours);
  if (oursInProcess) row('ours lib', oursInProcess);
  if (oursBundle) row('ours bndl', oursBundle);
  row('openssl', openssl, result.ratios.oursOverOpenssl);
  row('cfssl', cfssl, result.ratios.oursOverCfssl);
  if (result.id === 'ecdsa1000') {
    console.log(`  extrapolated to ${ours.certs}: openssl ${fmtMs(openssl.perCertMs * ours.certs)}, cfssl ${fmtMs(cfssl.perCertMs * ours.certs)}; ours measured ${fmtMs(ours.medianMs)}`);
  }
  const cpuRatio = (mine: ContenderResult, other: ContenderResult) => fmtRatio(mine.medianCpuMs / mine.certs / (other.medianCpuMs / other.certs));
  console.log(`  ratio by ${result.ratios.basis}: ours/openssl ${fmtRatio(result.ratios.oursOverOpenssl)}, ours/cfssl ${fmtRatio(result.ratios.oursOverCfssl)} (lower is better)`);
  if (result.ratios.inProcess) {
    console.log(`  in-process (no node start): ours/openssl ${fmtRatio(result.ratios.inProcess.oursOverOpenssl)}, ours/cfssl ${fmtRatio(result.ratios.inProcess.oursOverCfssl)} (lower is better)`);
  }
  if (result.ratios.bundle) {
    console.log(`  offline bundle (Node 22 LTS, one-file CLI, via rescue-kit.sh): ours/openssl ${fmtRatio(result.ratios.bundle.oursOverOpenssl)}, ours/cfssl ${fmtRatio(result.ratios.bundle.oursOverCfssl)} (lower is better)`);
  }
  console.log(`  same by CPU time (user+sys; ignores fsync waits and machine load): ours/openssl ${cpuRatio(ours, openssl)}, ours/cfssl ${cpuRatio(ours, cfssl)}`);
  printTargets(result.targets);
  for (const [name, contender] of [['ours', ours], ['ours lib', oursInProcess]] as const) {
    if (contender?.phases) console.log(`  ${name} phases (median ms): ${Object.entries(contender.phases).map(([phase, ms]) => `${phase} ${ms.toFixed(1)}`).join(', ')}`);
  }
  for (const note of result.notes) console.log(`  - ${note}`);
  for (const contender of [ours, oursInProcess, oursBundle, openssl, cfssl]) for (const problem of contender?.verification.problems.slice(0, 10) ?? []) console.log(`  ! ${problem}`);
  console.log('');
}

export function printBackupScenario(result: BackupScenarioResult): void {
  const { ours, tar } = result.contenders;
  console.log(result.title);
  console.log(`  ${pad('contender', 9)} ${lpad('median', 9)} ${lpad('MB/s', 8)} ${lpad('cpu', 9)}  ${pad('runs (wall)', 28)} ${lpad('archive', 10)} ${lpad('ours/x', 7)}  verified`);
  const row = (name: string, contender: BackupContender, ratio?: number) => {
    const runs = contender.runsMs.map(fmtMs).join(', ');
    let line = `  ${pad(name, 9)} ${lpad(fmtMs(contender.medianMs), 9)} ${lpad(contender.mbPerSecond.toFixed(1), 8)} ${lpad(fmtMs(contender.medianCpuMs), 9)}  ${pad(runs, 28)} ${lpad(fmtMb(Math.max(...contender.archiveBytes)), 10)} ${lpad(ratio === undefined ? '' : fmtRatio(ratio), 7)}  ${verifiedText(contender.verification)}`;
    if (contender.vmHwmBytes) line += `; VmHWM ${contender.vmHwmBytes.map(fmtMb).join(', ')}`;
    console.log(line);
  };
  row('ours', ours);
  row('tar czf', tar, result.throughputRatio);
  console.log(`  throughput ratio ours/tar ${fmtRatio(result.throughputRatio)} (MB/s over MB/s: HIGHER is better here); archive ${fmtRatio(median(ours.archiveBytes) / median(tar.archiveBytes))} the size of tar's`);
  if (ours.spawnRunsMs) console.log(`  ours as a whole process (node start + import + backup): ${ours.spawnRunsMs.map(fmtMs).join(', ')}`);
  printTargets(result.targets);
  for (const [name, value] of Object.entries(result.extras)) console.log(`  ${name}: ${value}`);
  for (const note of result.notes) console.log(`  - ${note}`);
  for (const contender of [ours, tar]) for (const problem of contender.verification.problems.slice(0, 10)) console.log(`  ! ${problem}`);
  console.log('');
}

export function printResult(result: AnyScenarioResult): void {
  if (result.id === 'backup') printBackupScenario(result);
  else printScenario(result);
}

const SUMMARY_LABELS: Record<CertScenarioId, string> = {
  reuse: '1 kubeadm set, reused keys (10)',
  newkeys: '2 kubeadm set, new RSA-2048 (10)',
  ecdsa1000: '3 ECDSA kubelet certs, per cert',
  renewal: '5 whole renewal, CLI (11)',
};

export function printSummary(results: AnyScenarioResult[], totalMs: number, startupMs: number): void {
  console.log('Summary (median wall time; ratio = ours / other, lower is better; scenario 4: throughput, higher is better)');
  console.log(`  ${pad('scenario', 33)} ${lpad('ours', 9)} ${lpad('openssl', 9)} ${lpad('cfssl', 9)} ${lpad('/openssl', 9)} ${lpad('/cfssl', 8)}  targets`);
  const targetsText = (targets: { name: string; value: string; pass: boolean }[]) => targets.map((target) => `${target.name} ${target.value} ${target.pass ? 'PASS' : 'MISS'}`).join('; ') || '(none)';
  for (const result of results) {
    if (result.id === 'backup') {
      const { ours, tar } = result.contenders;
      console.log(
        `  ${pad(`4 backup ${fmtMb(result.inputBytes)}, throughput`, 33)} ${lpad(`${ours.mbPerSecond.toFixed(1)} MB/s`, 11)}  vs tar czf ${tar.mbPerSecond.toFixed(1)} MB/s, ours/tar ${fmtRatio(result.throughputRatio)} (higher is better)  ${targetsText(result.targets)}`,
      );
      continue;
    }
    const { ours, openssl, cfssl, oursInProcess, oursBundle } = result.contenders;
    const show = (c: ContenderResult) => fmtMs(result.id === 'ecdsa1000' ? c.perCertMs : c.medianMs);
    const line = (label: string, mine: ContenderResult, overOpenssl: number, overCfssl: number, targets: string) =>
      console.log(`  ${pad(label, 33)} ${lpad(show(mine), 9)} ${lpad(show(openssl), 9)} ${lpad(show(cfssl), 9)} ${lpad(fmtRatio(overOpenssl), 9)} ${lpad(fmtRatio(overCfssl), 8)}  ${targets}`);
    const own = result.targets.filter((target) => !target.name.startsWith('in-process') && !target.name.startsWith('bundle'));
    line(SUMMARY_LABELS[result.id], ours, result.ratios.oursOverOpenssl, result.ratios.oursOverCfssl, targetsText(own));
    if (oursInProcess && result.ratios.inProcess) {
      const inProcess = result.targets.filter((target) => target.name.startsWith('in-process'));
      line('5 whole renewal, in-process (11)', oursInProcess, result.ratios.inProcess.oursOverOpenssl, result.ratios.inProcess.oursOverCfssl, targetsText(inProcess));
    }
    if (oursBundle && result.ratios.bundle) {
      const shipped = result.targets.filter((target) => target.name.startsWith('bundle'));
      line('5 whole renewal, offline bundle', oursBundle, result.ratios.bundle.oursOverOpenssl, result.ratios.bundle.oursOverCfssl, targetsText(shipped));
    }
  }
  const anyFailed = results.some(failed);
  console.log(`  all outputs verified (openssl verify + subject/SAN/EKU/key checks; backups: backup verify + tar listing): ${anyFailed ? 'NO, see the ! lines' : 'yes'}`);
  console.log(`  for scale: node start + import of rescue-kit = ${fmtMs(startupMs)} (not in "ours" of scenarios 1-2, which run in-process; in "ours cli" of scenario 5)`);
  console.log(`  whole run: ${(totalMs / 1000).toFixed(1)} s (setup, every repetition, verification)`);
}
