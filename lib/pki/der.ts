// Minimal DER writer and reader over Buffers.
// Why not node-forge's asn1: we must splice byte-exact DER (the CA's subject
// Name, Node's SubjectPublicKeyInfo, extensions copied from an old cert) into
// new structures, and forge re-encodes what it parses (and cannot read EC keys).
// Everything here is bytes in, bytes out; no I/O, no clock.

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...children: Buffer[]): Buffer => tlv(Tag.SEQUENCE, Buffer.concat(children));
/** DER SET OF: elements sorted by their encoding (X.690 11.6). */
export const setOf = (...children: Buffer[]): Buffer => tlv(Tag.SET, Buffer.concat([...children].sort(Buffer.compare)));
export const octetString = (content: Buffer): Buffer => tlv(Tag.OCTET_STRING, content);
export const bitString = (content: Buffer, unusedBits = 0): Buffer =>
  tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), content]));
export const boolean = (value: boolean): Buffer => tlv(Tag.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
export const nullValue = (): Buffer => Buffer.from([Tag.NULL, 0]);

/** A non-negative INTEGER from big-endian magnitude bytes (a 0x00 is prepended when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let bytes = magnitude.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if ((bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(Tag.INTEGER, bytes);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`smallInteger: ${value}`);
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return unsignedInteger(Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((part) => {
    if (!/^\d+$/.test(part)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(part);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const pushArc = (arc: bigint) => {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    bytes.push(...group);
  };
  pushArc(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) pushArc(arc);
  return tlv(Tag.OID, Buffer.from(bytes));
}

export function decodeOid(content: Buffer): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. Seconds precision, Zulu. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-25T08:59:23.123Z
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // YYYYMMDDHHMMSS
  if (year >= 1950 && year < 2050) return tlv(Tag.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

export function contextExplicit(tagNumber: number, child: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, child);
}

export function contextImplicit(tagNumber: number, content: Buffer, constructed = false): Buffer {
  return tlv((constructed ? 0xa0 : 0x80) | tagNumber, content);
}

// ---------------------------------------------------------------- reader

export interface DerNode {
  tag: number;
  /** Offset of the tag byte in the buffer this node was read from. */
  start: number;
  /** Offset just past the content. */
  end: number;
  /** Content bytes (a view, not a copy). */
  content: Buffer;
  /** The whole TLV, header included (a view). */
  raw: Buffer;
}

export class DerError extends Error {}

export function readNode(buffer: Buffer, offset = 0): DerNode {
  if (offset + 2 > buffer.length) throw new DerError('truncated DER: header past end of data');
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let lengthByte = buffer[offset + 1]!;
  let headerLength = 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new DerError('invalid DER length (indefinite or too long)');
    if (offset + 2 + count > buffer.length) throw new DerError('truncated DER: length past end of data');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[offset + 2 + i]!;
    headerLength += count;
  }
  const contentStart = offset + headerLength;
  const end = contentStart + length;
  if (end > buffer.length) throw new DerError('truncated DER: content past end of data');
  return {
    tag,
    start: offset,
    end,
    content: buffer.subarray(contentStart, end),
    raw: buffer.subarray(offset, end),
  };
}

/** Parse exactly one node that fills the whole buffer. */
export function readWhole(buffer: Buffer): DerNode {
  const node = readNode(buffer, 0);
  if (node.end !== buffer.length) throw new DerError('trailing bytes after DER structure');
  return node;
}

export function children(node: DerNode): DerNode[] {
  const result: DerNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = readNode(node.content, offset);
    result.push(child);
    offset = child.end;
  }
  return result;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) {
    throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}), found ${node ? `0x${node.tag.toString(16)}` : 'nothing'}`);
  }
  return node;
}

export function decodeString(node: DerNode): string {
  switch (node.tag) {
    case Tag.BMP_STRING:
      return Buffer.from(node.content).swap16().toString('utf16le');
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.T61_STRING:
      return node.content.toString('latin1');
    default:
      return node.content.toString('utf8');
  }
}

export function decodeTime(node: DerNode): Date {
  const text = node.content.toString('ascii');
  const match =
    node.tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new DerError(`unsupported time encoding ${text}`);
  let year = Number(match[1]);
  if (node.tag === Tag.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}
