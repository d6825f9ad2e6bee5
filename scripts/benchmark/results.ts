// What a scenario returns: per contender the runs, their median, CPU time and
// verification; per scenario the ratios and targets. Also the statistics.
import type { Timing } from './measure.js';
import type { Verification } from './verify.js';

export interface Phases {
  [phase: string]: number;
}

export interface ContenderResult {
  runsMs: number[];
  medianMs: number;
  /** CPU time (user + system) of each run and its median: robust against a busy machine, blind to fsync waits. */
  cpuRunsMs: number[];
  medianCpuMs: number;
  certs: number;
  perCertMs: number;
  verification: Verification;
  phases?: Phases;
  vmHwmBytes?: number[];
}

export type CertScenarioId = 'reuse' | 'newkeys' | 'ecdsa1000' | 'renewal';

/** Scenarios 1, 2, 3 and 5: certificates, ours against openssl and cfssl (lower time is better). */
export interface ScenarioResult {
  id: CertScenarioId;
  title: string;
  contenders: Record<'ours' | 'openssl' | 'cfssl', ContenderResult> & { oursInProcess?: ContenderResult; oursBundle?: ContenderResult };
  ratios: { oursOverOpenssl: number; oursOverCfssl: number; basis: string; inProcess?: { oursOverOpenssl: number; oursOverCfssl: number }; bundle?: { oursOverOpenssl: number; oursOverCfssl: number } };
  targets: { name: string; value: string; pass: boolean }[];
  notes: string[];
}

/** Scenario 4: archive throughput, ours against tar czf (higher is better). */
export interface BackupContender {
  runsMs: number[];
  medianMs: number;
  cpuRunsMs: number[];
  medianCpuMs: number;
  /** Input bytes (the files archived) over the median time, MiB/s. */
  mbPerSecond: number;
  archiveBytes: number[];
  verification: Verification;
  /** ours only: the child's whole life (node start + import + backup) and its peak RSS. */
  spawnRunsMs?: number[];
  vmHwmBytes?: number[];
}

export interface BackupScenarioResult {
  id: 'backup';
  title: string;
  inputBytes: number;
  files: number;
  contenders: { ours: BackupContender; tar: BackupContender };
  /** ours/tar throughput: higher is better. */
  throughputRatio: number;
  targets: { name: string; value: string; pass: boolean }[];
  /** Single untimed measurements worth knowing (etcd probe, gzip -1 for scale). */
  extras: Record<string, string>;
  notes: string[];
}

export type AnyScenarioResult = ScenarioResult | BackupScenarioResult;

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export function summarise(timings: Timing[], certs: number, verification: Verification, extra: Partial<ContenderResult> = {}): ContenderResult {
  const runsMs = timings.map((timing) => timing.ms);
  const cpuRunsMs = timings.map((timing) => timing.cpuMs);
  const medianMs = median(runsMs);
  return { runsMs, medianMs, cpuRunsMs, medianCpuMs: median(cpuRunsMs), certs, perCertMs: medianMs / certs, verification, ...extra };
}

export function medianPhases(all: Phases[]): Phases {
  const result: Phases = {};
  for (const name of Object.keys(all[0] ?? {})) result[name] = median(all.map((phases) => phases[name] ?? 0));
  return result;
}

export function mergeVerification(list: Verification[]): Verification {
  return { checked: list.reduce((n, v) => n + v.checked, 0), ok: list.reduce((n, v) => n + v.ok, 0), problems: list.flatMap((v) => v.problems) };
}

export const failed = (result: AnyScenarioResult) => Object.values(result.contenders).some((contender) => contender && contender.verification.problems.length > 0);
