// Subject Alternative Names: split cfssl-style "hosts" into DNS / IP (v4, v6) /
// email / URI, validate each, and encode/decode GeneralNames.
import { isIP } from 'node:net';
import { RescueError } from '../errors.js';
import * as der from './der.js';

export interface SubjectAltNames {
  dns: string[];
  ips: string[];
  emails: string[];
  uris: string[];
}

export const emptySans = (): SubjectAltNames => ({ dns: [], ips: [], emails: [], uris: [] });

const DNS_NAME = /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Classify hosts the way cfssl does (IP, email, URI, else DNS), but trim spaces,
 * refuse empty entries and malformed names instead of signing them. URI is tested
 * before email: "scheme://user@host" would pass our loose email pattern, while
 * cfssl's mail.ParseAddress refuses it and it becomes a URI SAN there.
 */
export function classifyHosts(hosts: readonly string[]): SubjectAltNames {
  const sans = emptySans();
  hosts.forEach((raw, index) => {
    const host = raw.trim();
    if (host === '') {
      throw new RescueError('INVALID_HOST', `hosts[${index}] is empty`, { hint: 'remove the empty entry (look for ",," or a trailing comma)' });
    }
    if (host.includes('%')) {
      throw new RescueError('INVALID_HOST', `hosts[${index}] "${host}" has an IPv6 zone: certificates cannot carry one`, { hint: 'drop the %interface suffix' });
    }
    if (isIP(host)) sans.ips.push(normalizeIp(host));
    else if (URI.test(host)) sans.uris.push(host);
    else if (EMAIL.test(host)) sans.emails.push(host);
    else if (DNS_NAME.test(host) && host.length <= 253) sans.dns.push(host);
    else {
      throw new RescueError('INVALID_HOST', `hosts[${index}] "${host}" is not a valid DNS name, IP address, email or URI`, {
        hint: 'DNS names may hold letters, digits, "-" and "." (and a leading "*."); check for spaces or typos',
      });
    }
  });
  for (const list of Object.values(sans) as string[][]) {
    const unique = [...new Set(list)];
    list.splice(0, list.length, ...unique);
  }
  return sans;
}

export function ipToBytes(ip: string): Buffer {
  const version = isIP(ip);
  if (version === 4) return Buffer.from(ip.split('.').map(Number));
  if (version !== 6) throw new RescueError('INVALID_HOST', `"${ip}" is not an IP address`);
  let text = ip;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const bytes = ipToBytes(v4[1]!);
    tail.push((bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!);
    text = text.slice(0, -v4[1]!.length).replace(/:$/, ':0').replace(/::0$/, '::');
    if (text.endsWith(':0') && !text.endsWith('::0')) text = text.slice(0, -2);
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const headGroups = parse(head);
  const restGroups = rest === undefined ? [] : parse(rest);
  const fill = 8 - tail.length - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<number>(rest === undefined ? 0 : fill).fill(0), ...restGroups, ...tail];
  const buffer = Buffer.alloc(16);
  groups.forEach((group, index) => buffer.writeUInt16BE(group, index * 2));
  return buffer;
}

export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return bytes.toString('hex');
  const groups = Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2));
  // Compress the longest run of two or more zero groups (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function normalizeIp(ip: string): string {
  return bytesToIp(ipToBytes(ip));
}

/** GeneralNames for the SAN extension (order: DNS, email, URI, IP, as Go writes them). */
export function encodeSans(sans: SubjectAltNames): Buffer {
  return der.sequence(
    ...sans.dns.map((name) => der.contextImplicit(2, Buffer.from(name, 'ascii'))),
    ...sans.emails.map((email) => der.contextImplicit(1, Buffer.from(email, 'ascii'))),
    ...sans.uris.map((uri) => der.contextImplicit(6, Buffer.from(uri, 'ascii'))),
    ...sans.ips.map((ip) => der.contextImplicit(7, ipToBytes(ip))),
  );
}

export function decodeSans(extensionValue: Buffer): SubjectAltNames {
  const sans = emptySans();
  for (const name of der.children(der.readWhole(extensionValue))) {
    const text = name.content.toString('ascii');
    switch (name.tag) {
      case 0x82: sans.dns.push(text); break;
      case 0x81: sans.emails.push(text); break;
      case 0x86: sans.uris.push(text); break;
      case 0x87: sans.ips.push(bytesToIp(name.content)); break;
      default: break; // otherName, directoryName...: kept only when extensions are copied raw
    }
  }
  return sans;
}

export function sansToHosts(sans: SubjectAltNames): string[] {
  return [...sans.dns, ...sans.ips, ...sans.emails, ...sans.uris];
}

export function mergeSans(base: SubjectAltNames, extra: SubjectAltNames): SubjectAltNames {
  const merged = emptySans();
  for (const key of Object.keys(merged) as (keyof SubjectAltNames)[]) merged[key] = [...new Set([...base[key], ...extra[key]])];
  return merged;
}
