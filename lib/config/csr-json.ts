// cfssl's CSR JSON ({CN, names, hosts, key, ca}): load, validate, flatten.
import { RescueError, withFile } from '../errors.js';
import { DEFAULT_KEY_SPEC, KeySpec, validateKeySpec } from '../pki/keys.js';
import { NameFields } from '../pki/name.js';
import { classifyHosts, SubjectAltNames } from '../pki/san.js';
import { parseDuration } from '../pki/validity.js';
import { parseJson, validateShape } from './json.js';
import { csrJsonSchema } from './schemas.js';

export interface CsrJson {
  CN?: string;
  names?: { C?: string; ST?: string; L?: string; O?: string; OU?: string }[];
  hosts?: string[];
  key?: KeySpec;
  ca?: { expiry?: string; pathlen?: number; pathlenzero?: boolean };
}

export interface CsrRequest {
  subject: NameFields;
  hosts: string[];
  sans: SubjectAltNames;
  key: Required<KeySpec>;
  /** Present when the CSR has a "ca" block (used by `ca init`). */
  ca?: { durationMs?: number; maxPathLen?: number };
}

export function csrRequestFromJson(json: CsrJson): CsrRequest {
  const subject: NameFields = {};
  if (json.CN) subject.CN = json.CN;
  for (const entry of json.names ?? []) {
    for (const field of ['C', 'ST', 'L', 'O', 'OU'] as const) {
      const value = entry[field];
      if (value) (subject[field] ??= []).push(value);
    }
  }
  if (subject.C?.some((country) => !/^[A-Za-z]{2}$/.test(country))) {
    throw new RescueError('INVALID_CSR', `/names: country "${subject.C.find((c) => !/^[A-Za-z]{2}$/.test(c))}" must be a two-letter code`, {
      hint: 'use an ISO 3166 code such as "CN" or "US"',
    });
  }
  if (!subject.CN && !subject.O?.length) {
    throw new RescueError('INVALID_CSR', 'the CSR has neither "CN" nor an "O" in "names"', { hint: 'add "CN": "<component name>"' });
  }
  const hosts = (json.hosts ?? []).map((host) => host.trim());
  const sans = classifyHosts(json.hosts ?? []);
  // cfssl: no key block means ECDSA P-256, {"algo":"ecdsa"} means P-256; a bare {"algo":"rsa"} it refuses
  // ("RSA key is too weak"), and so do we, saying what to write instead of guessing a size.
  if (json.key?.algo === 'rsa' && json.key.size === undefined) {
    throw new RescueError('INVALID_KEY', '/key: "algo": "rsa" needs a "size" (cfssl refuses it too)', { hint: 'write "key": {"algo": "rsa", "size": 2048} (or 3072, 4096)' });
  }
  const key = validateKeySpec(json.key ?? DEFAULT_KEY_SPEC);
  const request: CsrRequest = { subject, hosts, sans, key };
  if (json.ca) {
    request.ca = {
      durationMs: json.ca.expiry ? parseDuration(json.ca.expiry, '/ca/expiry') : undefined,
      maxPathLen: json.ca.pathlenzero ? 0 : json.ca.pathlen,
    };
  }
  return request;
}

/** Fill ${NAME} variables of a template; any left unfilled is an error (never signed literally). */
export function fillTemplate(text: string, vars: Record<string, string>): string {
  const missing = new Set<string>();
  const filled = text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return JSON.stringify(value).slice(1, -1);
  });
  if (missing.size) {
    const names = [...missing];
    throw new RescueError('INVALID_CSR', `the template needs ${names.join(', ')}`, {
      hint: names.map((name) => `--var ${name}=...`).join(' '),
    });
  }
  return filled;
}

/** Parse + validate a CSR JSON text (a template when vars are given); errors name `file`. */
export function loadCsrJson(text: string, file = 'csr.json', vars: Record<string, string> = {}): CsrRequest {
  return withFile(file, () => {
    const json = validateShape<CsrJson>(parseJson(fillTemplate(text, vars), 'the CSR JSON'), csrJsonSchema, 'the CSR JSON', 'fields are cfssl\'s: CN, names[{C,ST,L,O,OU}], hosts, key{algo,size}, ca{expiry}');
    return csrRequestFromJson(json);
  });
}

/** cfssl's -hostname: comma-separated, replaces the CSR hosts. We trim; empty entries are an error. */
export function parseHostnameFlag(value: string): string[] {
  const hosts = value.split(',').map((host) => host.trim());
  try {
    classifyHosts(hosts);
  } catch (error) {
    if (error instanceof RescueError) {
      const message = error.message.replace(/^hosts\[(\d+)\]/, (_, index: string) => `entry ${Number(index) + 1}`);
      throw new RescueError(error.code, `--hostname: ${message}`, { hint: error.hint });
    }
    throw error;
  }
  return hosts;
}
