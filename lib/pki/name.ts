// X.501 Names (subject/issuer): encode the way Go's crypto/x509 does, decode for display.
// Go picks PrintableString when every character allows it and UTF8String
// otherwise; forge's PrintableString-everywhere breaks on '_' and '@'.
import * as der from './der.js';

/** Subject fields as cfssl's CSR JSON carries them (after flattening "names"). */
export interface NameFields {
  CN?: string;
  C?: string[];
  ST?: string[];
  L?: string[];
  O?: string[];
  OU?: string[];
}

export interface NameAttribute {
  oid: string;
  /** Short name (CN, O, ...) or the dotted OID when unknown. */
  type: string;
  value: string;
}

const ATTRIBUTE_OIDS = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
} as const;
const SHORT_NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ATTRIBUTE_OIDS).map(([name, oid]) => [oid, name])),
  '2.5.4.5': 'serialNumber',
  '2.5.4.9': 'street',
  '2.5.4.17': 'postalCode',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** The PrintableString alphabet (X.680). Go also lets '*' and '&' through; we stay strict and use UTF8String for those. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function encodeValue(attribute: keyof typeof ATTRIBUTE_OIDS, value: string): Buffer {
  const tag = attribute === 'C' || PRINTABLE.test(value) ? der.Tag.PRINTABLE_STRING : der.Tag.UTF8_STRING;
  return der.tlv(tag, Buffer.from(value, tag === der.Tag.UTF8_STRING ? 'utf8' : 'latin1'));
}

/** Encode in Go's order (C, ST, L, O, OU, CN); several values of one type share one RDN, as Go does. */
export function encodeName(fields: NameFields): Buffer {
  const rdns: Buffer[] = [];
  const order: (keyof typeof ATTRIBUTE_OIDS)[] = ['C', 'ST', 'L', 'O', 'OU'];
  for (const attribute of order) {
    const values = (fields[attribute as Exclude<keyof NameFields, 'CN'>] ?? []).filter((value) => value !== '');
    if (values.length === 0) continue;
    rdns.push(der.setOf(...values.map((value) => der.sequence(der.oid(ATTRIBUTE_OIDS[attribute]), encodeValue(attribute, value)))));
  }
  if (fields.CN) rdns.push(der.setOf(der.sequence(der.oid(ATTRIBUTE_OIDS.CN), encodeValue('CN', fields.CN))));
  return der.sequence(...rdns);
}

export function decodeName(name: Buffer | der.DerNode): NameAttribute[] {
  const node = Buffer.isBuffer(name) ? der.readWhole(name) : name;
  const attributes: NameAttribute[] = [];
  for (const rdn of der.children(node)) {
    for (const atv of der.children(rdn)) {
      const [type, value] = der.children(atv);
      const oid = der.decodeOid(der.expectTag(type, der.Tag.OID, 'attribute type').content);
      attributes.push({ oid, type: SHORT_NAMES[oid] ?? oid, value: value ? der.decodeString(value) : '' });
    }
  }
  return attributes;
}

/** Back to cfssl-style fields (unknown attribute types are dropped: use the raw DER to keep them). */
export function nameFields(attributes: NameAttribute[]): NameFields {
  const fields: NameFields = {};
  for (const { type, value } of attributes) {
    if (type === 'CN') fields.CN = value;
    else if (type === 'C' || type === 'ST' || type === 'L' || type === 'O' || type === 'OU') (fields[type] ??= []).push(value);
  }
  return fields;
}

/** "CN=kube-apiserver, O=system:masters" in encoded order; ',' '+' '=' in values escaped as RFC 4514 does. */
export function formatName(attributes: NameAttribute[]): string {
  return attributes.map(({ type, value }) => `${type}=${value.replace(/([,+=\\])/g, '\\$1')}`).join(', ');
}
