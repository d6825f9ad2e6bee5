// vcluster/k0s (seed 001): check understands a pki persisted on the data volume;
// reset backs it up, moves it aside (reversibly) and gives the Secret/pod steps.
import { expect } from 'chai';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeTree } from '../lib/host/tree.js';
import { CheckReport } from '../lib/ops/inventory/check.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { runCli, tempDir } from './helpers/env.js';
import { freePort } from './helpers/etcd.js';
import { startSServer } from './helpers/tls.js';

/** A kubeconfig for https://127.0.0.1:PORT with a CA and a client cert (files beside it). */
function kubeconfigFor(dir: string, port: number, creds: { ca: string; cert: string; key: string }): string {
  const path = join(dir, `kubeconfig-${port}`);
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: vc',
    `clusters: [{name: vc, cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${creds.ca}"}}]`,
    `users: [{name: admin, user: {client-certificate: "${creds.cert}", client-key: "${creds.key}"}}]`,
    'contexts: [{name: vc, context: {cluster: vc, user: admin}}]', '',
  ].join('\n'));
  return path;
}

/** A CA, a serving cert for 127.0.0.1 and a client cert, valid now, made with openssl. */
async function tlsMaterial(dir: string): Promise<Record<'ca' | 'caKey' | 'server' | 'serverKey' | 'client' | 'clientKey', string>> {
  const file = (name: string) => join(dir, name);
  const openssl = async (args: string[]) => {
    const result = await execa('openssl', args, { reject: false });
    expect(result.exitCode, String(result.stderr)).to.equal(0);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=vcluster-test-ca']);
  for (const [who, extensions] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
    writeFileSync(file(`${who}.ext`), extensions);
    await openssl(['req', ...ec, '-keyout', file(`${who}.key`), '-out', file(`${who}.csr`), '-subj', `/CN=${who}`]);
    await openssl(['x509', '-req', '-in', file(`${who}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-out', file(`${who}.crt`), '-extfile', file(`${who}.ext`)]);
  }
  return { ca: file('ca.crt'), caKey: file('ca.key'), server: file('server.crt'), serverKey: file('server.key'), client: file('client.crt'), clientKey: file('client.key') };
}

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

  describe('reset --apply: kubectl must reach the cluster before the pki is moved', () => {
    const reset = (extra: string[], env: Record<string, string> = {}) =>
      runCli(['vcluster', 'reset', '--root', root, '--data', '/data', '--name', 'team-a', '--namespace', 'vc-team-a', '--yes', '--apply', ...extra], { env: { HOME: tempDir('rk-kubectl-home-'), ...env } });
    const pkiUntouched = () => {
      expect(existsSync(join(root, 'data/k0s/pki/ca.crt'))).to.equal(true);
      expect(readdirSync(join(root, 'data/k0s')).filter((name) => name.startsWith('pki.old-'))).to.deep.equal([]);
      expect(existsSync(join(root, 'var/lib/rescue-kit'))).to.equal(false);
    };

    it('a kubeconfig pointing at a closed port (--kubeconfig, or KUBECONFIG): exit 3, nothing moved or backed up, a hint', async () => {
      const tls = await tlsMaterial(tempDir());
      const closed = kubeconfigFor(tempDir(), await freePort(), { ca: tls.ca, cert: tls.client, key: tls.clientKey });
      const env = await reset([], { KUBECONFIG: closed });
      expect(env.exitCode, env.stderr).to.equal(3);
      expect(env.stderr).to.include('kubectl does not reach the cluster').and.include('refused').and.include('nothing was moved');
      expect(env.stderr).to.include('hint: fix the kubeconfig (KUBECONFIG, ~/.kube/config, or pass --kubeconfig FILE)');
      pkiUntouched();
      const flag = await reset(['--kubeconfig', closed]);
      expect(flag.exitCode, flag.stderr).to.equal(3);
      expect(flag.stderr).to.include(`hint: fix the kubeconfig (--kubeconfig ${closed})`);
      pkiUntouched();
    });

    it('an apiserver that refuses the client cert is not "reachable" either; one that accepts it lets the reset go on', async () => {
      const tls = await tlsMaterial(tempDir());
      const other = await tlsMaterial(tempDir());
      // The TLS stand-in demands a client cert from the test CA, as an apiserver does.
      const server = await startSServer(tls.server, tls.serverKey, tls.ca);
      try {
        const strangerCert = kubeconfigFor(tempDir(), server.port, { ca: tls.ca, cert: other.client, key: other.clientKey });
        const refused = await reset(['--kubeconfig', strangerCert]);
        expect(refused.exitCode, refused.stderr).to.equal(3);
        pkiUntouched();

        const good = kubeconfigFor(tempDir(), server.port, { ca: tls.ca, cert: tls.client, key: tls.clientKey });
        const result = await reset(['--kubeconfig', good]);
        expect(result.stderr).to.include('kubectl reaches the cluster');
        expect(existsSync(join(root, 'data/k0s/pki'))).to.equal(false);
        expect(readdirSync(join(root, 'data/k0s')).filter((name) => name.startsWith('pki.old-'))).to.have.length(1);
        // s_server is no apiserver: the first real API call fails, and the tool says the pki was moved and how to undo.
        expect(result.exitCode).to.equal(6);
        expect(result.stderr).to.include(`kubectl --kubeconfig ${good} -n vc-team-a delete secret team-a-certs --ignore-not-found failed`).and.include('the pki was moved, not deleted');
      } finally {
        await server.stop();
      }
    });
  });
});
