// Nothing silently skipped (issue 11): on copies of the real expired trees with
// one thing broken at a time, `renew` says what is wrong with each certificate
// it cannot renew, and `renew --all` renews the rest, lists the others with the
// reason, and exits 3 (NOT_ALL_RENEWED) instead of 0.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRoot } from './helpers/env.js';
import { cli, show } from './helpers/renew.js';

const conf = (root: string, name: string) => join(root, 'etc/kubernetes', name);

describe('renew names what is wrong instead of calling it missing', function () {
  this.timeout(60_000);

  it('renew admin.conf when admin.conf has no users section: an error about the file, never "missing on this host"', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const admin = readFileSync(conf(root, 'admin.conf'), 'utf8');
    writeFileSync(conf(root, 'admin.conf'), admin.slice(0, admin.indexOf('users:')));
    const run = await cli(['renew', 'admin.conf', '--dry-run', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(4);
    expect(run.stderr).to.include('/etc/kubernetes/admin.conf: admin.conf: has no user with a client certificate');
    expect(run.stderr).to.not.match(/missing/);
  });
});
