// A real etcd (Debian's etcd 3.4, client-cert auth on loopback) on the certs
// `rescue-kit renew` wrote for a sandbox tree whose leaves had EXPIRED: it
// serves with the renewed server/peer certs, answers the renewed healthcheck
// client cert, and refuses the old, expired one.
import { expect } from 'chai';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/env.js';
import { etcdctlAt, freePort, RunningEtcd, startEtcd } from './helpers/etcd.js';
import { cli, pointManifestsAtEtcd, readCert, sandboxRoot, show } from './helpers/renew.js';

describe('renew etcd-server etcd-peer etcd-healthcheck-client, then a real etcd on the renewed certs', function () {
  this.timeout(90_000);
  let root: string;
  let pki: string;
  let old: string;
  let etcd: RunningEtcd | undefined;
  let clientPort: number;
  let peerPort: number;

  before(async () => {
    root = await sandboxRoot();
    pki = join(root, 'etc/kubernetes/pki');
    clientPort = await freePort();
    do peerPort = await freePort();
    while (peerPort === clientPort);
    pointManifestsAtEtcd(root, `https://127.0.0.1:${clientPort}`);
    old = tempDir('rk-old-etcd-');
    for (const file of ['healthcheck-client.crt', 'healthcheck-client.key', 'server.crt', 'peer.crt']) copyFileSync(join(pki, 'etcd', file), join(old, file));
    for (const file of ['server.crt', 'peer.crt', 'healthcheck-client.crt']) {
      expect(readCert(join(pki, 'etcd', file)).notAfter.getTime(), `sandbox etcd/${file} is expired`).to.be.below(Date.now());
    }
    const run = await cli(['renew', 'etcd-server', 'etcd-peer', 'etcd-healthcheck-client', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', '200d', '--json', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
    const report = JSON.parse(run.stdout) as { plan: { restart: string[]; items: { name: string }[] } };
    expect(report.plan.restart).to.deep.equal(['etcd']);
    expect(report.plan.items.map((item) => item.name)).to.deep.equal(['etcd-server', 'etcd-peer', 'etcd-healthcheck-client']);
    for (const file of ['server.crt', 'peer.crt', 'healthcheck-client.crt']) {
      expect(readFileSync(join(pki, 'etcd', file)).equals(readFileSync(join(old, file))), `etcd/${file} was rewritten`).to.equal(false);
    }
  });

  after(async () => {
    await etcd?.stop();
  });

  it('etcd starts with the renewed server/peer certs and `etcdctl endpoint health` with the renewed healthcheck client cert succeeds (put/get too)', async () => {
    // startEtcd itself waits (bounded) for endpoint health with pki/etcd/healthcheck-client.*: the renewed pair.
    etcd = await startEtcd({ pkiDir: pki, dataDir: join(tempDir('rk-etcd-data-'), 'member'), clientPort, peerPort, timeoutMs: 20_000 });
    const health = await etcd.etcdctl(['--dial-timeout=3s', '--command-timeout=5s', 'endpoint', 'health']);
    expect(health.exitCode, `${health.stdout}\n${health.stderr}`).to.equal(0);
    expect(`${health.stdout}${health.stderr}`).to.include('is healthy');
    const put = await etcd.etcdctl(['put', '/rescue-kit/test', 'renewed']);
    expect(put.exitCode, put.stderr).to.equal(0);
    const get = await etcd.etcdctl(['get', '/rescue-kit/test', '--print-value-only']);
    expect(get.stdout.trim()).to.equal('renewed');
  });

  it('the OLD (expired) healthcheck client cert is refused by the same etcd', async () => {
    expect(etcd, 'etcd is running').to.not.equal(undefined);
    const result = await etcdctlAt(etcd!.clientUrl, join(pki, 'etcd/ca.crt'), join(old, 'healthcheck-client.crt'), join(old, 'healthcheck-client.key'), ['--dial-timeout=2s', '--command-timeout=2s', 'endpoint', 'health'], 20_000);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.not.equal(0);
    expect(`${result.stdout}${result.stderr}`).to.not.include('is healthy');
    // etcd says why: the client cert's validity, not anything else.
    expect(etcd!.log()).to.match(/rejected connection.*certificate has expired/);
  });

  it('the renewed rescue-kit `backup` now snapshots this etcd with the pki client cert (not a temporary one)', async () => {
    const out = join(tempDir('rk-backup-'), 'b.tar.gz');
    const run = await cli(['backup', '--root', root, '--out', out, '--json']);
    expect(run.exitCode, show(run)).to.equal(0);
    const summary = JSON.parse(run.stdout) as { manifest?: { etcd: { method: string; endpoint?: string } }; etcd?: { method: string } };
    const method = summary.manifest?.etcd.method ?? summary.etcd?.method;
    expect(method, run.stdout.slice(0, 2000)).to.equal('snapshot');
    expect(run.stderr).to.not.include('temporary client cert');
  });
});
