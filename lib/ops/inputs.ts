// What a person types, checked the way every front end checks it: a validity
// (8760h, 365d, 1y) and a SAN list (DNS names, IPs, emails, URIs). The wizard
// validates its answers with these, as the CLI validates its flags.
import { classifyHosts, SubjectAltNames } from '../pki/san.js';
import { parseDuration } from '../pki/validity.js';

/** Milliseconds of a validity ("8760h", "365d", "1y"); errors name `what` and say how to write it. */
export function parseValidity(text: string, what = 'validity'): number {
  return parseDuration(text, what);
}

/** SANs sorted into DNS, IP, email and URI; an empty or malformed entry is an error naming it. */
export function parseSanList(entries: string[]): SubjectAltNames {
  return classifyHosts(entries);
}
