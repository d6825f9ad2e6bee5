// The `check` report as kubeadm-style tables (certificates, then CAs, then problems).
import type { CheckEntry, CheckReport, Status } from '../ops/inventory/check.js';
import { formatResidual } from '../pki/validity.js';
import { green, red, table, yellow } from './text.js';

/** kubeadm's date format: "May 16, 2025 07:16 UTC". */
function kubeadmDate(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const time = date.toISOString().slice(11, 16);
  return `${month} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${time} UTC`;
}

function colourStatus(status: Status, stream: NodeJS.WriteStream): string {
  if (status === 'OK') return green(status, stream);
  if (status === 'WARN') return yellow(status, stream);
  return red(status, stream);
}

function residual(entry: CheckEntry): string {
  if (entry.status === 'MISSING') return '!MISSING!';
  return entry.secondsLeft === null ? '' : formatResidual(entry.secondsLeft * 1000);
}

/** `stream` is where the text goes (colour only when it is a TTY). */
export function renderReport(report: CheckReport, stream: NodeJS.WriteStream = process.stdout): string {
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
  const paint = (text: string) => text.replace(/(OK|WARN|EXPIRED|NOT-YET-VALID|MISSING|UNREADABLE|KEY-MISMATCH|CHAIN-BROKEN)$/gm, (status) => colourStatus(status as Status, stream));
  const problems = [...report.certificates, ...report.authorities]
    .filter((entry) => entry.problems.length)
    .map((entry) => `  ${entry.name}: ${entry.problems.join('; ')}`)
    .concat(report.keyFiles.filter((file) => file.unsafe).map((file) => `  ${file.path}: ${file.problem}; fix: ${file.fix}`));
  const lines = [paint(certificates), '', paint(authorities), ''];
  if (problems.length) lines.push('Problems:', ...problems, '');
  return `${lines.join('\n')}\n`;
}

