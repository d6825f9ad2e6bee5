// Shared by the signing commands: read the CA pair, the config and templates
// from disk (errors name the file), and write cfssljson-style outputs.
import { isRescueError, RescueError, withFile } from '../../errors.js';
import { loadCaConfig, SigningProfile } from '../../config/ca-config.js';
import { parseCertificate } from '../../pki/certificate.js';
import { exportPrivateKeyPem, parsePrivateKey } from '../../pki/keys.js';
import { assertCanSign, Signer } from '../../pki/sign.js';
import { parseDuration } from '../../pki/validity.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically } from '../../host/fs.js';
import { defaultCaConfigPath } from '../paths.js';
import { warn } from '../output.js';
import type { GeneratedCertificate } from '../../config/gencert.js';

export function loadSigner(caPath: string, caKeyPath: string): Signer {
  const certificate = withFile(caPath, () => parseCertificate(readText(caPath, 'CA certificate')));
  const key = withFile(caKeyPath, () => parsePrivateKey(readText(caKeyPath, 'CA key')));
  const signer = { certificate, key };
  try {
    assertCanSign(signer);
  } catch (error) {
    if (error instanceof RescueError && error.code === 'KEY_MISMATCH') {
      throw new RescueError('CA_MISMATCH', `${caKeyPath} is not the key of ${caPath} ("${certificate.subjectText}")`, {
        hint: 'pass the CA key created with this CA certificate (ca.key beside ca.crt, or ca-key.pem beside ca.pem)',
      });
    }
    throw isRescueError(error) ? error.inFile(caPath) : error;
  }
  return signer;
}

export function loadProfile(configPath: string | undefined, profileName: string | undefined, validity: string | undefined): SigningProfile {
  const path = configPath ?? defaultCaConfigPath();
  const config = loadCaConfig(readText(path, 'CA config'), path);
  for (const warning of config.warnings) warn(`${path}: ${warning}`);
  const profile = config.profile(profileName);
  return validity ? { ...profile, durationMs: parseDuration(validity, '--validity') } : profile;
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

/** cfssljson -bare PREFIX: PREFIX.pem, PREFIX-key.pem (0600), PREFIX.csr, all or nothing. */
export function writeBare(prefix: string, generated: GeneratedCertificate, force: boolean): string[] {
  const files = [
    { path: `${prefix}.pem`, data: generated.certificate.pem, mode: PUBLIC_MODE },
    { path: `${prefix}-key.pem`, data: generated.keyPem, mode: PRIVATE_KEY_MODE },
    { path: `${prefix}.csr`, data: generated.csr.pem, mode: PUBLIC_MODE },
  ];
  writeFilesAtomically(files, { overwrite: force });
  return files.map((file) => file.path);
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
