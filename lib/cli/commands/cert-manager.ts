// `rescue-kit cert-manager doctor`: stuck cert-manager renewals explained and fixed (seed 002).
import { createHost } from '../../host/host.js';
import { shellLine } from '../../ops/seeds/cert-manager.js';
import { applyCertManagerFixes, fixable, readCertManagerState } from '../../ops/seeds/cert-manager-doctor.js';
import { printJson, say, table } from '../output.js';

export interface DoctorOptions {
  namespace?: string;
  from?: string;
  apply?: boolean;
  json?: boolean;
}

export async function doctor(options: DoctorOptions): Promise<void> {
  const host = createHost();
  const state = await readCertManagerState(host, options);
  if (options.json) printJson(state.findings);
  else {
    say(table(['NAMESPACE', 'CERTIFICATE', 'DIAGNOSIS'], state.findings.map((finding) => [finding.namespace, finding.name, finding.diagnosis])));
    for (const finding of state.findings.filter((entry) => entry.diagnosis !== 'ok')) {
      say(`\n${finding.namespace}/${finding.name}: ${finding.explanation}`);
      for (const step of finding.fix) say(`  ${shellLine(step)}`);
    }
  }
  if (!options.apply) {
    if (fixable(state).length) process.exitCode = 11;
    return;
  }
  await applyCertManagerFixes(host, state, say);
}
