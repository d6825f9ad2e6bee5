// `rescue-kit ca init`: cfssl gencert -initca, writing ca.pem / ca-key.pem / ca.csr.
import { initCa } from '../../config/gencert.js';
import { loadCsrJson } from '../../config/csr-json.js';
import { readText } from '../../host/fs.js';
import { printJson, say, warn } from '../output.js';
import { cfsslJson, parseVars, requireOutput, writeBare } from './common.js';

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
  if (options.json) return printJson(cfsslJson(generated));
  const written = writeBare(options.out!, generated, Boolean(options.force));
  say(`CA "${generated.certificate.subjectText}" valid until ${generated.certificate.notAfter.toISOString()}`);
  say(`wrote ${written.join(', ')}`);
}
