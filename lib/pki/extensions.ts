// X.509v3 extensions: cfssl usage names -> KeyUsage / ExtKeyUsage, and the
// encoders/decoders for the extensions we write (BC, KU, EKU, SAN, SKI, AKI).
import { RescueError } from '../errors.js';
import * as der from './der.js';

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** KeyUsage bit names in bit order (RFC 5280 4.2.1.3). */
export const KEY_USAGE_BITS = [
  'digital signature',
  'content commitment',
  'key encipherment',
  'data encipherment',
  'key agreement',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

export const EXT_KEY_USAGE_OIDS = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
} as const;
export type ExtKeyUsageName = keyof typeof EXT_KEY_USAGE_OIDS;

/** cfssl's aliases for key usages (including its misspelled "content committment"). */
const KEY_USAGE_ALIASES: Record<string, KeyUsageName> = {
  signing: 'digital signature',
  'content committment': 'content commitment',
  's/mime': 'digital signature',
};
const EXT_KEY_USAGE_ALIASES: Record<string, ExtKeyUsageName> = { 's/mime': 'email protection' };

export interface Usages {
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
}

/** Split a cfssl "usages" list into KU and EKU; unknown names are an error (cfssl ignores them silently). */
export function parseUsages(names: readonly string[]): Usages {
  const keyUsage = new Set<KeyUsageName>();
  const extKeyUsage = new Set<ExtKeyUsageName>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if ((KEY_USAGE_BITS as readonly string[]).includes(name)) keyUsage.add(name as KeyUsageName);
    else if (KEY_USAGE_ALIASES[name]) keyUsage.add(KEY_USAGE_ALIASES[name]!);
    if (name in EXT_KEY_USAGE_OIDS) extKeyUsage.add(name as ExtKeyUsageName);
    else if (EXT_KEY_USAGE_ALIASES[name]) extKeyUsage.add(EXT_KEY_USAGE_ALIASES[name]!);
    if (!(KEY_USAGE_BITS as readonly string[]).includes(name) && !KEY_USAGE_ALIASES[name] && !(name in EXT_KEY_USAGE_OIDS)) {
      throw new RescueError('INVALID_CONFIG', `unknown usage "${raw}"`, {
        hint: `use cfssl usage names: signing, key encipherment, cert sign, crl sign, server auth, client auth, ...`,
      });
    }
  }
  return {
    keyUsage: KEY_USAGE_BITS.filter((bit) => keyUsage.has(bit)),
    extKeyUsage: [...extKeyUsage],
  };
}

/** Back to cfssl names, so a renewal can be written as a profile. */
export function usageNames(usages: Usages): string[] {
  return [...usages.keyUsage.map((name) => (name === 'digital signature' ? 'signing' : name)), ...usages.extKeyUsage];
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** DER of the extnValue contents (what goes inside the OCTET STRING). */
  value: Buffer;
}

export function encodeExtension({ oid, critical, value }: Extension): Buffer {
  return der.sequence(der.oid(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

export function decodeExtensions(extensionsSequence: der.DerNode): Extension[] {
  return der.children(extensionsSequence).map((extension) => {
    const parts = der.children(extension);
    const oid = der.decodeOid(der.expectTag(parts[0], der.Tag.OID, 'extension id').content);
    const critical = parts.length === 3 && parts[1]!.tag === der.Tag.BOOLEAN && parts[1]!.content[0] !== 0;
    const value = der.expectTag(parts[parts.length - 1], der.Tag.OCTET_STRING, 'extension value').content;
    return { oid, critical, value };
  });
}

export function basicConstraints(isCA: boolean, maxPathLen?: number): Extension {
  const fields = isCA ? [der.boolean(true), ...(maxPathLen !== undefined && maxPathLen >= 0 ? [der.smallInteger(maxPathLen)] : [])] : [];
  return { oid: OID.basicConstraints, critical: true, value: der.sequence(...fields) };
}

export function decodeBasicConstraints(value: Buffer): { isCA: boolean; maxPathLen?: number } {
  const fields = der.children(der.readWhole(value));
  const isCA = fields[0]?.tag === der.Tag.BOOLEAN && fields[0].content[0] !== 0;
  const pathNode = fields.find((field) => field.tag === der.Tag.INTEGER);
  return pathNode ? { isCA, maxPathLen: pathNode.content.readUIntBE(0, pathNode.content.length) } : { isCA };
}

export function keyUsageExtension(names: readonly KeyUsageName[]): Extension {
  let bits = 0;
  for (const name of names) bits |= 1 << KEY_USAGE_BITS.indexOf(name);
  // BIT STRING: bit 0 is the MSB of the first byte; DER drops trailing zero bits.
  const significant = 32 - Math.clz32(bits);
  const bytes = Buffer.alloc(Math.max(1, Math.ceil(significant / 8)));
  for (let bit = 0; bit < significant; bit++) if (bits & (1 << bit)) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = significant === 0 ? 0 : bytes.length * 8 - significant;
  return { oid: OID.keyUsage, critical: true, value: der.bitString(bytes, unused) };
}

export function decodeKeyUsage(value: Buffer): KeyUsageName[] {
  const bits = der.readWhole(value).content.subarray(1);
  return KEY_USAGE_BITS.filter((_, bit) => ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
}

export function extKeyUsageExtension(names: readonly ExtKeyUsageName[]): Extension {
  return { oid: OID.extKeyUsage, critical: false, value: der.sequence(...names.map((name) => der.oid(EXT_KEY_USAGE_OIDS[name]))) };
}

/** EKU names we know; unknown OIDs come back dotted so nothing is silently lost. */
export function decodeExtKeyUsage(value: Buffer): string[] {
  const byOid = Object.fromEntries(Object.entries(EXT_KEY_USAGE_OIDS).map(([name, oid]) => [oid, name]));
  return der.children(der.readWhole(value)).map((node) => {
    const oid = der.decodeOid(node.content);
    return byOid[oid] ?? oid;
  });
}

export function subjectKeyIdentifierExtension(keyId: Buffer): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: der.octetString(keyId) };
}

export function authorityKeyIdentifierExtension(keyId: Buffer): Extension {
  return { oid: OID.authorityKeyIdentifier, critical: false, value: der.sequence(der.contextImplicit(0, keyId)) };
}

export function decodeSubjectKeyIdentifier(value: Buffer): Buffer {
  return Buffer.from(der.readWhole(value).content);
}

export function decodeAuthorityKeyIdentifier(value: Buffer): Buffer | undefined {
  const keyId = der.children(der.readWhole(value)).find((node) => node.tag === 0x80);
  return keyId ? Buffer.from(keyId.content) : undefined;
}
