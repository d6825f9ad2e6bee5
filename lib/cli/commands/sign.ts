// `rescue-kit sign`: cfssl sign — an existing CSR (subject kept byte for byte) under a profile.
import { signRequest } from '../../config/gencert.js';
import { parseHostnameFlag } from '../../config/csr-json.js';
import { parseCsr } from '../../pki/csr.js';
import { withFile } from '../../errors.js';
import { readText } from '../../host/fs.js';
import { createHost } from '../../host/host.js';
import { writeSigned } from '../../ops/issue.js';
import { say, warn } from '../output.js';
import { loadProfile, loadSigner } from './common.js';

export interface SignOptions {
  ca: string;
  caKey: string;
  config?: string;
  profile?: string;
  hostname?: string;
  validity?: string;
  out: string;
  force?: boolean;
  beyondCa: 'cap' | 'refuse';
}

export async function sign(csrPath: string, options: SignOptions): Promise<void> {
  const csr = withFile(csrPath, () => parseCsr(readText(csrPath, 'certificate request')));
  const profile = loadProfile(options.config, options.profile, options.validity);
  const issuer = loadSigner(options.ca, options.caKey);
  const hosts = options.hostname !== undefined ? parseHostnameFlag(options.hostname) : undefined;
  const { certificate, warnings } = signRequest(csr, profile, issuer, { now: new Date(), hosts, beyondIssuer: options.beyondCa });
  warnings.forEach(warn);
  writeSigned(createHost(), options.out, certificate, Boolean(options.force), say);
  say(`signed "${certificate.subjectText}" (profile ${profile.name}), valid until ${certificate.notAfter.toISOString()}; wrote ${options.out}`);
}
