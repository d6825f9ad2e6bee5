// `check` on the real expired fixtures, compared file by file with openssl,
// and on generated trees for the statuses the fixtures do not show.
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, mkdirSync, readFileSync, readlinkSync, writeFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createHost } from '../lib/host/host.js';
import { writeTree } from '../lib/host/tree.js';
import { checkInventory, checkExitCode, CheckReport } from '../lib/ops/inventory/check.js';
import { discover } from '../lib/ops/inventory/discover.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { cliPath, FIXTURES, fixtureRoot, runCli, runCliAs, tempDir } from './helpers/env.js';

const NOW = new Date('2026-11-25T00:00:00Z');
const DAY = 86_400_000;

async function opensslEndDate(file: string): Promise<Date> {
  const { stdout } = await execa('openssl', ['x509', '-enddate', '-noout', '-in', file]);
  return new Date(stdout.replace('notAfter=', ''));
}

function checkRoot(root: string, now = NOW, warnMs = 30 * DAY): CheckReport {
  return checkInventory(discover(createHost({ root, now: () => now })), { now, warnMs });
}

describe('check', () => {
  for (const fixture of FIXTURES) {
    describe(`on the real ${fixture} tree`, () => {
      let root: string;
      let report: CheckReport;
      before(() => {
        root = fixtureRoot(fixture);
        report = checkRoot(root);
      });

      it('shows every leaf EXPIRED and every CA OK', () => {
        expect(report.certificates.map((entry) => entry.name)).to.include.members([
          'apiserver', 'apiserver-kubelet-client', 'front-proxy-client', 'etcd-server', 'etcd-peer',
          'etcd-healthcheck-client', 'apiserver-etcd-client', 'admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf',
        ]);
        for (const entry of report.certificates) expect(entry.status, entry.name).to.equal('EXPIRED');
        expect(report.authorities.map((entry) => [entry.name, entry.status])).to.deep.equal([
          ['ca', 'OK'], ['front-proxy-ca', 'OK'], ['etcd-ca', 'OK'],
        ]);
        expect(checkExitCode(report)).to.equal(11);
      });

      it('matches openssl x509 -enddate file by file', async () => {
        const files = [...report.certificates, ...report.authorities].filter((entry) => entry.kubeconfig === null);
        expect(files.length).to.equal(10);
        for (const entry of files) {
          const real = join(root, entry.path!);
          expect(new Date(entry.notAfter!).getTime(), entry.name).to.equal((await opensslEndDate(real)).getTime());
        }
      });

      it('includes the kubeconfig-embedded client certs, with the dates openssl reads from them', async () => {
        const dir = tempDir();
        for (const entry of report.certificates.filter((item) => item.kubeconfig)) {
          expect(entry.kubeconfig!.embedded, entry.name).to.equal(true);
          const config = parseYaml(readFileSync(join(root, 'etc/kubernetes', entry.name), 'utf8'));
          const pem = Buffer.from(config.users[0].user['client-certificate-data'], 'base64');
          writeFileSync(join(dir, 'c.pem'), pem);
          expect(new Date(entry.notAfter!).getTime(), entry.name).to.equal((await opensslEndDate(join(dir, 'c.pem'))).getTime());
          expect(entry.kubeconfig!.user).to.equal(config.users[0].name);
        }
      });

      it('the CLI prints the kubeadm-style table and exits 11; --json has the documented fields', async () => {
        const table = await runCli(['check', '--root', root]);
        expect(table.exitCode).to.equal(11);
        expect(table.stdout).to.match(/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+EXTERNALLY MANAGED\s+STATUS/);
        expect(table.stdout).to.match(/apiserver\s+\w{3} \d+, \d{4} \d\d:\d\d UTC\s+<invalid>\s+ca\s+no\s+EXPIRED/);
        const json = await runCli(['check', '--root', root, '--json']);
        const parsed = JSON.parse(json.stdout) as CheckReport;
        expect(parsed.schemaVersion).to.equal(1);
        for (const entry of parsed.certificates) {
          expect(entry).to.have.all.keys('name', 'kind', 'path', 'kubeconfig', 'certificateAuthority', 'externallyManaged', 'subject', 'issuer', 'sans', 'serial', 'serialDecimal', 'notBefore', 'notAfter', 'secondsLeft', 'status', 'problems');
          expect(entry.secondsLeft).to.be.below(0);
        }
        expect(json.stdout).to.not.match(/PRIVATE KEY|client-key-data/);
      });
    });
  }

  describe('statuses on generated trees', () => {
    let root: string;
    before(async () => {
      root = tempDir();
      writeTree(root, await buildSandboxTree({ now: NOW, key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -20 }));
    });

    it('WARN within --warn, OK beyond it, exit codes 10 and 0', () => {
      expect(checkExitCode(checkRoot(root, NOW, 30 * DAY))).to.equal(10);
      const report = checkRoot(root, NOW, 10 * DAY);
      expect(report.certificates.every((entry) => entry.status === 'OK'), JSON.stringify(report.summary)).to.equal(true);
      expect(checkExitCode(report)).to.equal(0);
    });

    it('finds the kubelet client cert through the absolute kubelet-client-current.pem symlink under --root', () => {
      const kubelet = checkRoot(root).certificates.find((entry) => entry.name === 'kubelet.conf')!;
      expect(kubelet.kubeconfig!.embedded).to.equal(false);
      expect(kubelet.path).to.equal('/var/lib/kubelet/pki/kubelet-client-current.pem');
      expect(kubelet.subject).to.equal('O=system:nodes, CN=system:node:demo-master');
    });

    it('MISSING, KEY-MISMATCH, CHAIN-BROKEN, NOT-YET-VALID, EXTERNALLY MANAGED', () => {
      const tree = root;
      const pki = join(tree, 'etc/kubernetes/pki');
      const saved = {
        scheduler: readFileSync(join(tree, 'etc/kubernetes/scheduler.conf')),
        peerKey: readFileSync(join(pki, 'etcd/peer.key')),
        frontProxy: readFileSync(join(pki, 'front-proxy-client.crt')),
        frontProxyKey: readFileSync(join(pki, 'front-proxy-client.key')),
        etcdCaKey: readFileSync(join(pki, 'etcd/ca.key')),
      };
      try {
        rmSync(join(tree, 'etc/kubernetes/scheduler.conf'));
        writeFileSync(join(pki, 'etcd/peer.key'), readFileSync(join(pki, 'etcd/server.key')));
        // A cert+key pair signed by the main CA where the front-proxy CA should have signed.
        writeFileSync(join(pki, 'front-proxy-client.crt'), readFileSync(join(pki, 'apiserver-kubelet-client.crt')));
        writeFileSync(join(pki, 'front-proxy-client.key'), readFileSync(join(pki, 'apiserver-kubelet-client.key')));
        rmSync(join(pki, 'etcd/ca.key'));
        const report = checkRoot(tree);
        const status = (name: string) => report.certificates.find((entry) => entry.name === name)!;
        expect(status('scheduler.conf').status).to.equal('MISSING');
        expect(status('etcd-peer').status).to.equal('KEY-MISMATCH');
        expect(status('front-proxy-client').status).to.equal('CHAIN-BROKEN');
        expect(status('etcd-server').externallyManaged).to.equal(true);
        expect(report.authorities.find((entry) => entry.name === 'etcd-ca')!.externallyManaged).to.equal(true);
        expect(status('apiserver').externallyManaged).to.equal(false);
        const early = checkRoot(tree, new Date(NOW.getTime() - 500 * DAY));
        expect(early.certificates.find((entry) => entry.name === 'apiserver')!.status).to.equal('NOT-YET-VALID');
      } finally {
        writeFileSync(join(tree, 'etc/kubernetes/scheduler.conf'), saved.scheduler);
        writeFileSync(join(pki, 'etcd/peer.key'), saved.peerKey);
        writeFileSync(join(pki, 'front-proxy-client.crt'), saved.frontProxy);
        writeFileSync(join(pki, 'front-proxy-client.key'), saved.frontProxyKey);
        writeFileSync(join(pki, 'etcd/ca.key'), saved.etcdCaKey);
      }
    });

    it('a dangling kubelet symlink and a truncated PEM are reported, not skipped', () => {
      const link = join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem');
      const target = readlinkSync(link); // absolute, as the kubelet writes it: resolve under root
      const apiserver = join(root, 'etc/kubernetes/pki/apiserver.crt');
      const original = readFileSync(apiserver);
      try {
        unlinkSync(link);
        symlinkSync('/var/lib/kubelet/pki/nope.pem', link);
        writeFileSync(apiserver, original.subarray(0, 300));
        const report = checkRoot(root);
        expect(report.certificates.find((entry) => entry.name === 'kubelet.conf')!.status).to.equal('UNREADABLE');
        const api = report.certificates.find((entry) => entry.name === 'apiserver')!;
        expect(api.status).to.equal('UNREADABLE');
        expect(api.problems.join(' ')).to.match(/apiserver\.crt.*(truncated|END)/);
      } finally {
        unlinkSync(link);
        symlinkSync(target, link);
        writeFileSync(apiserver, original);
      }
    });

    it('--prometheus writes x509-certificate-exporter metrics atomically', async () => {
      const out = join(tempDir(), 'textfile', 'rescue-kit.prom');
      const result = await runCli(['check', '--root', root, '--prometheus', out, '--json']);
      expect(result.exitCode).to.equal(10);
      const text = readFileSync(out, 'utf8');
      expect(text).to.include('# TYPE x509_cert_not_after gauge');
      expect(text).to.match(/x509_cert_not_after\{filepath="\/etc\/kubernetes\/pki\/apiserver.crt",subject_CN="kube-apiserver",issuer_CN="kubernetes",serial_number="\d+"\} \d{10}/);
      expect(text).to.match(/x509_cert_expired\{filepath="\/etc\/kubernetes\/admin.conf",subject_CN="kubernetes-admin",issuer_CN="kubernetes",serial_number="\d+",embedded_kind="user",embedded_key="kubernetes-admin"\} 0/);
      const samples = text.split('\n').filter((line) => line.startsWith('x509_cert_not_after{'));
      expect(samples.length).to.equal(14);
    });
  });

  describe('a file that is there but cannot be read is UNREADABLE, never MISSING (issue 11)', () => {
    const pki = (root: string, name: string) => join(root, 'etc/kubernetes/pki', name);
    /** check --json as the CLI prints it, and the entry for one certificate. */
    async function checkEntry(root: string, name: string, env: { uid?: number } = {}) {
      const args = ['check', '--root', root, '--json'];
      // setpriv: root reads any file whatever its mode, so "permission denied" needs an unprivileged process.
      const result = env.uid === undefined ? await runCli(args) : await runCliAs(args, env.uid);
      expect(result.exitCode, String(result.stderr)).to.equal(11);
      const report = JSON.parse(String(result.stdout)) as CheckReport;
      return [...report.certificates, ...report.authorities].find((entry) => entry.name === name)!;
    }

    it('apiserver.crt that is a directory: UNREADABLE, "is a directory"', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      rmSync(pki(root, 'apiserver.crt'));
      mkdirSync(pki(root, 'apiserver.crt'));
      const entry = await checkEntry(root, 'apiserver');
      expect(entry.status).to.equal('UNREADABLE');
      expect(entry.path).to.equal('/etc/kubernetes/pki/apiserver.crt');
      expect(entry.problems.join('; ')).to.match(/apiserver\.crt: is a directory/);
    });

    it('apiserver.crt that is a dangling symlink: UNREADABLE, "dangling symlink -> TARGET"', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      rmSync(pki(root, 'apiserver.crt'));
      symlinkSync('/etc/kubernetes/pki/apiserver-2020.crt', pki(root, 'apiserver.crt'));
      const entry = await checkEntry(root, 'apiserver');
      expect(entry.status).to.equal('UNREADABLE');
      expect(entry.problems.join('; ')).to.include('apiserver.crt: dangling symlink -> /etc/kubernetes/pki/apiserver-2020.crt');
    });

    it('apiserver.crt that its reader may not read: UNREADABLE, "permission denied"', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      chmodSync(root, 0o755); // the temp dir is 0700: let the unprivileged check reach the tree
      chmodSync(pki(root, 'apiserver.crt'), 0o000);
      const entry = await checkEntry(root, 'apiserver', { uid: 65534 });
      expect(entry.status).to.equal('UNREADABLE');
      expect(entry.problems.join('; ')).to.match(/apiserver\.crt: permission denied/);
    });

    it('keys too: a directory, a dangling symlink and an empty file are UNREADABLE keys, not missing ones', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      rmSync(pki(root, 'apiserver.key'));
      mkdirSync(pki(root, 'apiserver.key'));
      rmSync(pki(root, 'front-proxy-client.key'));
      symlinkSync('front-proxy-client-old.key', pki(root, 'front-proxy-client.key'));
      writeFileSync(pki(root, 'etcd/peer.key'), '');
      const problems = async (name: string) => {
        const entry = await checkEntry(root, name);
        expect(entry.status, name).to.equal('UNREADABLE');
        return entry.problems.join('; ');
      };
      expect(await problems('apiserver')).to.match(/cannot read key \/etc\/kubernetes\/pki\/apiserver\.key: is a directory/);
      expect(await problems('front-proxy-client')).to.include('front-proxy-client.key: dangling symlink -> front-proxy-client-old.key');
      expect(await problems('etcd-peer')).to.match(/etcd\/peer\.key: the file is empty/);
    });

    it('a kubeconfig with no users section, or whose current user has no client certificate: UNREADABLE "has no user with a client certificate"', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      const conf = (name: string) => join(root, 'etc/kubernetes', name);
      const admin = readFileSync(conf('admin.conf'), 'utf8');
      writeFileSync(conf('admin.conf'), admin.slice(0, admin.indexOf('users:')));
      const scheduler = readFileSync(conf('scheduler.conf'), 'utf8');
      writeFileSync(conf('scheduler.conf'), `${scheduler.slice(0, scheduler.indexOf('users:'))}users:\n- name: system:kube-scheduler\n  user:\n    token: abc\n`);
      for (const name of ['admin.conf', 'scheduler.conf']) {
        const entry = await checkEntry(root, name);
        expect(entry.status, name).to.equal('UNREADABLE');
        expect(entry.path, name).to.equal(`/etc/kubernetes/${name}`);
        expect(entry.problems.join('; '), name).to.include(`/etc/kubernetes/${name}: has no user with a client certificate`);
        expect(entry.problems.join('; '), name).to.not.match(/missing/);
      }
      expect((await checkEntry(root, 'scheduler.conf')).kubeconfig!.user).to.equal('system:kube-scheduler');
    });
  });

  it('--path scans a folder of PEMs (a binary-install cluster) and matches CAs by signature', async () => {
    const root = tempDir();
    const dir = join(root, 'opt/k8s/ssl');
    const ca = await runCli(['ca', 'init', '--csr', 'templates/binary/ca-csr.json', '--out', join(dir, 'ca')]);
    expect(ca.exitCode, ca.stderr).to.equal(0);
    const leaf = await runCli(['issue', 'templates/binary/apiserver-csr.json', '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'kubernetes', '--hostname', '10.0.0.1,kubernetes', '--validity', '10d', '--out', join(dir, 'apiserver')]);
    expect(leaf.exitCode, leaf.stderr).to.equal(0);
    const result = await runCli(['check', '--root', root, '--path', '/opt/k8s/ssl', '--json']);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.layout).to.equal('folder');
    expect(report.authorities.map((entry) => entry.name)).to.deep.equal(['/opt/k8s/ssl/ca.pem']);
    const apiserver = report.certificates.find((entry) => entry.name === '/opt/k8s/ssl/apiserver.pem')!;
    expect(apiserver.certificateAuthority).to.equal('/opt/k8s/ssl/ca.pem');
    expect(apiserver.status).to.equal('WARN');
    expect(result.exitCode).to.equal(10);
  });
});
