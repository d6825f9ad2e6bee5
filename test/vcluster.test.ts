// vcluster/k0s (seed 001): check understands a pki persisted on the data volume;
// reset backs it up, moves it aside (reversibly) and gives the Secret/pod steps.
import { expect } from 'chai';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeTree } from '../lib/host/tree.js';
import { CheckReport } from '../lib/ops/inventory/check.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { runCli, tempDir } from './helpers/env.js';

describe('vcluster / k0s persisted pki (seed 001)', function () {
  this.timeout(60_000);
  let root: string;

  beforeEach(async () => {
    root = tempDir();
    // k0s keeps a kubeadm-like pki (ca, server, etcd/...) under <data>/k0s/pki; vcluster mounts the PV at /data.
    const files = (await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: 10 }))
      .filter((file) => file.path.startsWith('etc/kubernetes/pki/'))
      .map((file) => ({ ...file, path: file.path.replace('etc/kubernetes/pki/', 'data/k0s/pki/') }));
    writeTree(root, files);
  });

  it('check --root detects the k0s layout on the data volume and reports the expired leaves against their CAs', async () => {
    const result = await runCli(['check', '--root', root, '--json']);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.layout).to.equal('k0s');
    expect(result.exitCode).to.equal(11);
    const apiserver = report.certificates.find((entry) => entry.name === '/data/k0s/pki/apiserver.crt')!;
    expect(apiserver.status).to.equal('EXPIRED');
    expect(apiserver.certificateAuthority).to.equal('/data/k0s/pki/ca.crt');
    expect(report.certificates.find((entry) => entry.name === '/data/k0s/pki/etcd/server.crt')!.certificateAuthority).to.equal('/data/k0s/pki/etcd/ca.crt');
    expect(report.authorities.every((entry) => entry.status === 'OK')).to.equal(true);
  });

  it('reset backs up the pki (0600), moves it aside, prints the kubectl steps; restoring the backup puts it back', async () => {
    const before = readdirSync(join(root, 'data/k0s/pki')).sort();
    const result = await runCli(['vcluster', 'reset', '--root', root, '--data', '/data', '--name', 'team-a', '--namespace', 'vc-team-a', '--yes']);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(existsSync(join(root, 'data/k0s/pki'))).to.equal(false);
    const moved = readdirSync(join(root, 'data/k0s')).find((name) => name.startsWith('pki.old-'))!;
    expect(readdirSync(join(root, 'data/k0s', moved)).sort()).to.deep.equal(before);
    expect(result.stderr).to.include('kubectl -n vc-team-a delete secret team-a-certs --ignore-not-found');
    expect(result.stderr).to.include('kubectl -n vc-team-a delete pod team-a-0');
    const backup = /backup: (\S+)/.exec(result.stderr)![1]!;
    expect(statSync(backup).mode & 0o777).to.equal(0o600);
    const verify = await runCli(['backup', 'verify', backup]);
    expect(verify.exitCode, verify.stderr).to.equal(0);
    const restored = await runCli(['restore', backup, '--root', root, '--yes']);
    expect(restored.exitCode, restored.stderr).to.equal(0);
    expect(readdirSync(join(root, 'data/k0s/pki')).sort()).to.deep.equal(before);
  });

  it('--dry-run changes nothing; a data dir without a pki is a clear error', async () => {
    const dry = await runCli(['vcluster', 'reset', '--root', root, '--data', '/data', '--dry-run']);
    expect(dry.exitCode).to.equal(0);
    expect(existsSync(join(root, 'data/k0s/pki/ca.crt'))).to.equal(true);
    const missing = await runCli(['vcluster', 'reset', '--root', root, '--data', '/nowhere', '--yes']);
    expect(missing.exitCode).to.equal(3);
    expect(missing.stderr).to.include('no persisted pki');
  });
});
