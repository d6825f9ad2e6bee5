// One run policy, every front end (issue 12): the CLI and the wizard refuse an
// interrupted or busy tree with the same error, choose the same run to roll
// back, and roll it back under the same lock — because both call ops/renewal/runs.ts.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRoot } from './helpers/env.js';
import { cli, listing, show } from './helpers/renew.js';

const unattended = { CI: 'true' };
/** The error lines (error: + hint:) of a run, which both front ends must print alike. */
const errorLines = (stderr: string) => stderr.split('\n').filter((line) => /^(error|  hint):/.test(line)).join('\n');

async function interruptedTree(): Promise<{ root: string; original: Record<string, string> }> {
  const root = fixtureRoot('kubeadm-1.14-expired');
  const original = listing(root);
  // Killed after three of the run's renames: the tree is half-changed.
  const crash = await cli(['renew', '--all', '--yes', '--root', root, '--restart', 'none', '--no-etcd-backup'], { RESCUE_KIT_FAILPOINT: 'commit:2' });
  expect(crash.signal, show(crash)).to.equal('SIGKILL');
  return { root, original };
}

describe('one run policy for the CLI and the wizard', function () {
  this.timeout(120_000);

  it('an interrupted run: renew, ca renew and ca rotate are refused with the same error by both front ends', async () => {
    const { root } = await interruptedTree();
    const before = listing(root);
    const fromCli = await cli(['renew', '--all', '--yes', '--root', root, '--restart', 'none'], unattended);
    const expected = errorLines(fromCli.stderr);
    expect(expected).to.match(/^error: run \S+ \(renew --all\) was interrupted in phase "committing"$/m);
    expect(expected).to.include('rescue-kit rollback --root');
    for (const action of ['renew-expiring', 'ca-renew', 'ca-rotate']) {
      const fromWizard = await cli(['wizard', '--root', root, '--action', action, '--restart', 'none', '--yes'], unattended);
      expect(fromWizard.exitCode, `${action}: ${show(fromWizard)}`).to.equal(fromCli.exitCode);
      expect(errorLines(fromWizard.stderr), action).to.equal(expected);
    }
    expect(listing(root), 'a refusal changes nothing').to.deep.equal(before);
  });

  it('the wizard rolls back the run the CLI would choose (the interrupted one), byte for byte', async () => {
    const { root, original } = await interruptedTree();
    const dryRun = await cli(['rollback', '--dry-run', '--root', root], unattended);
    const chosen = /roll back run (\S+)/.exec(dryRun.stderr)?.[1];
    expect(chosen, show(dryRun)).to.be.a('string');
    const wizard = await cli(['wizard', '--root', root, '--action', 'rollback', '--yes'], unattended);
    expect(wizard.exitCode, show(wizard)).to.equal(0);
    expect(wizard.stderr).to.include(`as before run ${chosen}`);
    expect(listing(root)).to.deep.equal(original);
    // Renewing works again afterwards: the run is closed, not left interrupted.
    const renew = await cli(['renew', '--all', '--dry-run', '--root', root], unattended);
    expect(renew.exitCode, show(renew)).to.equal(0);
  });

  it('a live run holding the lock: rollback is refused as "in progress" by both, nothing restored', async () => {
    const { root } = await interruptedTree();
    const before = listing(root);
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      mkdirSync(join(root, 'var/lib/rescue-kit'), { recursive: true });
      writeFileSync(join(root, 'var/lib/rescue-kit/lock'), String(holder.pid));
      const fromCli = await cli(['rollback', '--yes', '--root', root], unattended);
      const fromWizard = await cli(['wizard', '--root', root, '--action', 'rollback', '--yes'], unattended);
      expect(fromCli.exitCode, show(fromCli)).to.equal(3);
      expect(fromWizard.exitCode, show(fromWizard)).to.equal(3);
      expect(errorLines(fromCli.stderr)).to.match(new RegExp(`another rescue-kit run \\(pid ${holder.pid}\\) is in progress`));
      expect(errorLines(fromWizard.stderr)).to.equal(errorLines(fromCli.stderr));
      expect(listing(root)).to.deep.equal(before);
    } finally {
      holder.kill();
    }
  });
});
