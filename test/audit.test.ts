// The audit trail: one JSON line per renewal and per rollback, with who, what and the result.
import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditRecord } from '../lib/ops/audit/audit.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { fixtureRoot, runCli } from './helpers/env.js';

describe('audit log (seed 004)', function () {
  this.timeout(60_000);
  it('records the renewal (old and new serial and expiry, operator behind sudo) and its rollback; 0600, survives the rollback', async () => {
    const root = fixtureRoot('kubeadm-1.11-expired');
    const old = parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt')));
    const renew = await runCli(['renew', 'apiserver', 'admin.conf', '--root', root, '--yes', '--no-etcd-backup'], { env: { SUDO_USER: 'alice' } });
    expect(renew.exitCode, renew.stderr).to.equal(0);
    expect((await runCli(['rollback', '--root', root, '--yes'])).exitCode).to.equal(0);
    const log = join(root, 'var/lib/rescue-kit/audit.log');
    expect(statSync(log).mode & 0o777).to.equal(0o600);
    const [renewal, rollback] = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    expect(renewal!.result).to.equal('ok');
    expect(renewal!.operator).to.match(/^alice \(as /);
    expect(renewal!.certificates.map((entry) => entry.name)).to.deep.equal(['apiserver', 'admin.conf']);
    const apiserver = renewal!.certificates[0]!;
    expect(apiserver.oldNotAfter).to.equal(old.notAfter.toISOString());
    expect(apiserver.oldSerial).to.equal(old.serialHex);
    expect(apiserver.newSerial).to.match(/^[0-7][0-9a-f]{31}$/).and.not.equal(apiserver.oldSerial);
    expect(renewal!.backup).to.match(/pre-renew-.*\.tar\.gz$/);
    expect(rollback!.command).to.equal(`rollback of: ${renewal!.command}`);
    expect(rollback!.runId).to.equal(renewal!.runId);
    expect(JSON.stringify([renewal, rollback])).to.not.include('PRIVATE KEY');
  });
});
