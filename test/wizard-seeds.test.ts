// The wizard's choices for the seeds' tools: the same ops as the commands (ca rotate and cert-manager
// doctor are called directly; webhook and vcluster unattended point to their own commands).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificates } from '../lib/pki/certificate.js';
import { runCli, tempDir } from './helpers/env.js';

const unattended = { env: { CI: 'true' } };

describe('wizard: the seeds\' tools', function () {
  this.timeout(60_000);

  it('ca-rotate: three runs are the three phases: trust (bundle of two, old first), reissue (new first), distrust (one CA)', async () => {
    const root = tempDir();
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -50 }));
    const caFile = join(root, 'etc/kubernetes/pki/ca.crt');
    const old = parseCertificates(readFileSync(caFile))[0]!;
    const wizard = () => runCli(['wizard', '--root', root, '--action', 'ca-rotate', '--restart', 'none', '--yes'], unattended);
    const trust = await wizard();
    expect(trust.exitCode, trust.stderr).to.equal(0);
    expect(trust.stderr).to.include('the next phase here is "trust"');
    expect(trust.stderr).to.not.include('$ rescue-kit');
    expect(parseCertificates(readFileSync(caFile)).map((certificate) => certificate.der.equals(old.der))).to.deep.equal([true, false]);
    const reissue = await wizard();
    expect(reissue.exitCode, reissue.stderr).to.equal(0);
    expect(reissue.stderr).to.include('the next phase here is "reissue"');
    expect(parseCertificates(readFileSync(caFile)).map((certificate) => certificate.der.equals(old.der))).to.deep.equal([false, true]);
    const distrust = await wizard();
    expect(distrust.exitCode, distrust.stderr).to.equal(0);
    expect(distrust.stderr).to.include('the next phase here is "distrust"');
    expect(parseCertificates(readFileSync(caFile))).to.have.length(1);
    expect(parseCertificates(readFileSync(caFile))[0]!.der.equals(old.der)).to.equal(false);
  });

  it('cert-manager-doctor reads the live cluster by default; webhook unattended points to its own command', async () => {
    const webhook = await runCli(['wizard', '--root', tempDir(), '--action', 'webhook'], unattended);
    expect(webhook.exitCode).to.equal(2);
    expect(webhook.stderr).to.include('rescue-kit webhook --help');
    const doctor = await runCli(['wizard', '--root', tempDir(), '--action', 'cert-manager-doctor'], unattended);
    expect(doctor.stderr).to.not.include('$ rescue-kit');
    // No cluster here: the command's own error, with its hint to record the objects elsewhere.
    expect(doctor.exitCode).to.equal(3);
    expect(doctor.stderr).to.include('kubectl get certificate,certificaterequest failed');
    expect(doctor.stderr).to.include('--from');
  });
});

describe('wizard: issue from a CSR template', function () {
  this.timeout(60_000);
  it('replayed from an answers file: signs with the cluster CA found under --root, keys 0600, openssl verifies', async () => {
    const { fixtureRoot } = await import('./helpers/env.js');
    const { writeFileSync, statSync } = await import('node:fs');
    const { execa } = await import('execa');
    const root = fixtureRoot('kubeadm-1.14-expired');
    const out = join(tempDir(), 'issued', 'apiserver');
    const answers = join(tempDir(), 'answers.json');
    writeFileSync(answers, JSON.stringify({ action: 'issue', template: 'kubeadm/apiserver-csr.json', vars: { NODE_NAME: 'master01', NODE_IP: '192.168.0.4' }, profile: 'server', out }));
    const result = await runCli(['wizard', '--root', root, '--answers', answers], unattended);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(statSync(`${out}-key.pem`).mode & 0o777).to.equal(0o600);
    const verify = await execa('openssl', ['verify', '-CAfile', join(root, 'etc/kubernetes/pki/ca.crt'), `${out}.pem`], { reject: false });
    expect(verify.exitCode, String(verify.stderr)).to.equal(0);
    const certificate = parseCertificates(readFileSync(`${out}.pem`))[0]!;
    expect(certificate.sans.dns).to.include('master01');
    expect(certificate.sans.ips).to.include('192.168.0.4');
  });
});
