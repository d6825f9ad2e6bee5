// The signer: build a TBSCertificate in DER and sign it with native crypto.
// Each of node-forge's defaults is replaced: positive 127-bit random serials,
// SHA-256/384 (never SHA-1), SKI from the subject key, AKI from the issuer's
// SKI, issuer Name copied byte-for-byte from the CA, Go-compatible strings.
import { KeyObject, randomBytes } from 'node:crypto';
import { RescueError } from '../errors.js';
import { Certificate, parseCertificateDer } from './certificate.js';
import * as der from './der.js';
import {
  authorityKeyIdentifierExtension,
  basicConstraints,
  encodeExtension,
  Extension,
  extKeyUsageExtension,
  keyUsageExtension,
  OID,
  subjectKeyIdentifierExtension,
  Usages,
} from './extensions.js';
import { describeKey, keysMatch, signatureAlgorithmFor, signDer, spkiDer, subjectKeyIdentifier, validateKeySpec } from './keys.js';
import { encodeName, NameFields } from './name.js';
import { encodeSans, SubjectAltNames } from './san.js';
import { computeValidity } from './validity.js';

export interface CertificateTemplate {
  /** Subject fields, or the raw DER of an existing subject (renewals keep it byte for byte). */
  subject: NameFields | Buffer;
  sans: SubjectAltNames;
  usages: Usages;
  isCA: boolean;
  /** Only for CAs; undefined = no limit. */
  maxPathLen?: number;
  durationMs: number;
  /** Extensions copied verbatim from an old certificate (any OID we do not write ourselves). */
  extraExtensions?: Extension[];
}

export interface Signer {
  certificate: Certificate;
  key: KeyObject;
}

export interface IssueRequest {
  template: CertificateTemplate;
  /** The subject's public key (a private key is accepted: its public half is used). */
  subjectKey: KeyObject;
  /** The CA that signs; absent = self-signed with subjectKey (which must then be private). */
  issuer?: Signer;
  now: Date;
  /** Leaf outliving its CA: cap to the CA's not-after with a warning (default) or refuse. */
  beyondIssuer?: 'cap' | 'refuse';
  /** Injected for tests; default 16 random bytes made positive. */
  serial?: Buffer;
}

export interface IssuedCertificate {
  certificate: Certificate;
  warnings: string[];
}

/** 16 random bytes with the top bit cleared: positive, 127 bits of entropy (>= 64 as CA/B asks). */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01; // keep the full length so the serial stays >= 2^120
  return bytes;
}

export function issueCertificate(request: IssueRequest): IssuedCertificate {
  const { template, subjectKey, issuer, now } = request;
  const signingKey = issuer ? issuer.key : subjectKey;
  if (signingKey.type !== 'private') {
    throw new RescueError('INVALID_KEY', 'a self-signed certificate needs the private key', { hint: 'pass the private key' });
  }
  const keyDescription = describeKey(subjectKey);
  if (keyDescription.algo === 'rsa') validateKeySpec({ algo: 'rsa', size: keyDescription.size });
  if (issuer) assertCanSign(issuer);

  const subjectSpki = spkiDer(subjectKey);
  const subjectKeyId = subjectKeyIdentifier(subjectSpki);
  const subjectName = Buffer.isBuffer(template.subject) ? template.subject : encodeName(template.subject);
  const issuerName = issuer ? issuer.certificate.subjectDer : subjectName;
  const authorityKeyId = issuer ? (issuer.certificate.subjectKeyId ?? subjectKeyIdentifier(issuer.certificate.spkiDer)) : subjectKeyId;
  const validity = computeValidity({
    now,
    durationMs: template.durationMs,
    issuerNotBefore: issuer?.certificate.notBefore,
    issuerNotAfter: issuer?.certificate.notAfter,
    beyondIssuer: request.beyondIssuer,
  });

  const extensions = buildExtensions(template, subjectKeyId, authorityKeyId);
  const serial = request.serial ?? randomSerial();
  if (serial.length === 0 || (serial[0]! & 0x80) !== 0 || serial.every((byte) => byte === 0)) {
    throw new RescueError('INTERNAL', 'serial must be positive');
  }
  const algorithm = signatureAlgorithmFor(signingKey).identifier;
  const tbs = der.sequence(
    der.contextExplicit(0, der.smallInteger(2)),
    der.unsignedInteger(serial),
    algorithm,
    issuerName,
    der.sequence(der.time(validity.notBefore), der.time(validity.notAfter)),
    subjectName,
    subjectSpki,
    der.contextExplicit(3, der.sequence(...extensions.map(encodeExtension))),
  );
  const certificateDer = der.sequence(tbs, algorithm, der.bitString(signDer(tbs, signingKey).signature));
  return { certificate: parseCertificateDer(certificateDer), warnings: validity.warnings };
}

function buildExtensions(template: CertificateTemplate, subjectKeyId: Buffer, authorityKeyId: Buffer): Extension[] {
  const { sans, usages } = template;
  const hasSans = sans.dns.length + sans.ips.length + sans.emails.length + sans.uris.length > 0;
  const ours: Extension[] = [
    ...(usages.keyUsage.length ? [keyUsageExtension(usages.keyUsage)] : []),
    ...(usages.extKeyUsage.length ? [extKeyUsageExtension(usages.extKeyUsage)] : []),
    basicConstraints(template.isCA, template.maxPathLen),
    subjectKeyIdentifierExtension(subjectKeyId),
    authorityKeyIdentifierExtension(authorityKeyId),
    ...(hasSans ? [{ oid: OID.subjectAltName, critical: false, value: encodeSans(sans) }] : []),
  ];
  // Copied extensions never override ours, nor bring back one we chose to leave out (e.g. an empty SAN).
  const managed = new Set<string>([...ours.map((extension) => extension.oid), ...Object.values(OID)]);
  const kept = (template.extraExtensions ?? []).filter((extension) => !managed.has(extension.oid));
  return [...ours, ...kept];
}

/** A CA must be a CA, allowed to sign certificates, and hold the key its certificate names. */
export function assertCanSign(signer: Signer): void {
  const { certificate, key } = signer;
  if (!keysMatch(key, certificate.publicKey)) {
    throw new RescueError('KEY_MISMATCH', `the CA key does not belong to the CA certificate "${certificate.subjectText}"`, {
      hint: 'pass the key that was created with this CA (e.g. ca.key beside ca.crt)',
    });
  }
  if (!certificate.isCA) {
    throw new RescueError('NOT_A_CA', `"${certificate.subjectText}" is not a CA certificate (basicConstraints CA:FALSE or absent)`, {
      hint: 'pass the CA certificate (ca.crt / ca.pem), not a leaf',
    });
  }
  if (certificate.keyUsage.length > 0 && !certificate.keyUsage.includes('cert sign')) {
    throw new RescueError('NOT_A_CA', `CA "${certificate.subjectText}" lacks the keyCertSign usage`, {
      hint: 'this certificate cannot sign others; use the cluster CA',
    });
  }
}
