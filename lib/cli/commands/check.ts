// `rescue-kit check`: what has expired (or is broken) on this host, as a table
// like kubeadm's, stable JSON, or a node_exporter textfile.
import { dirname } from 'node:path';
import { createHost } from '../../host/host.js';
import { writeFilesAtomically } from '../../host/fs.js';
import { parseDuration } from '../../pki/validity.js';
import { checkExitCode, checkInventory, CheckReport } from '../../ops/inventory/check.js';
import { renderReport } from '../../render/check.js';
import { renderTimeline } from '../../render/timeline.js';
export { renderReport };
import { discover } from '../../ops/inventory/discover.js';
import { prometheusText } from '../../ops/inventory/prometheus.js';
import { caRotationState } from '../../ops/inventory/ca-rotation.js';
import { rotationLines } from '../../ops/ca/rotation-state.js';
import { nextStep } from '../../ops/inventory/next-step.js';
import { printJson, say } from '../output.js';
import { mkdirSync } from 'node:fs';

export interface CheckOptions {
  root: string;
  path?: string;
  warn: string;
  json?: boolean;
  prometheus?: string;
  timeline?: boolean;
}

export function runCheck(options: Pick<CheckOptions, 'root' | 'path' | 'warn'>, now = new Date()): CheckReport {
  const host = createHost({ root: options.root, now: () => now });
  return checkInventory(discover(host, { path: options.path }), { now, warnMs: parseDuration(options.warn, '--warn') });
}

export async function check(options: CheckOptions): Promise<void> {
  const report = runCheck(options);
  // A folder of PEMs (--path) has no kubeadm CA rotation to report on.
  const caRotation = options.path ? undefined : caRotationState(createHost({ root: options.root }));
  if (options.prometheus) {
    mkdirSync(dirname(options.prometheus), { recursive: true });
    writeFilesAtomically([{ path: options.prometheus, data: prometheusText(report, { caRotation }), mode: 0o644 }], { overwrite: true });
  }
  if (options.json) printJson(caRotation ? { ...report, caRotation } : report);
  else {
    process.stdout.write(options.timeline ? renderTimeline(report) : renderReport(report));
    // A rotation half done keeps the old CA trusted: said on every check until it is finished.
    for (const line of caRotation ? rotationLines(caRotation) : []) process.stdout.write(`${line}\n`);
    sayNextStep(report, options.path);
  }
  process.exitCode = checkExitCode(report);
}

export function sayNextStep(report: CheckReport, path?: string): void {
  const next = nextStep(report, { path });
  if (next) say(next.command ? `next: ${next.command}\n  (${next.why})` : `next: ${next.why}`);
}
