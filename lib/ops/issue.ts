// Issuing from the CA on disk, for every front end: load the CA pair (a key that
// is not the certificate's is named as such), the signing profile of a cfssl
// ca-config.json, a CSR template; sign; write cfssljson's trio (PREFIX.pem,
// PREFIX-key.pem 0600, PREFIX.csr) all or nothing. `issue`, `sign`, `ca init`
// and the wizard's "issue a certificate" all come here.
import { isRescueError, RescueError, withFile } from '../errors.js';
import { loadCaConfig, SigningProfile } from '../config/ca-config.js';
import { loadCsrJson } from '../config/csr-json.js';
import { GeneratedCertificate, generateCertificate } from '../config/gencert.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically } from '../host/fs.js';
import type { Host } from '../host/host.js';
import { parseCertificate } from '../pki/certificate.js';
import { parsePrivateKey } from '../pki/keys.js';
import { assertCanSign, Signer } from '../pki/sign.js';
import { parseDuration } from '../pki/validity.js';
import { caSpec } from '../catalogue/kubeadm.js';
import { resolve } from 'node:path';
import type { Certificate } from '../pki/certificate.js';
import { certificateEntry, recordAudit } from './audit/entries.js';

/** Every certificate issued is recorded (CREATE), wherever it went: a file, or stdout (for cfssljson). */
export function recordIssued(host: Host, command: string, certificate: Certificate, path: string | undefined, warn: (message: string) => void): void {
  const name = path ? resolve(path).split('/').pop()!.replace(/\.(pem|crt)$/, '') : (certificate.commonName ?? certificate.subjectText);
  recordAudit(host, { command, result: 'ok' }, [certificateEntry('CREATE', name, certificate, path ? resolve(path) : '(stdout)')], warn);
}

/** writeBare, then the audit line: `issue`, `ca init` and the wizard's issue all come here. */
export function writeIssuedBare(host: Host, command: string, prefix: string, generated: GeneratedCertificate, force: boolean, warn: (message: string) => void): string[] {
  const written = writeBare(prefix, generated, force);
  recordIssued(host, command, generated.certificate, written[0], warn);
  return written;
}

/** `sign`'s one file, then the audit line. */
export function writeSigned(host: Host, path: string, certificate: Certificate, force: boolean, warn: (message: string) => void): void {
  writeFilesAtomically([{ path, data: certificate.pem, mode: PUBLIC_MODE }], { overwrite: force });
  recordIssued(host, 'sign', certificate, path, warn);
}

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

/** A signing profile of a cfssl ca-config.json (`validity` overrides its expiry); config warnings go to `warn`. */
export function loadProfile(configPath: string, profileName: string | undefined, validity: string | undefined, warn: (message: string) => void = () => {}): SigningProfile {
  const config = loadCaConfig(readText(configPath, 'CA config'), configPath);
  for (const warning of config.warnings) warn(`${configPath}: ${warning}`);
  const profile = config.profile(profileName);
  return validity ? { ...profile, durationMs: parseDuration(validity, '--validity') } : profile;
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

export interface IssueAnswers {
  templatePath: string;
  vars: Record<string, string>;
  profile: string;
  out: string;
  /** Host paths of the CA pair (default: the cluster CA). */
  ca?: string;
  caKey?: string;
  /** cfssl ca-config.json holding the profile. */
  configPath: string;
}

/** The wizard's "issue a certificate": a template filled, signed by the cluster CA on this host, written as the trio. */
export async function issueFromTemplate(host: Host, answers: IssueAnswers, warn: (message: string) => void = () => {}): Promise<string[]> {
  const request = loadCsrJson(readText(answers.templatePath, 'CSR template'), answers.templatePath, answers.vars);
  const profile = loadProfile(answers.configPath, answers.profile, undefined);
  const issuer = loadSigner(host.real(answers.ca ?? caSpec('ca').storage.certificate), host.real(answers.caKey ?? caSpec('ca').storage.key));
  const generated = await generateCertificate(request, profile, issuer, { now: host.now() });
  return writeIssuedBare(host, 'issue', answers.out, generated, false, warn);
}
