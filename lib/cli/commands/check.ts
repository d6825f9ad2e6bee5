// `rescue-kit check`: what has expired (or is broken) on this host, as a table
// like kubeadm's, stable JSON, or a node_exporter textfile.
import { dirname } from 'node:path';
import { createHost } from '../../host/host.js';
import { writeFilesAtomically } from '../../host/fs.js';
import { parseDuration, formatResidual } from '../../pki/validity.js';
import { checkExitCode, checkInventory, CheckEntry, CheckReport, Status } from '../../ops/check.js';
import { discover } from '../../ops/discover.js';
import { prometheusText } from '../../ops/prometheus.js';
import { green, printJson, red, say, table, yellow } from '../output.js';
import { mkdirSync } from 'node:fs';

export interface CheckOptions {
  root: string;
  path?: string;
  warn: string;
  json?: boolean;
  prometheus?: string;
}

export function runCheck(options: Pick<CheckOptions, 'root' | 'path' | 'warn'>, now = new Date()): CheckReport {
  const host = createHost({ root: options.root, now: () => now });
  return checkInventory(discover(host, { path: options.path }), { now, warnMs: parseDuration(options.warn, '--warn') });
}

export async function check(options: CheckOptions): Promise<void> {
  const report = runCheck(options);
  if (options.prometheus) {
    mkdirSync(dirname(options.prometheus), { recursive: true });
    writeFilesAtomically([{ path: options.prometheus, data: prometheusText(report), mode: 0o644 }], { overwrite: true });
  }
  if (options.json) printJson(report);
  else process.stdout.write(renderReport(report));
  process.exitCode = checkExitCode(report);
}

/** kubeadm's date format: "May 16, 2025 07:16 UTC". */
function kubeadmDate(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const time = date.toISOString().slice(11, 16);
  return `${month} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${time} UTC`;
}

function colourStatus(status: Status): string {
  if (status === 'OK') return green(status, process.stdout);
  if (status === 'WARN') return yellow(status, process.stdout);
  return red(status, process.stdout);
}

function residual(entry: CheckEntry): string {
  if (entry.status === 'MISSING') return '!MISSING!';
  return entry.secondsLeft === null ? '' : formatResidual(entry.secondsLeft * 1000);
}

export function renderReport(report: CheckReport): string {
  const yesNo = (value: boolean) => (value ? 'yes' : 'no');
  const certificates = table(
    ['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'EXTERNALLY MANAGED', 'STATUS'],
    report.certificates.map((entry) => [entry.name, kubeadmDate(entry.notAfter), residual(entry), entry.certificateAuthority ?? '', yesNo(entry.externallyManaged), entry.status]),
  );
  const authorities = table(
    ['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'EXTERNALLY MANAGED', 'STATUS'],
    report.authorities.map((entry) => [entry.name, kubeadmDate(entry.notAfter), residual(entry), yesNo(entry.externallyManaged), entry.status]),
  );
  // Colour after padding so escape codes do not break the columns.
  const paint = (text: string) => text.replace(/(OK|WARN|EXPIRED|NOT-YET-VALID|MISSING|UNREADABLE|KEY-MISMATCH|CHAIN-BROKEN)$/gm, (status) => colourStatus(status as Status));
  const problems = [...report.certificates, ...report.authorities]
    .filter((entry) => entry.problems.length)
    .map((entry) => `  ${entry.name}: ${entry.problems.join('; ')}`);
  const lines = [paint(certificates), '', paint(authorities), ''];
  if (problems.length) lines.push('Problems:', ...problems, '');
  return `${lines.join('\n')}\n`;
}

export function sayNextStep(report: CheckReport): void {
  if (checkExitCode(report) !== 0) say('next: rescue-kit backup, then rescue-kit renew --all --dry-run');
}
