// renew --path: a binary install's folder of PEMs (seed 004): each expired leaf re-issued
// from the CA found beside it, keys kept, backed up and rolled back like a kubeadm tree.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../lib/pki/certificate.js';
import { runCli, tempDir } from './helpers/env.js';

describe('renew --path (binary install, seed 004)', function () {
  this.timeout(60_000);

  it('re-issues every leaf of the folder from its CA with its own key, plans the seed-004 restarts, and rolls back byte for byte', async () => {
    const root = tempDir();
    const dir = join(root, 'opt/k8s/ssl');
    expect((await runCli(['ca', 'init', '--csr', 'templates/binary/ca-csr.json', '--out', join(dir, 'ca')])).exitCode).to.equal(0);
    for (const name of ['apiserver', 'etcd-server']) {
      const issued = await runCli(['issue', 'templates/binary/apiserver-csr.json', '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'kubernetes', '--hostname', '10.0.0.1,kubernetes', '--validity', '2d', '--out', join(dir, name)]);
      expect(issued.exitCode, issued.stderr).to.equal(0);
    }
    const before = ['apiserver.pem', 'apiserver-key.pem', 'etcd-server.pem'].map((file) => readFileSync(join(dir, file)));
    const old = parseCertificate(before[0]!);

    const dry = await runCli(['renew', '--root', root, '--path', '/opt/k8s/ssl', '--all', '--dry-run']);
    expect(dry.exitCode, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('Restart order: etcd -> kube-apiserver -> kube-controller-manager -> kube-scheduler');

    const result = await runCli(['renew', '--root', root, '--path', '/opt/k8s/ssl', '--all', '--validity', '1y', '--yes', '--no-etcd-backup']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const renewed = parseCertificate(readFileSync(join(dir, 'apiserver.pem')));
    expect(renewed.subjectDer.equals(old.subjectDer)).to.equal(true);
    expect(renewed.spkiDer.equals(old.spkiDer)).to.equal(true);
    expect(renewed.sans).to.deep.equal(old.sans);
    expect(renewed.notAfter.getTime() - Date.now()).to.be.greaterThan(364 * 86_400_000);
    expect(readFileSync(join(dir, 'apiserver-key.pem')).equals(before[1]!)).to.equal(true);
    const verify = await execa('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'apiserver.pem'), join(dir, 'etcd-server.pem')], { reject: false });
    expect(verify.exitCode, String(verify.stderr)).to.equal(0);
    // The CA itself is not a "leaf to renew".
    expect(result.stderr).to.not.match(/\/opt\/k8s\/ssl\/ca\.pem\s+\/opt/);

    const rollback = await runCli(['rollback', '--root', root, '--yes']);
    expect(rollback.exitCode, rollback.stderr).to.equal(0);
    ['apiserver.pem', 'apiserver-key.pem', 'etcd-server.pem'].forEach((file, index) => expect(readFileSync(join(dir, file)).equals(before[index]!), file).to.equal(true));
  });
});
