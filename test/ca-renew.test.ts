// `ca renew`: same key and subject, new validity; leaves signed by the old CA certificate still verify.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { runCli, tempDir } from './helpers/env.js';

const DAY = 86_400_000;

describe('ca renew', function () {
  this.timeout(60_000);
  let root: string;
  const pki = () => join(root, 'etc/kubernetes/pki');

  before(async () => {
    root = tempDir();
    // Leaves still valid for 100 days: the point is that they keep verifying after the CA is renewed.
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
  });

  it('re-issues all three CAs with the same key and subject, and existing leaves still verify (openssl)', async () => {
    const before = Object.fromEntries(['ca', 'front-proxy-ca', 'etcd/ca'].map((name) => [name, parseCertificate(readFileSync(join(pki(), `${name}.crt`)))]));
    const adminBefore = readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8');
    const result = await runCli(['ca', 'renew', '--all', '--root', root, '--validity', '20y', '--yes', '--no-etcd-backup']);
    expect(result.exitCode, result.stderr).to.equal(0);
    for (const [name, old] of Object.entries(before)) {
      const renewed = parseCertificate(readFileSync(join(pki(), `${name}.crt`)));
      expect(renewed.subjectDer.equals(old.subjectDer), name).to.equal(true);
      expect(renewed.spkiDer.equals(old.spkiDer), name).to.equal(true);
      expect(renewed.subjectKeyId?.equals(old.subjectKeyId!), name).to.equal(true);
      expect(renewed.serialHex).to.not.equal(old.serialHex);
      expect(renewed.notAfter.getTime() - Date.now()).to.be.closeTo(20 * 365 * DAY, 120_000);
    }
    for (const [ca, leaf] of [['ca', 'apiserver'], ['front-proxy-ca', 'front-proxy-client'], ['etcd/ca', 'etcd/server']]) {
      const verify = await execa('openssl', ['verify', '-CAfile', join(pki(), `${ca}.crt`), join(pki(), `${leaf}.crt`)], { reject: false });
      expect(verify.exitCode, `${leaf}: ${verify.stderr}${verify.stdout}`).to.equal(0);
    }
    // Kubeconfigs now carry the renewed CA, and only that line changed.
    const adminAfter = readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8');
    const changed = adminBefore.split('\n').filter((line, index) => line !== adminAfter.split('\n')[index]);
    expect(changed).to.have.length(1);
    expect(changed[0]).to.match(/^\s+certificate-authority-data: /);
    expect(adminAfter).to.include(Buffer.from(readFileSync(join(pki(), 'ca.crt'), 'utf8')).toString('base64'));
  });

  it('refuses a CA whose key is absent, naming the file', async () => {
    const other = tempDir();
    writeTree(other, (await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 } })).filter((file) => file.path !== 'etc/kubernetes/pki/front-proxy-ca.key'));
    const result = await runCli(['ca', 'renew', 'front-proxy-ca', '--root', other, '--yes', '--no-etcd-backup']);
    expect(result.exitCode).to.equal(3);
    expect(result.stderr).to.include('front-proxy-ca.key');
  });
});

describe('ca renew: kubeconfigs that carry a client key', function () {
  this.timeout(60_000);
  it('are written 0600 even when they were world-readable (as renew does)', async () => {
    const { fixtureRoot } = await import('./helpers/env.js');
    const { chmodSync, statSync } = await import('node:fs');
    const root = fixtureRoot('kubeadm-1.14-expired');
    const admin = join(root, 'etc/kubernetes/admin.conf');
    // fixtureRoot gives keys a host's 0600; make this one world-readable, as careless hosts have it.
    chmodSync(admin, 0o644);
    expect(statSync(admin).mode & 0o777).to.equal(0o644);
    const result = await runCli(['ca', 'renew', 'ca', '--root', root, '--yes', '--no-etcd-backup']);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(statSync(admin).mode & 0o777).to.equal(0o600);
  });
});
