// Verification: does a key belong to a certificate, does a chain lead to a
// trusted root, and how long is a certificate still good for (at `now`).
import { KeyObject } from 'node:crypto';
import { Certificate } from './certificate.js';
import { keysMatch } from './keys.js';

export function keyMatchesCertificate(key: KeyObject, certificate: Certificate): boolean {
  return keysMatch(key, certificate.publicKey);
}

export type ValidityState = 'valid' | 'expired' | 'not-yet-valid';

export function validityAt(certificate: Certificate, now: Date): ValidityState {
  if (now < certificate.notBefore) return 'not-yet-valid';
  if (now > certificate.notAfter) return 'expired';
  return 'valid';
}

export function millisecondsLeft(certificate: Certificate, now: Date): number {
  return certificate.notAfter.getTime() - now.getTime();
}

export interface ChainResult {
  ok: boolean;
  /** Leaf first, root last (as far as it could be built). */
  chain: Certificate[];
  problems: string[];
}

export interface ChainOptions {
  roots: Certificate[];
  intermediates?: Certificate[];
  now: Date;
  /** Check validity dates of every link (default true). */
  checkTime?: boolean;
}

/** Was `child` signed by `parent`? Names must match byte for byte and the signature must verify. */
export function isIssuedBy(child: Certificate, parent: Certificate): boolean {
  if (!child.issuerDer.equals(parent.subjectDer)) return false;
  try {
    return child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function verifyChain(leaf: Certificate, options: ChainOptions): ChainResult {
  const { roots, intermediates = [], now } = options;
  const checkTime = options.checkTime ?? true;
  const chain: Certificate[] = [leaf];
  const problems: string[] = [];
  const isRoot = (certificate: Certificate) => roots.some((root) => root.der.equals(certificate.der));
  let current = leaf;
  for (let depth = 0; depth < 10 && !isRoot(current); depth++) {
    const parent = [...roots, ...intermediates].find((candidate) => !candidate.der.equals(current.der) && isIssuedBy(current, candidate));
    if (!parent) {
      const sameName = [...roots, ...intermediates].some((candidate) => candidate.subjectDer.equals(current.issuerDer));
      problems.push(
        sameName
          ? `"${current.subjectText}" names issuer "${current.issuerText}" but its signature does not verify with that CA's key (signed by another CA with the same name?)`
          : `no trusted CA named "${current.issuerText}" signed "${current.subjectText}"`,
      );
      break;
    }
    if (!parent.isCA) problems.push(`"${parent.subjectText}" signed "${current.subjectText}" but is not a CA`);
    chain.push(parent);
    current = parent;
  }
  if (checkTime) {
    for (const link of chain) {
      const state = validityAt(link, now);
      if (state === 'expired') problems.push(`"${link.subjectText}" expired on ${link.notAfter.toISOString()}`);
      if (state === 'not-yet-valid') problems.push(`"${link.subjectText}" is not valid until ${link.notBefore.toISOString()}`);
    }
  }
  return { ok: problems.length === 0 && isRoot(chain[chain.length - 1]!), chain, problems };
}

/** A stable, JSON-safe summary (no key material) for `inspect --json` and reports. */
export function describeCertificate(certificate: Certificate, now: Date) {
  return {
    subject: certificate.subjectText,
    issuer: certificate.issuerText,
    serial: certificate.serialHex,
    serialDecimal: certificate.serialDecimal,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    secondsLeft: Math.floor(millisecondsLeft(certificate, now) / 1000),
    validity: validityAt(certificate, now),
    isCA: certificate.isCA,
    key: certificate.key.label,
    dnsNames: certificate.sans.dns,
    ipAddresses: certificate.sans.ips,
    emailAddresses: certificate.sans.emails,
    uris: certificate.sans.uris,
    keyUsage: certificate.keyUsage,
    extKeyUsage: certificate.extKeyUsage,
    subjectKeyId: certificate.subjectKeyId?.toString('hex'),
    authorityKeyId: certificate.authorityKeyId?.toString('hex'),
    fingerprintSha256: certificate.fingerprint256,
  };
}
export type CertificateSummary = ReturnType<typeof describeCertificate>;
