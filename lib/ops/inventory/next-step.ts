// What `check` tells the operator to run next: always a command that succeeds
// on the tree it looked at. An expired CA whose key is here comes first (leaves
// cannot be renewed from it until it is re-issued with the same key); an
// expired CA whose key is elsewhere is said in words, since no command here
// can fix it; then the renewal of everything else.
import type { CheckReport } from './check.js';

export interface NextStep {
  /** The command to run (copy-paste ready), when there is one. */
  command?: string;
  /** What the command does, or what to do when there is no command. */
  why: string;
}

const BROKEN_CA = ['EXPIRED', 'NOT-YET-VALID'];

export function nextStep(report: CheckReport, where: { path?: string }): NextStep | undefined {
  const all = [...report.authorities, ...report.certificates];
  if (all.every((entry) => entry.status === 'OK')) {
    // Only key modes are wrong: the fix is a chmod, named file by file (real paths under --root).
    const unsafe = report.keyFiles.filter((file) => file.unsafe);
    if (!unsafe.length) return undefined;
    return { command: `chmod 600 ${unsafe.map((file) => file.fix!.replace(/^chmod 600 /, '')).join(' ')}`, why: 'private keys must be readable by their owner only (0600, or 0400)' };
  }
  const scope = [...(report.root !== '/' ? ['--root', report.root] : []), ...(where.path ? ['--path', where.path] : [])].join(' ');
  const command = (words: string) => `rescue-kit ${words}${scope ? ` ${scope}` : ''}`;
  const expiredCas = report.authorities.filter((ca) => BROKEN_CA.includes(ca.status));
  const elsewhere = expiredCas.filter((ca) => ca.externallyManaged);
  if (elsewhere.length) {
    return { why: `the CA ${elsewhere.map((ca) => ca.name).join(', ')} has expired and its key is not on this host: renew it where its key is (rescue-kit ca renew there), copy the renewed certificate here, then run check again` };
  }
  if (expiredCas.length) {
    const names = report.layout === 'kubeadm' ? expiredCas.map((ca) => ca.name).join(' ') : '--all';
    return { command: command(`ca renew ${names}`), why: 'first re-issue the expired CA with its own key (every existing leaf keeps verifying), then check again' };
  }
  // A worker renews its kubelet client cert without its key leaving: a CSR here, signed where the CA key is.
  if (report.node === 'worker') return { command: command('kubelet csr --out node.csr'), why: 'then sign it on a control plane (rescue-kit kubelet sign node.csr) and install the cert here (rescue-kit kubelet install NAME.pem); the key never leaves this node' };
  return { command: command('renew --all'), why: 'renews every certificate it can and names any it cannot (add --dry-run to see the plan first; a backup is taken automatically)' };
}
