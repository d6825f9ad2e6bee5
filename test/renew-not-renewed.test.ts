// Nothing silently skipped (issue 11): on copies of the real expired trees with
// one thing broken at a time, `renew` says what is wrong with each certificate
// it cannot renew, and `renew --all` renews the rest, lists the others with the
// reason, and exits 3 (NOT_ALL_RENEWED) instead of 0.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { fixtureRoot } from './helpers/env.js';
import { cli, fullListing, show } from './helpers/renew.js';

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

describe('renew without --new-key says what is wrong with the private key', function () {
  this.timeout(60_000);
  const keyFile = (root: string) => join(root, 'etc/kubernetes/pki/apiserver.key');
  const damage: Record<string, { reason: RegExp; make: (root: string) => Promise<void> }> = {
    empty: { reason: /the file is empty/, make: async (root) => writeFileSync(keyFile(root), '') },
    truncated: { reason: /damaged or truncated/, make: async (root) => writeFileSync(keyFile(root), readFileSync(keyFile(root)).subarray(0, 600)) },
    encrypted: {
      reason: /the private key is encrypted/,
      make: async (root) => {
        const { stdout } = await execa('openssl', ['pkey', '-in', keyFile(root), '-aes256', '-passout', 'pass:secret']);
        writeFileSync(keyFile(root), `${stdout}\n`);
        expect(readFileSync(keyFile(root), 'utf8')).to.include('BEGIN ENCRYPTED PRIVATE KEY');
      },
    },
  };

  for (const [kind, { reason, make }] of Object.entries(damage)) {
    it(`apiserver.key ${kind}: exit 4 naming the key file and why, with the hint to restore it or use --new-key; nothing written`, async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      await make(root);
      const before = fullListing(root);
      const run = await cli(['renew', 'apiserver', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root]);
      expect(run.exitCode, show(run)).to.equal(4);
      expect(run.stderr).to.include('error: /etc/kubernetes/pki/apiserver.key: apiserver: its private key cannot be used:');
      expect(run.stderr).to.match(reason);
      expect(run.stderr).to.match(/hint: restore the key from a backup \(rescue-kit restore\), or renew with --new-key/);
      expect(run.stderr).to.not.include('is missing');
      expect(fullListing(root)).to.deep.equal(before);
    });
  }

  it('a missing apiserver.key: "missing" with its path; and the hint works: --new-key plans a new key at that path', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    rmSync(keyFile(root));
    const reuse = await cli(['renew', 'apiserver', '--dry-run', '--root', root]);
    expect(reuse.exitCode, show(reuse)).to.equal(3);
    expect(reuse.stderr).to.include('error: /etc/kubernetes/pki/apiserver.key: apiserver: its private key is missing');
    expect(reuse.stderr).to.include('--new-key');
    const fresh = await cli(['renew', 'apiserver', '--new-key', '--dry-run', '--json', '--root', root]);
    expect(fresh.exitCode, show(fresh)).to.equal(0);
    const plan = JSON.parse(fresh.stdout) as { items: { name: string; keyAction: string }[]; changes: { hostPath: string; holdsPrivateKey: boolean; mode: number }[] };
    expect(plan.items.map((item) => [item.name, item.keyAction])).to.deep.equal([['apiserver', 'new']]);
    expect(plan.changes.map((change) => [change.hostPath, change.holdsPrivateKey, change.mode])).to.deep.equal([
      ['/etc/kubernetes/pki/apiserver.crt', false, 0o644],
      ['/etc/kubernetes/pki/apiserver.key', true, 0o600],
    ]);
  });
});
