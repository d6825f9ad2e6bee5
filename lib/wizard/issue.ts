// The wizard's "issue a certificate": the same steps as `rescue-kit issue`,
// with the cluster CA found on this host.
import { loadCaConfig } from '../config/ca-config.js';
import { loadCsrJson } from '../config/csr-json.js';
import { generateCertificate } from '../config/gencert.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically } from '../host/fs.js';
import type { Host } from '../host/host.js';
import { parseCertificate } from '../pki/certificate.js';
import { parsePrivateKey } from '../pki/keys.js';
import { assertCanSign } from '../pki/sign.js';

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

export async function issueFromTemplate(host: Host, answers: IssueAnswers): Promise<string[]> {
  const request = loadCsrJson(readText(answers.templatePath, 'CSR template'), answers.templatePath, answers.vars);
  const profile = loadCaConfig(readText(answers.configPath, 'CA config'), answers.configPath).profile(answers.profile);
  const caPath = host.real(answers.ca ?? '/etc/kubernetes/pki/ca.crt');
  const keyPath = host.real(answers.caKey ?? '/etc/kubernetes/pki/ca.key');
  const issuer = { certificate: parseCertificate(readText(caPath, 'CA certificate')), key: parsePrivateKey(readText(keyPath, 'CA key')) };
  assertCanSign(issuer);
  const generated = await generateCertificate(request, profile, issuer, { now: host.now() });
  const files = [
    { path: `${answers.out}.pem`, data: generated.certificate.pem, mode: PUBLIC_MODE },
    { path: `${answers.out}-key.pem`, data: generated.keyPem, mode: PRIVATE_KEY_MODE },
    { path: `${answers.out}.csr`, data: generated.csr.pem, mode: PUBLIC_MODE },
  ];
  writeFilesAtomically(files);
  return files.map((file) => file.path);
}
