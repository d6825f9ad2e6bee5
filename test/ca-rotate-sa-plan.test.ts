// `ca rotate sa`'s plan says the truth about a key pair: no expiry (not "(missing)", not a made-up date),
// in the table and as null in --json; and a phase this node has already done is a no-op (a re-run of a
// playbook stopped by another node), nothing written.
import { expect } from 'chai';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { runCli, tempDir } from './helpers/env.js';
import { fullListing } from './helpers/renew.js';

const rotate = (root: string, phase: string, extra: string[] = []) => runCli(['ca', 'rotate', 'sa', ...extra, '--phase', phase, '--root', root, '--yes', '--no-etcd-backup', '--restart', 'none']);

describe('ca rotate sa: the plan of a key pair, and a phase done twice', function () {
  this.timeout(60_000);
  let root: string;

  before(async () => {
    root = tempDir('rk-rotate-sa-');
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
  });

  it('the sa row of the plan table says "no expiry (key pair)" in both NOT AFTER columns, never "(missing)"', async () => {
    const plan = await rotate(root, 'trust', ['--dry-run']);
    expect(plan.exitCode, plan.stderr).to.equal(0);
    const row = plan.stdout.split('\n').find((line) => /^sa\s/.test(line));
    expect(row, plan.stdout).to.be.a('string');
    expect(row).to.not.include('(missing)');
    expect(row!.match(/no expiry \(key pair\)/g)).to.have.length(2);
  });

  it('--json --dry-run: the sa item\'s notBefore/notAfter are null (no fake date, no empty string)', async () => {
    const plan = await rotate(root, 'trust', ['--dry-run', '--json']);
    expect(plan.exitCode, plan.stderr).to.equal(0);
    const item = JSON.parse(plan.stdout).items.find((entry: { name: string }) => entry.name === 'sa');
    for (const side of ['before', 'after']) {
      expect(item[side].notAfter, side).to.equal(null);
      expect(item[side].notBefore, side).to.equal(null);
    }
  });

  it('trust, then trust again: the second run says it is done already and writes nothing; the Renewed table says no expiry too', async () => {
    const first = await rotate(root, 'trust');
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout.split('\n').find((line) => /^sa\s/.test(line) && !line.includes('(missing)') && line.includes('no expiry (key pair)')), first.stdout).to.be.a('string');
    const before = fullListing(root);
    const again = await rotate(root, 'trust');
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stderr).to.include('phase trust already done on this node: nothing to do');
    expect(fullListing(root)).to.deep.equal(before);
  });
});
