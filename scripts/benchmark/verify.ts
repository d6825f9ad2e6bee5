// Checking every contender's output, never timed: openssl verify against the
// CA, the key matches (and was reused or replaced as asked), subject, SANs,
// EKU and validity as expected.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseCertificate, parsePrivateKey, spkiDer, type Certificate } from '../../lib/index.js';
import { DAY, LEAF_DAYS } from './constants.js';

export interface Expected {
  crt: string;
  /** The private key file that must match the certificate. */
  key: string;
  caCrt: string;
  commonName: string;
  organizations: string[];
  hosts: string[];
  extKeyUsage: string[];
  /** Reused keys: the SPKI the new cert must carry. New keys: the SPKI it must not carry. */
  spki?: { equals?: Buffer; differsFrom?: Buffer };
}

export interface Verification {
  checked: number;
  ok: number;
  problems: string[];
}

export function hostsOf(certificate: Certificate): string[] {
  return [...certificate.sans.dns, ...certificate.sans.ips];
}

export const attr = (certificate: Certificate, type: string) => certificate.subject.filter((a) => a.type === type).map((a) => a.value);

export function verifyOutputs(label: string, expected: Expected[]): Verification {
  const problems: string[] = [];
  const now = Date.now();
  // openssl verify, one call per CA.
  const byCa = new Map<string, string[]>();
  for (const item of expected) byCa.set(item.caCrt, [...(byCa.get(item.caCrt) ?? []), item.crt]);
  const verified = new Set<string>();
  for (const [caCrt, crts] of byCa) {
    const result = spawnSync('openssl', ['verify', '-CAfile', caCrt, ...crts], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const line of result.stdout.split('\n')) {
      const match = /^(.*): OK$/.exec(line);
      if (match) verified.add(match[1]!);
    }
  }
  const sorted = (values: string[]) => [...values].sort().join(',');
  for (const item of expected) {
    const fail = (why: string) => problems.push(`${label} ${item.crt.split('/').slice(-1)[0]}: ${why}`);
    if (!verified.has(item.crt)) fail('openssl verify did not say OK');
    let certificate: Certificate;
    try {
      certificate = parseCertificate(readFileSync(item.crt, 'utf8'));
    } catch (error) {
      fail(`unreadable (${(error as Error).message})`);
      continue;
    }
    const keySpki = spkiDer(parsePrivateKey(readFileSync(item.key, 'utf8')));
    if (!certificate.spkiDer.equals(keySpki)) fail('certificate does not match its key');
    if (item.spki?.equals && !certificate.spkiDer.equals(item.spki.equals)) fail('key was not reused');
    if (item.spki?.differsFrom && certificate.spkiDer.equals(item.spki.differsFrom)) fail('key was not replaced');
    if (certificate.commonName !== item.commonName) fail(`CN ${certificate.commonName} != ${item.commonName}`);
    if (sorted(attr(certificate, 'O')) !== sorted(item.organizations)) fail(`O [${attr(certificate, 'O')}] != [${item.organizations}]`);
    if (sorted(hostsOf(certificate)) !== sorted(item.hosts)) fail(`SANs [${hostsOf(certificate)}] != [${item.hosts}]`);
    if (sorted(certificate.extKeyUsage) !== sorted(item.extKeyUsage)) fail(`EKU [${certificate.extKeyUsage}] != [${item.extKeyUsage}]`);
    if (certificate.isCA) fail('is a CA');
    if (certificate.notAfter.getTime() < now + (LEAF_DAYS - 2) * DAY) fail(`expires too soon (${certificate.notAfter.toISOString()})`);
    if (certificate.notBefore.getTime() > now) fail('not yet valid');
  }
  const bad = new Set(problems.map((problem) => problem.split(':')[0]));
  return { checked: expected.length, ok: expected.length - bad.size, problems };
}
