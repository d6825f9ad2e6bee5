// PKCS#10 certificate signing requests: build one from subject fields + hosts
// + key (native signature), and read one back (ours, cfssl's or openssl's).
import { createPublicKey, KeyObject, verify as nativeVerify } from 'node:crypto';
import { RescueError } from '../errors.js';
import * as der from './der.js';
import { decodeExtensions, Extension, OID } from './extensions.js';
import { describeKey, signatureAlgorithmFor, signDer, spkiDer } from './keys.js';
import { decodeName, encodeName, formatName, NameAttribute, NameFields } from './name.js';
import { encodePem, pemBlocksOf } from './pem.js';
import { decodeSans, emptySans, encodeSans, SubjectAltNames } from './san.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface CertificateRequest {
  der: Buffer;
  pem: string;
  subjectDer: Buffer;
  subject: NameAttribute[];
  subjectText: string;
  publicKey: KeyObject;
  sans: SubjectAltNames;
  extensions: Extension[];
}

export function createCsr(subject: NameFields, sans: SubjectAltNames, key: KeyObject): CertificateRequest {
  const hasSans = sans.dns.length + sans.ips.length + sans.emails.length + sans.uris.length > 0;
  const attributes = hasSans
    ? [
        der.sequence(
          der.oid(EXTENSION_REQUEST),
          der.setOf(der.sequence(der.sequence(der.oid(OID.subjectAltName), der.octetString(encodeSans(sans))))),
        ),
      ]
    : [];
  const info = der.sequence(der.smallInteger(0), encodeName(subject), spkiDer(key), der.contextImplicit(0, Buffer.concat(attributes), true));
  const { signature } = signDer(info, key);
  const csrDer = der.sequence(info, signatureAlgorithmFor(key).identifier, der.bitString(signature));
  // We signed it a line above: checking our own signature again would only cost time.
  return parseCsrDer(csrDer, { verifySignature: false });
}

export function parseCsrDer(csrDer: Buffer, options: { verifySignature?: boolean } = {}): CertificateRequest {
  try {
    const [info, algorithm, signature] = der.children(der.readWhole(csrDer));
    const [, subject, spki, attributesNode] = der.children(der.expectTag(info, der.Tag.SEQUENCE, 'CertificationRequestInfo'));
    const publicKey = createPublicKey({ key: Buffer.from(spki!.raw), format: 'der', type: 'spki' });
    const keyInfo = describeKey(publicKey);
    const hash = keyInfo.algo === 'ed25519' ? null : signatureHashOf(der.decodeOid(der.children(algorithm!)[0]!.content));
    const signatureBytes = der.expectTag(signature, der.Tag.BIT_STRING, 'signature').content.subarray(1);
    if (options.verifySignature !== false && !nativeVerify(hash, info!.raw, publicKey, signatureBytes)) {
      throw new RescueError('INVALID_CSR', 'the CSR signature does not verify (it was altered or damaged)', {
        hint: 'generate the CSR again',
      });
    }
    let extensions: Extension[] = [];
    for (const attribute of attributesNode ? der.children(attributesNode) : []) {
      const [type, values] = der.children(attribute);
      if (der.decodeOid(type!.content) === EXTENSION_REQUEST) extensions = decodeExtensions(der.children(values!)[0]!);
    }
    const sanValue = extensions.find((extension) => extension.oid === OID.subjectAltName)?.value;
    const attributes = decodeName(subject!);
    return {
      der: csrDer,
      pem: encodePem('CERTIFICATE REQUEST', csrDer),
      subjectDer: Buffer.from(subject!.raw),
      subject: attributes,
      subjectText: formatName(attributes),
      publicKey,
      sans: sanValue ? decodeSans(sanValue) : emptySans(),
      extensions,
    };
  } catch (cause) {
    if (cause instanceof RescueError) throw cause;
    throw new RescueError('INVALID_CSR', `not a valid certificate request (${(cause as Error).message})`, {
      hint: 'the file is damaged or is not a CSR',
      cause,
    });
  }
}

function signatureHashOf(oid: string): string {
  const hashes: Record<string, string> = {
    '1.2.840.113549.1.1.11': 'sha256',
    '1.2.840.113549.1.1.12': 'sha384',
    '1.2.840.113549.1.1.13': 'sha512',
    '1.2.840.10045.4.3.2': 'sha256',
    '1.2.840.10045.4.3.3': 'sha384',
    '1.2.840.10045.4.3.4': 'sha512',
  };
  const hash = hashes[oid];
  if (!hash) {
    throw new RescueError('INVALID_CSR', `the CSR is signed with an unsupported or weak algorithm (${oid})`, {
      hint: 'generate the CSR again with SHA-256 (openssl req -sha256)',
    });
  }
  return hash;
}

export function parseCsr(pem: string | Buffer): CertificateRequest {
  const [block] = pemBlocksOf(pem.toString(), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'certificate request');
  return parseCsrDer(block!.der);
}
