// `rollback --to BACKUP`: any backup archive puts the tree back byte for byte (after saving the current state).
import { expect } from 'chai';
import { join } from 'node:path';
import { fixtureRoot, runCli, tempDir } from './helpers/env.js';
import { treeListing } from './helpers/tree.js';


describe('rollback --to BACKUP', function () {
  this.timeout(60_000);
  it('restores a hand-taken backup after a renewal, byte for byte and mode for mode, keeping the renewed state in a pre-restore backup', async () => {
    const root = fixtureRoot('kubeadm-1.11-expired');
    const before = treeListing(join(root, 'etc/kubernetes'));
    const archive = join(tempDir(), 'before.tar.gz');
    expect((await runCli(['backup', '--root', root, '--no-etcd', '--out', archive])).exitCode).to.equal(0);
    expect((await runCli(['renew', '--all', '--yes', '--no-etcd-backup', '--root', root])).exitCode).to.equal(0);
    expect(treeListing(join(root, 'etc/kubernetes'))).to.not.deep.equal(before);
    const result = await runCli(['rollback', '--root', root, '--to', archive, '--yes']);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(treeListing(join(root, 'etc/kubernetes'))).to.deep.equal(before);
    expect(result.stderr).to.match(/current state saved: .*pre-restore\.tar\.gz/);
  });
});
