// Shared by the signing commands: read the CA pair, the config and templates
// from disk (errors name the file), and write cfssljson-style outputs.
import { RescueError, withFile } from '../../errors.js';
import type { SigningProfile } from '../../config/ca-config.js';
import { exportPrivateKeyPem, parsePrivateKey } from '../../pki/keys.js';
import { readText } from '../../host/fs.js';
import { loadProfile as loadOpsProfile } from '../../ops/issue.js';
export { loadSigner, writeBare } from '../../ops/issue.js';
import { defaultCaConfigPath } from '../paths.js';
import { warn } from '../output.js';
import type { GeneratedCertificate } from '../../config/gencert.js';

/** The CA config given, or the default profiles shipped in conf/; its warnings are printed. */
export function loadProfile(configPath: string | undefined, profileName: string | undefined, validity: string | undefined): SigningProfile {
  return loadOpsProfile(configPath ?? defaultCaConfigPath(), profileName, validity, warn);
}

export function parseVars(pairs: string[] | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(pair);
    if (!match) throw new RescueError('USAGE', `--var "${pair}" must look like NAME=value (NAME in capitals)`);
    vars[match[1]!] = match[2]!;
  }
  return vars;
}

export function loadExistingKey(path: string) {
  return withFile(path, () => parsePrivateKey(readText(path, 'private key')));
}

/** cfssl's JSON on stdout, so `rescue-kit issue ... --json | cfssljson -bare name` keeps working. */
export function cfsslJson(generated: GeneratedCertificate) {
  return { cert: generated.certificate.pem, key: exportPrivateKeyPem(generated.key), csr: generated.csr.pem };
}

export function requireOutput(options: { out?: string; json?: boolean }): void {
  if (!options.out && !options.json) {
    throw new RescueError('USAGE', 'say where the result goes: --out PREFIX (files) or --json (stdout, for cfssljson)');
  }
}
