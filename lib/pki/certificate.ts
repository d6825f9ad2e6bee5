// Parse an X.509 certificate into the fields rescue-kit reasons about, keeping
// the raw DER of each part so a renewal can copy it byte for byte.
import { X509Certificate, KeyObject } from 'node:crypto';
import { RescueError } from '../errors.js';
import * as der from './der.js';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeExtensions,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSubjectKeyIdentifier,
  Extension,
  KeyUsageName,
  OID,
} from './extensions.js';
import { describeKey, KeyDescription } from './keys.js';
import { decodeName, formatName, NameAttribute } from './name.js';
import { pemBlocksOf, encodePem } from './pem.js';
import { decodeSans, emptySans, SubjectAltNames } from './san.js';

export interface Certificate {
  der: Buffer;
  pem: string;
  /** Serial as lower-case hex of the DER INTEGER content (sign byte included when present). */
  serialHex: string;
  /** Serial as a decimal string (x509-certificate-exporter's serial_number label). */
  serialDecimal: string;
  serialNegative: boolean;
  signatureAlgorithmOid: string;
  issuerDer: Buffer;
  subjectDer: Buffer;
  issuer: NameAttribute[];
  subject: NameAttribute[];
  /** "CN=..., O=..." */
  subjectText: string;
  issuerText: string;
  commonName: string | undefined;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  publicKey: KeyObject;
  key: KeyDescription;
  extensions: Extension[];
  sans: SubjectAltNames;
  keyUsage: KeyUsageName[];
  extKeyUsage: string[];
  isCA: boolean;
  maxPathLen: number | undefined;
  subjectKeyId: Buffer | undefined;
  authorityKeyId: Buffer | undefined;
  /** SHA-256 fingerprint, colon-separated hex as openssl prints it. */
  fingerprint256: string;
  x509: X509Certificate;
}

export function parseCertificateDer(certificateDer: Buffer): Certificate {
  let x509: X509Certificate;
  let tbsFields: der.DerNode[];
  try {
    x509 = new X509Certificate(certificateDer);
    const [tbs] = der.children(der.readWhole(certificateDer));
    tbsFields = der.children(der.expectTag(tbs, der.Tag.SEQUENCE, 'TBSCertificate'));
  } catch (cause) {
    throw new RescueError('INVALID_PEM', `not a valid X.509 certificate (${(cause as Error).message})`, {
      hint: 'the file is damaged or is not a certificate; restore it from a backup',
      cause,
    });
  }
  // Skip the optional [0] version.
  const fields = tbsFields[0]?.tag === 0xa0 ? tbsFields.slice(1) : tbsFields;
  const [serial, signature, issuer, validity, subject, spki] = fields;
  const extensionsWrapper = fields.find((node) => node.tag === 0xa3);
  const extensions = extensionsWrapper ? decodeExtensions(der.children(extensionsWrapper)[0]!) : [];
  const find = (oid: string) => extensions.find((extension) => extension.oid === oid)?.value;
  const [notBefore, notAfter] = der.children(validity!).map(der.decodeTime);
  const serialBytes = serial!.content;
  const basic = find(OID.basicConstraints);
  const constraints = basic ? decodeBasicConstraints(basic) : { isCA: false };
  const subjectAttributes = decodeName(subject!);
  const issuerAttributes = decodeName(issuer!);
  const sanValue = find(OID.subjectAltName);
  const kuValue = find(OID.keyUsage);
  const ekuValue = find(OID.extKeyUsage);
  const skiValue = find(OID.subjectKeyIdentifier);
  const akiValue = find(OID.authorityKeyIdentifier);
  const publicKey = x509.publicKey;
  return {
    der: certificateDer,
    pem: encodePem('CERTIFICATE', certificateDer),
    serialHex: serialBytes.toString('hex'),
    serialDecimal: signedBigInt(serialBytes).toString(10),
    serialNegative: (serialBytes[0]! & 0x80) !== 0,
    signatureAlgorithmOid: der.decodeOid(der.children(signature!)[0]!.content),
    issuerDer: Buffer.from(issuer!.raw),
    subjectDer: Buffer.from(subject!.raw),
    issuer: issuerAttributes,
    subject: subjectAttributes,
    subjectText: formatName(subjectAttributes),
    issuerText: formatName(issuerAttributes),
    commonName: subjectAttributes.find((attribute) => attribute.type === 'CN')?.value,
    notBefore: notBefore!,
    notAfter: notAfter!,
    spkiDer: Buffer.from(spki!.raw),
    publicKey,
    key: describeKey(publicKey),
    extensions,
    sans: sanValue ? decodeSans(sanValue) : emptySans(),
    keyUsage: kuValue ? decodeKeyUsage(kuValue) : [],
    extKeyUsage: ekuValue ? decodeExtKeyUsage(ekuValue) : [],
    isCA: constraints.isCA,
    maxPathLen: constraints.maxPathLen,
    subjectKeyId: skiValue ? decodeSubjectKeyIdentifier(skiValue) : undefined,
    authorityKeyId: akiValue ? decodeAuthorityKeyIdentifier(akiValue) : undefined,
    fingerprint256: x509.fingerprint256,
    x509,
  };
}

function signedBigInt(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(`0x${bytes.toString('hex')}`);
  return bytes[0]! & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}

/** Every certificate in a PEM text (a chain or bundle), in file order. */
export function parseCertificates(pem: string | Buffer): Certificate[] {
  return pemBlocksOf(pem.toString(), ['CERTIFICATE'], 'certificate').map((block) => parseCertificateDer(block.der));
}

/** The first certificate of a PEM text (the leaf of a chain file). */
export function parseCertificate(pem: string | Buffer): Certificate {
  return parseCertificates(pem)[0]!;
}
