// cfssl's gencert workflow as pure functions: CSR JSON + profile + CA -> PEMs.
// (`gencert -initca`, `gencert -profile`, `sign` for an existing CSR.)
import { KeyObject } from 'node:crypto';
import { Certificate } from '../pki/certificate.js';
import { createCsr, CertificateRequest } from '../pki/csr.js';
import { exportPrivateKeyPem, generateKey } from '../pki/keys.js';
import { CertificateTemplate, issueCertificate, Signer } from '../pki/sign.js';
import { classifyHosts, SubjectAltNames } from '../pki/san.js';
import { parseUsages } from '../pki/extensions.js';
import { SigningProfile } from './ca-config.js';
import { CsrRequest } from './csr-json.js';

/** kubeadm's CA lifetime (cfssl's -initca default is 5 years; kubeadm's 10 is what clusters expect). */
export const DEFAULT_CA_DURATION_MS = 10 * 365 * 86_400_000;
/** kubeadm's CA key usages. */
export const CA_USAGES = ['digital signature', 'key encipherment', 'cert sign'];

export interface GeneratedCertificate {
  certificate: Certificate;
  /** PEM of the private key; callers write it 0600 and never log it. */
  keyPem: string;
  key: KeyObject;
  csr: CertificateRequest;
  warnings: string[];
}

export interface GenerateOptions {
  now: Date;
  /** Reuse this key instead of generating one (renewals keep keys by default). */
  key?: KeyObject;
  /** cfssl -hostname: replaces the CSR's hosts. */
  hosts?: string[];
  /** A leaf that would outlive its CA: cap with a warning (default) or refuse. */
  beyondIssuer?: 'cap' | 'refuse';
}

/** Like `cfssl gencert -initca csr.json`: a self-signed CA. */
export async function initCa(request: CsrRequest, options: GenerateOptions): Promise<GeneratedCertificate> {
  const key = options.key ?? (await generateKey(request.key));
  let sans = options.hosts ? classifyHosts(options.hosts) : request.sans;
  // Like kubeadm, a CA carries a DNS SAN of its CN (when the CN is a DNS-safe name).
  if (sansEmpty(sans) && request.subject.CN) {
    try {
      sans = classifyHosts([request.subject.CN]);
      if (sans.dns.length === 0) sans = request.sans;
    } catch {
      sans = request.sans;
    }
  }
  const template: CertificateTemplate = {
    subject: request.subject,
    sans,
    usages: parseUsages(CA_USAGES),
    isCA: true,
    maxPathLen: request.ca?.maxPathLen,
    durationMs: request.ca?.durationMs ?? DEFAULT_CA_DURATION_MS,
  };
  const issued = issueCertificate({ template, subjectKey: key, now: options.now });
  const csr = createCsr(request.subject, sans, key);
  return { certificate: issued.certificate, key, keyPem: exportPrivateKeyPem(key), csr, warnings: issued.warnings };
}

/** Like `cfssl gencert -ca -ca-key -config -profile csr.json`: key + CSR + signed certificate. */
export async function generateCertificate(
  request: CsrRequest,
  profile: SigningProfile,
  issuer: Signer,
  options: GenerateOptions,
): Promise<GeneratedCertificate> {
  const key = options.key ?? (await generateKey(request.key));
  const sans = options.hosts ? classifyHosts(options.hosts) : request.sans;
  const csr = createCsr(request.subject, sans, key);
  const { certificate, warnings } = signRequest(csr, profile, issuer, { now: options.now, beyondIssuer: options.beyondIssuer });
  return { certificate, key, keyPem: exportPrivateKeyPem(key), csr, warnings };
}

/** Like `cfssl sign`: sign an existing CSR (subject copied byte for byte) under a profile. */
export function signRequest(
  csr: CertificateRequest,
  profile: SigningProfile,
  issuer: Signer,
  options: { now: Date; hosts?: string[]; beyondIssuer?: 'cap' | 'refuse' },
): { certificate: Certificate; warnings: string[] } {
  const template: CertificateTemplate = {
    subject: csr.subjectDer,
    sans: options.hosts ? classifyHosts(options.hosts) : csr.sans,
    usages: profile.usages,
    isCA: profile.isCA,
    maxPathLen: profile.maxPathLen,
    durationMs: profile.durationMs,
  };
  return issueCertificate({ template, subjectKey: csr.publicKey, issuer, now: options.now, beyondIssuer: options.beyondIssuer });
}

function sansEmpty(sans: SubjectAltNames): boolean {
  return sans.dns.length + sans.ips.length + sans.emails.length + sans.uris.length === 0;
}
