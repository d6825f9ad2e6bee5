// `rescue-kit cert-manager doctor`: stuck cert-manager renewals explained and fixed (seed 002).
import { RescueError } from '../../errors.js';
import { readText, writeFilesAtomically } from '../../host/fs.js';
import { createHost } from '../../host/host.js';
import { parseJson } from '../../config/json.js';
import { diagnose, K8sResource, shellLine } from '../../ops/seeds/cert-manager.js';
import { printJson, say, table } from '../output.js';
import { recordCertManagerFixes } from '../../ops/audit/seeds.js';

export interface DoctorOptions {
  namespace?: string;
  from?: string;
  apply?: boolean;
  json?: boolean;
}

export async function doctor(options: DoctorOptions): Promise<void> {
  const host = createHost();
  let text: string;
  if (options.from) text = readText(options.from, 'recorded kubectl output');
  else {
    const scope = options.namespace ? ['-n', options.namespace] : ['-A'];
    const result = await host.run('kubectl', ['get', 'certificate,certificaterequest', ...scope, '-o', 'json'], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new RescueError('FILE_NOT_FOUND', `kubectl get certificate,certificaterequest failed: ${result.stderr.trim()}`, { hint: 'no cluster reachable? record it elsewhere (kubectl get certificate,certificaterequest -A -o json > cm.json) and pass --from cm.json' });
    text = result.stdout;
  }
  const list = parseJson(text, options.from ?? 'kubectl output') as { items?: K8sResource[] };
  const items = (list.items ?? []).filter((item) => !options.namespace || item.metadata?.namespace === options.namespace);
  const findings = diagnose(items, new Date());
  if (options.json) printJson(findings);
  else {
    say(table(['NAMESPACE', 'CERTIFICATE', 'DIAGNOSIS'], findings.map((finding) => [finding.namespace, finding.name, finding.diagnosis])));
    for (const finding of findings.filter((entry) => entry.diagnosis !== 'ok')) {
      say(`\n${finding.namespace}/${finding.name}: ${finding.explanation}`);
      for (const step of finding.fix) say(`  ${shellLine(step)}`);
    }
  }
  const broken = findings.filter((finding) => finding.fix.length);
  if (!options.apply) {
    if (broken.length) process.exitCode = 11;
    return;
  }
  let saved: string | undefined;
  if (broken.length) {
    // What --apply deletes is kept: the objects as they were, to re-create any of them with kubectl apply.
    saved = host.real(`/var/lib/rescue-kit/backups/cert-manager-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.json`);
    writeFilesAtomically([{ path: saved, data: text, mode: 0o600 }]);
    say(`saved the objects as they were: ${saved}`);
  }
  const notAfter = (finding: (typeof broken)[number]) => items.find((item) => item.kind === 'Certificate' && item.metadata.name === finding.name && (item.metadata.namespace ?? 'default') === finding.namespace)?.status?.notAfter;
  const fixed: typeof broken = [];
  for (const finding of broken) {
    for (const step of finding.fix) {
      const result = await host.run('kubectl', step, { timeoutMs: 60_000 });
      if (result.exitCode !== 0) {
        recordCertManagerFixes(host, fixed.map((entry) => ({ ...entry, notAfter: notAfter(entry) })), 'ok', saved, say);
        recordCertManagerFixes(host, [{ ...finding, notAfter: notAfter(finding) }], 'failed', saved, say);
        throw new RescueError('FAILED_ROLLED_BACK', `${shellLine(step)} failed: ${result.stderr.trim()}`, { hint: 'nothing to roll back: deleting a failed request and re-triggering are safe to repeat' });
      }
      say(`${shellLine(step).slice(0, 120)}: ${result.stdout.trim()}`);
    }
    fixed.push(finding);
  }
  recordCertManagerFixes(host, fixed.map((entry) => ({ ...entry, notAfter: notAfter(entry) })), 'ok', saved, say);
}
