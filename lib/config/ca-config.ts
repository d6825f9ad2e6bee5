// cfssl's ca-config.json: load, validate, and resolve a signing profile.
// Unlike cfssl, an unknown profile name is an error, not a silent fallback.
import { RescueError, withFile } from '../errors.js';
import { parseUsages, Usages } from '../pki/extensions.js';
import { parseDuration } from '../pki/validity.js';
import { parseJson, validateShape } from './json.js';
import { caConfigSchema } from './schemas.js';

export interface SigningProfileJson {
  usages?: string[];
  expiry?: string;
  ca_constraint?: { is_ca?: boolean; max_path_len?: number; max_path_len_zero?: boolean };
  backdate?: string;
  [field: string]: unknown;
}

export interface CaConfigJson {
  signing: { default?: SigningProfileJson; profiles?: Record<string, SigningProfileJson> };
}

export interface SigningProfile {
  name: string;
  usages: Usages;
  durationMs: number;
  isCA: boolean;
  maxPathLen: number | undefined;
}

/** Fields cfssl knows that would change what it signs but that rescue-kit does not implement. */
const UNSUPPORTED_PROFILE_FIELDS = ['issuer_urls', 'ocsp_url', 'crl_url', 'ocsp_no_check', 'not_before', 'not_after', 'remote', 'auth_key', 'name_whitelist'];

export interface CaConfig {
  json: CaConfigJson;
  profileNames: string[];
  warnings: string[];
  profile(name?: string): SigningProfile;
}

/** Parse + validate a ca-config.json text. `file` is used in messages only. */
export function loadCaConfig(text: string, file = 'ca-config.json'): CaConfig {
  return withFile(file, () => {
    const json = validateShape<CaConfigJson>(parseJson(text, 'the CA config'), caConfigSchema, 'the CA config', 'compare with conf/ca-config.json shipped with rescue-kit (fields are cfssl\'s)');
    const warnings: string[] = [];
    const entries: [string, SigningProfileJson][] = [
      ...(json.signing.default ? [['default', json.signing.default] as [string, SigningProfileJson]] : []),
      ...Object.entries(json.signing.profiles ?? {}),
    ];
    const resolved = new Map<string, SigningProfile | RescueError>();
    for (const [name, profileJson] of entries) {
      const at = name === 'default' ? '/signing/default' : `/signing/profiles/${name}`;
      resolved.set(name, resolveProfile(name, profileJson, at));
      for (const field of UNSUPPORTED_PROFILE_FIELDS) {
        if (field in profileJson) warnings.push(`${at}/${field} is ignored by rescue-kit`);
      }
    }
    const profileNames = Object.keys(json.signing.profiles ?? {});
    return {
      json,
      profileNames,
      warnings,
      profile(name?: string): SigningProfile {
        const key = name ?? 'default';
        const profile = resolved.get(key);
        if (!profile) {
          throw new RescueError('UNKNOWN_PROFILE', name ? `no profile "${name}" in the CA config` : 'the CA config has no default profile', {
            hint: profileNames.length ? `use --profile with one of: ${profileNames.join(', ')}` : 'add a "signing.profiles" entry',
            file,
          });
        }
        // A default with only an expiry (seed 004, the hard way) is a valid config that cannot sign by itself.
        if (profile instanceof RescueError) throw profile.inFile(file);
        return profile;
      },
    };
  });
}

/**
 * cfssl's rules, checked against its binary: every profile needs its own "expiry" (none is inherited
 * from the default); a named profile needs "usages"; the default may have none — such a config loads,
 * and signing with the default is refused (cfssl: "no key usage available"), so that error is returned
 * here for profile() to throw only when the default is actually used.
 */
function resolveProfile(name: string, json: SigningProfileJson, at: string): SigningProfile | RescueError {
  const expiry = json.expiry;
  const usageList = json.usages;
  if (!expiry) {
    throw new RescueError('INVALID_CONFIG', `${at}: no "expiry" (cfssl: "empty expiry string"; it is not taken from signing.default)`, { hint: 'add e.g. "expiry": "8760h"' });
  }
  if (!usageList || usageList.length === 0) {
    if (name === 'default') {
      return new RescueError('INVALID_CONFIG', `${at} has no "usages": it cannot sign (cfssl: "no key usage available")`, { hint: 'pass --profile with a profile that lists usages (e.g. --profile kubernetes), or add "usages" to signing.default' });
    }
    throw new RescueError('INVALID_CONFIG', `${at}: no "usages" (cfssl: "invalid configuration")`, { hint: 'add e.g. "usages": ["signing", "key encipherment", "server auth"]' });
  }
  // Name the JSON path of the field at fault (the profile's, or the default's it inherits).
  const prefixed = <T>(field: string, fn: () => T): T => {
    const where = `${at}/${field}`;
    try {
      return fn();
    } catch (error) {
      if (error instanceof RescueError) throw new RescueError(error.code, `${where}: ${error.message}`, { hint: error.hint, cause: error });
      throw error;
    }
  };
  const durationMs = prefixed('expiry', () => parseDuration(expiry, 'expiry'));
  const usages = prefixed('usages', () => parseUsages(usageList));
  const constraint = json.ca_constraint;
  const isCA = constraint?.is_ca ?? false;
  // cfssl/Go semantics: max_path_len 0 means "no limit" unless max_path_len_zero says it really is 0.
  const maxPathLen = !isCA ? undefined : constraint?.max_path_len_zero ? 0 : (constraint?.max_path_len ?? 0) > 0 ? constraint!.max_path_len : undefined;
  if (isCA && !usages.keyUsage.includes('cert sign')) usages.keyUsage.push('cert sign');
  return { name, usages, durationMs, isCA, maxPathLen };
}
