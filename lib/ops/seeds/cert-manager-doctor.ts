// The doctor's policy for every front end (CLI, wizard): where the objects come
// from (a recorded `kubectl get -o json` or the live cluster), and what --apply
// does (keep the objects as they were, then run each fix step, stop at the
// first failure). Front ends print the findings.
import { RescueError } from '../../errors.js';
import { readText, writeFilesAtomically } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { parseJson } from '../../config/json.js';
import { CertificateFinding, diagnose, K8sResource, shellLine } from './cert-manager.js';
import { recordCertManagerFixes } from '../audit/seeds.js';
import { compactTime } from '../../host/time.js';

export interface CertManagerState {
  /** The objects as read, kept verbatim for the copy --apply saves first. */
  text: string;
  items: K8sResource[];
  findings: CertificateFinding[];
}

export async function readCertManagerState(host: Host, options: { from?: string; namespace?: string }): Promise<CertManagerState> {
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
  return { text, items, findings: diagnose(items, host.now()) };
}

/** The findings that have a fix to run. */
export function fixable(state: CertManagerState): CertificateFinding[] {
  return state.findings.filter((finding) => finding.fix.length);
}

/**
 * Run every fix. What it deletes is kept first (the objects as they were, 0600: re-create any of them with
 * kubectl apply); returns where. Deleting a failed request and re-triggering are safe to repeat.
 */
export async function applyCertManagerFixes(host: Host, state: CertManagerState, log: (line: string) => void): Promise<string | undefined> {
  const broken = fixable(state);
  if (!broken.length) return undefined;
  const saved = host.real(`/var/lib/rescue-kit/backups/cert-manager-${compactTime(host.now())}.json`);
  writeFilesAtomically([{ path: saved, data: state.text, mode: 0o600 }]);
  log(`saved the objects as they were: ${saved}`);
  // The audit trail records each Certificate fixed (and the one whose fix failed), with its expiry.
  const notAfter = (finding: CertificateFinding) => state.items.find((item) => item.kind === 'Certificate' && item.metadata.name === finding.name && (item.metadata.namespace ?? 'default') === finding.namespace)?.status?.notAfter;
  const audited = (findings: CertificateFinding[]) => findings.map((entry) => ({ ...entry, notAfter: notAfter(entry) }));
  const fixed: CertificateFinding[] = [];
  for (const finding of broken) {
    for (const step of finding.fix) {
      const result = await host.run('kubectl', step, { timeoutMs: 60_000 });
      if (result.exitCode !== 0) {
        recordCertManagerFixes(host, audited(fixed), 'ok', saved, log);
        recordCertManagerFixes(host, audited([finding]), 'failed', saved, log);
        throw new RescueError('FAILED_ROLLED_BACK', `${shellLine(step)} failed: ${result.stderr.trim()}`, { hint: 'nothing to roll back: deleting a failed request and re-triggering are safe to repeat' });
      }
      log(`${shellLine(step).slice(0, 120)}: ${result.stdout.trim()}`);
    }
    fixed.push(finding);
  }
  recordCertManagerFixes(host, audited(fixed), 'ok', saved, log);
  return saved;
}
