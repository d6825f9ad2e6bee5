// `rescue-kit inspect`: what a certificate says, whether a key matches it, and
// whether it chains to a CA — the questions `openssl x509 -text` makes you grep for.
import { ExitCode, withFile } from '../../errors.js';
import { parseCertificates, Certificate } from '../../pki/certificate.js';
import { describeCertificate, keyMatchesCertificate, verifyChain } from '../../pki/verify.js';
import { formatResidual } from '../../pki/validity.js';
import { readText } from '../../host/fs.js';
import { bold, green, printJson, red } from '../output.js';
import { loadExistingKey } from './common.js';

export interface InspectOptions {
  key?: string;
  ca?: string;
  json?: boolean;
}

export async function inspect(files: string[], options: InspectOptions): Promise<void> {
  const now = new Date();
  const roots = options.ca ? withFile(options.ca, () => parseCertificates(readText(options.ca!, 'CA bundle'))) : undefined;
  const key = options.key ? loadExistingKey(options.key) : undefined;
  const reports = files.flatMap((file) => {
    const certificates = withFile(file, () => parseCertificates(readText(file, 'certificate')));
    return certificates.map((certificate, index) => report(file, index, certificate, certificates, now, roots, index === 0 ? key : undefined));
  });
  if (reports.some((entry) => entry.keyMatches === false || entry.chain?.ok === false)) process.exitCode = ExitCode.invalidInput;
  if (options.json) return printJson(reports);
  process.stdout.write(reports.map(render).join('\n'));
}

function report(file: string, index: number, certificate: Certificate, bundle: Certificate[], now: Date, roots?: Certificate[], key?: ReturnType<typeof loadExistingKey>) {
  const chain = roots ? verifyChain(certificate, { roots, intermediates: bundle.slice(index + 1), now }) : undefined;
  return {
    file,
    index,
    ...describeCertificate(certificate, now),
    ...(key ? { keyMatches: keyMatchesCertificate(key, certificate) } : {}),
    ...(chain ? { chain: { ok: chain.ok, path: chain.chain.map((link) => link.subjectText), problems: chain.problems } } : {}),
  };
}

function render(entry: ReturnType<typeof report>): string {
  const status = entry.validity === 'valid' ? green(`valid, ${formatResidual(entry.secondsLeft * 1000)} left`, process.stdout) : red(entry.validity.toUpperCase(), process.stdout);
  const lines = [
    bold(`${entry.file}${entry.index ? ` [${entry.index}]` : ''}`, process.stdout),
    `  subject:       ${entry.subject}`,
    `  issuer:        ${entry.issuer}`,
    `  validity:      ${entry.notBefore} .. ${entry.notAfter} (${status})`,
    `  serial:        ${entry.serial}`,
    `  key:           ${entry.key}${entry.isCA ? ', CA' : ''}`,
    `  SANs:          ${[...entry.dnsNames, ...entry.ipAddresses, ...entry.emailAddresses, ...entry.uris].join(', ') || '-'}`,
    `  key usage:     ${entry.keyUsage.join(', ') || '-'}`,
    `  ext key usage: ${entry.extKeyUsage.join(', ') || '-'}`,
  ];
  if (entry.keyMatches !== undefined) lines.push(`  private key:   ${entry.keyMatches ? green('matches', process.stdout) : red('DOES NOT MATCH', process.stdout)}`);
  if (entry.chain) {
    lines.push(`  chain:         ${entry.chain.ok ? green('OK', process.stdout) : red('BROKEN', process.stdout)} (${entry.chain.path.join(' <- ')})`);
    for (const problem of entry.chain.problems) lines.push(`                 ${problem}`);
  }
  return `${lines.join('\n')}\n`;
}
