// Private keys: generate (native crypto, async so several run in parallel),
// import PEM (PKCS#1, PKCS#8, SEC1), describe, export, and pick the signature
// algorithm a key signs with. No node-forge here: it has no ECDSA and is slow.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, KeyObject, sign as nativeSign } from 'node:crypto';
import { promisify } from 'node:util';
import { RescueError } from '../errors.js';
import * as der from './der.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyAlgorithm = 'rsa' | 'ecdsa' | 'ed25519';

/** cfssl's "key" object: {"algo": "rsa", "size": 2048}. */
export interface KeySpec {
  algo: KeyAlgorithm;
  /** RSA modulus bits (2048/3072/4096) or ECDSA curve bits (256/384). Ignored for Ed25519. */
  size?: number;
}

export interface KeyDescription {
  algo: KeyAlgorithm;
  /** RSA modulus bits, ECDSA curve bits, 256 for Ed25519. */
  size: number;
  /** e.g. "RSA 2048", "ECDSA P-256", "Ed25519". */
  label: string;
}

const RSA_SIZES = [2048, 3072, 4096];
const EC_CURVES: Record<number, string> = { 256: 'prime256v1', 384: 'secp384r1' };
const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** cfssl's default when a CSR has no key block: ECDSA P-256. */
export const DEFAULT_KEY_SPEC: KeySpec = { algo: 'ecdsa', size: 256 };

export function validateKeySpec(spec: KeySpec): Required<KeySpec> {
  if (spec.algo === 'rsa') {
    const size = spec.size ?? 2048;
    if (size < 2048) {
      throw new RescueError('WEAK_KEY', `RSA ${size} is too weak: Kubernetes and current openssl reject keys below 2048 bits`, {
        hint: 'use "key": {"algo": "rsa", "size": 2048} (or 3072/4096), or {"algo": "ecdsa", "size": 256}',
      });
    }
    if (!RSA_SIZES.includes(size)) {
      throw new RescueError('INVALID_KEY', `unsupported RSA size ${size}`, { hint: `use one of ${RSA_SIZES.join(', ')}` });
    }
    return { algo: 'rsa', size };
  }
  if (spec.algo === 'ecdsa') {
    const size = spec.size ?? 256;
    if (!EC_CURVES[size]) {
      throw new RescueError('INVALID_KEY', `unsupported ECDSA size ${size}`, { hint: 'use 256 (P-256) or 384 (P-384)' });
    }
    return { algo: 'ecdsa', size };
  }
  if (spec.algo === 'ed25519') return { algo: 'ed25519', size: 256 };
  throw new RescueError('INVALID_KEY', `unknown key algorithm "${String(spec.algo)}"`, { hint: 'use "rsa", "ecdsa" or "ed25519"' });
}

export async function generateKey(spec: KeySpec = DEFAULT_KEY_SPEC): Promise<KeyObject> {
  const valid = validateKeySpec(spec);
  switch (valid.algo) {
    case 'rsa':
      return (await generateKeyPairAsync('rsa', { modulusLength: valid.size, publicExponent: 65537 })).privateKey;
    case 'ecdsa':
      return (await generateKeyPairAsync('ec', { namedCurve: EC_CURVES[valid.size]! })).privateKey;
    case 'ed25519':
      return (await generateKeyPairAsync('ed25519')).privateKey;
  }
}

/** Import a PEM private key (PKCS#1, PKCS#8 or SEC1). Encrypted keys are refused with a hint. */
export function parsePrivateKey(pem: string | Buffer): KeyObject {
  const text = pem.toString();
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new RescueError('INVALID_KEY', 'the private key is encrypted', {
      hint: 'decrypt it first: openssl pkey -in KEY -out KEY.plain (keep it 0600)',
    });
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(text)) {
    throw new RescueError('INVALID_KEY', 'no PEM private key found (expected "BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY" or "BEGIN EC PRIVATE KEY")', {
      hint: 'check that this is the key file, not the certificate',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (cause) {
    throw new RescueError('INVALID_KEY', `the private key cannot be read (${(cause as Error).message}); it is damaged or truncated`, {
      hint: 'restore the key from a backup; a key cannot be re-created',
      cause,
    });
  }
  describeKey(key); // refuse curves and types we cannot sign with
  return key;
}

export function describeKey(key: KeyObject): KeyDescription {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const size = details.modulusLength ?? 0;
      return { algo: 'rsa', size, label: `RSA ${size}` };
    }
    case 'ec': {
      const size = CURVE_BITS[details.namedCurve ?? ''];
      if (!size) throw new RescueError('INVALID_KEY', `unsupported EC curve ${details.namedCurve}`, { hint: 'use P-256 or P-384' });
      return { algo: 'ecdsa', size, label: `ECDSA P-${size}` };
    }
    case 'ed25519':
      return { algo: 'ed25519', size: 256, label: 'Ed25519' };
    default:
      throw new RescueError('INVALID_KEY', `unsupported key type ${key.asymmetricKeyType}`, { hint: 'use RSA, ECDSA or Ed25519' });
  }
}

/** PEM as kubeadm and cfssl write it: PKCS#1 for RSA, SEC1 for EC, PKCS#8 for Ed25519. */
export function exportPrivateKeyPem(key: KeyObject): string {
  const { algo } = describeKey(key);
  const type = algo === 'rsa' ? 'pkcs1' : algo === 'ecdsa' ? 'sec1' : 'pkcs8';
  return key.export({ type, format: 'pem' }).toString();
}

export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

const spkiCache = new WeakMap<KeyObject, Buffer>();

/** DER SubjectPublicKeyInfo of a public or private key (memoised: a CA key is compared on every signature). */
export function spkiDer(key: KeyObject): Buffer {
  let spki = spkiCache.get(key);
  if (!spki) {
    spki = publicKeyOf(key).export({ type: 'spki', format: 'der' });
    spkiCache.set(key, spki);
  }
  return spki;
}

/** RFC 5280 4.2.1.2 method (1), as Go and kubeadm do: SHA-1 of the subjectPublicKey bits. */
export function subjectKeyIdentifier(spki: Buffer): Buffer {
  const [, bits] = der.children(der.readWhole(spki));
  const key = der.expectTag(bits, der.Tag.BIT_STRING, 'subjectPublicKey');
  return createHash('sha1').update(key.content.subarray(1)).digest();
}

export interface SignatureAlgorithm {
  /** DER AlgorithmIdentifier to put in the certificate / CSR. */
  identifier: Buffer;
  /** Hash for crypto.sign, or null for Ed25519. */
  hash: string | null;
  name: string;
}

/** SHA-256 for RSA and P-256, SHA-384 for P-384, SHA-512 for an imported P-521 key (as Go picks), pure Ed25519. Never SHA-1. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  const { algo, size } = describeKey(key);
  if (algo === 'rsa') {
    return { identifier: der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue()), hash: 'sha256', name: 'SHA256-RSA' };
  }
  if (algo === 'ecdsa') {
    if (size === 521) return { identifier: der.sequence(der.oid('1.2.840.10045.4.3.4')), hash: 'sha512', name: 'ECDSA-SHA512' };
    return size === 384
      ? { identifier: der.sequence(der.oid('1.2.840.10045.4.3.3')), hash: 'sha384', name: 'ECDSA-SHA384' }
      : { identifier: der.sequence(der.oid('1.2.840.10045.4.3.2')), hash: 'sha256', name: 'ECDSA-SHA256' };
  }
  return { identifier: der.sequence(der.oid('1.3.101.112')), hash: null, name: 'Ed25519' };
}

/** Sign DER bytes (a TBSCertificate or CertificationRequestInfo); ECDSA signatures come out DER-encoded. */
export function signDer(data: Buffer, key: KeyObject): { algorithm: Buffer; signature: Buffer } {
  const algorithm = signatureAlgorithmFor(key);
  return { algorithm: algorithm.identifier, signature: nativeSign(algorithm.hash, data, key) };
}

export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  return spkiDer(privateKey).equals(spkiDer(publicKey));
}
