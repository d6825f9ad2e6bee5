// `rescue-kit issue`: cfssl gencert -ca -ca-key -config -profile, keyed by a CSR JSON.
import { generateCertificate } from '../../config/gencert.js';
import { loadCsrJson, parseHostnameFlag } from '../../config/csr-json.js';
import { readText } from '../../host/fs.js';
import { printJson, say, warn } from '../output.js';
import { createHost } from '../../host/host.js';
import { recordIssued, writeIssuedBare } from '../../ops/issue.js';
import { cfsslJson, loadExistingKey, loadProfile, loadSigner, parseVars, requireOutput } from './common.js';

export interface IssueOptions {
  ca: string;
  caKey: string;
  config?: string;
  profile?: string;
  hostname?: string;
  var?: string[];
  key?: string;
  validity?: string;
  out?: string;
  json?: boolean;
  force?: boolean;
  beyondCa: 'cap' | 'refuse';
}

export async function issue(csrJsonPath: string, options: IssueOptions): Promise<void> {
  requireOutput(options);
  // Read and validate every input before generating anything: bad input changes nothing.
  const request = loadCsrJson(readText(csrJsonPath, 'CSR JSON'), csrJsonPath, parseVars(options.var));
  const profile = loadProfile(options.config, options.profile, options.validity);
  const issuer = loadSigner(options.ca, options.caKey);
  const hosts = options.hostname !== undefined ? parseHostnameFlag(options.hostname) : undefined;
  const key = options.key ? loadExistingKey(options.key) : undefined;
  const generated = await generateCertificate(request, profile, issuer, { now: new Date(), hosts, key, beyondIssuer: options.beyondCa });
  generated.warnings.forEach(warn);
  if (options.json) {
    printJson(cfsslJson(generated));
    return recordIssued(createHost(), 'issue', generated.certificate, undefined, say);
  }
  const written = writeIssuedBare(createHost(), 'issue', options.out!, generated, Boolean(options.force), say);
  const { certificate } = generated;
  say(`issued "${certificate.subjectText}" by "${certificate.issuerText}" (profile ${profile.name}), valid until ${certificate.notAfter.toISOString()}`);
  say(`wrote ${written.join(', ')}`);
}
