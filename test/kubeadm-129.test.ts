// Kubernetes 1.29+ identities: super-admin.conf (system:masters) and admin.conf in
// kubeadm:cluster-admins — discovered, expected, renewed with their identities kept.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeTree } from '../lib/host/tree.js';
import { CheckReport } from '../lib/ops/inventory/check.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { runCli, tempDir } from './helpers/env.js';

const clientCert = (root: string, file: string) =>
  parseCertificate(Buffer.from(parse(readFileSync(join(root, 'etc/kubernetes', file), 'utf8')).users[0].user['client-certificate-data'], 'base64'));

describe('kubeadm 1.29+ trees', function () {
  this.timeout(60_000);
  it('check expects super-admin.conf; renew --all renews it and keeps both admin identities; the plan has no kubeadm-difference notes', async () => {
    const root = tempDir();
    writeTree(root, await buildSandboxTree({ now: new Date(), minor: 30, key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: 5 }));
    const report = JSON.parse((await runCli(['check', '--root', root, '--json'])).stdout) as CheckReport;
    expect(report.certificates.find((entry) => entry.name === 'super-admin.conf')?.status).to.equal('EXPIRED');
    expect(clientCert(root, 'admin.conf').subjectText).to.equal('O=kubeadm:cluster-admins, CN=kubernetes-admin');
    expect(clientCert(root, 'super-admin.conf').subjectText).to.equal('O=system:masters, CN=kubernetes-super-admin');

    const dry = await runCli(['renew', '--all', '--root', root, '--dry-run']);
    expect(dry.stdout).to.match(/super-admin\.conf\s+ca\s+reuse/);
    expect(dry.stdout).to.not.include('kubeadm today would differ');
    const renew = await runCli(['renew', '--all', '--root', root, '--yes', '--no-etcd-backup']);
    expect(renew.exitCode, renew.stderr).to.equal(0);
    expect(clientCert(root, 'super-admin.conf').subjectText).to.equal('O=system:masters, CN=kubernetes-super-admin');
    expect(clientCert(root, 'admin.conf').subjectText).to.equal('O=kubeadm:cluster-admins, CN=kubernetes-admin');
    expect(clientCert(root, 'super-admin.conf').notAfter.getTime()).to.be.greaterThan(Date.now() + 300 * 86_400_000);
    const after = JSON.parse((await runCli(['check', '--root', root, '--json', '--warn', '1d'])).stdout) as CheckReport;
    expect(after.certificates.every((entry) => entry.status === 'OK'), JSON.stringify(after.summary)).to.equal(true);
  });

  it('a 1.30 tree without super-admin.conf reports it MISSING; a 1.28 tree does not expect it', async () => {
    const root = tempDir();
    writeTree(root, (await buildSandboxTree({ now: new Date(), minor: 30, key: { algo: 'ecdsa', size: 256 } })).filter((file) => file.path !== 'etc/kubernetes/super-admin.conf'));
    const report = JSON.parse((await runCli(['check', '--root', root, '--json'])).stdout) as CheckReport;
    expect(report.certificates.find((entry) => entry.name === 'super-admin.conf')?.status).to.equal('MISSING');
    const old = tempDir();
    writeTree(old, await buildSandboxTree({ now: new Date(), minor: 28, key: { algo: 'ecdsa', size: 256 } }));
    const oldReport = JSON.parse((await runCli(['check', '--root', old, '--json'])).stdout) as CheckReport;
    expect(oldReport.certificates.some((entry) => entry.name === 'super-admin.conf')).to.equal(false);
  });
});
