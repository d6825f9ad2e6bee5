// `rescue-kit ca init`: cfssl gencert -initca, writing ca.pem / ca-key.pem / ca.csr.
import { initCa } from '../../config/gencert.js';
import { loadCsrJson } from '../../config/csr-json.js';
import { readText } from '../../host/fs.js';
import { printJson, say, warn } from '../output.js';
import { createHost } from '../../host/host.js';
import { recordIssued, writeIssuedBare } from '../../ops/issue.js';
import { cfsslJson, parseVars, requireOutput } from './common.js';

export interface CaInitOptions {
  csr: string;
  out?: string;
  var?: string[];
  json?: boolean;
  force?: boolean;
}

export async function caInit(options: CaInitOptions): Promise<void> {
  requireOutput(options);
  const request = loadCsrJson(readText(options.csr, 'CSR JSON'), options.csr, parseVars(options.var));
  const generated = await initCa(request, { now: new Date() });
  generated.warnings.forEach(warn);
  if (options.json) {
    printJson(cfsslJson(generated));
    return recordIssued(createHost(), 'ca init', generated.certificate, undefined, say);
  }
  const written = writeIssuedBare(createHost(), 'ca init', options.out!, generated, Boolean(options.force), say);
  say(`CA "${generated.certificate.subjectText}" valid until ${generated.certificate.notAfter.toISOString()}`);
  say(`wrote ${written.join(', ')}`);
}
