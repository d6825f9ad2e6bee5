// The kubelet as real trees bring it: kubelet.conf pointing at
// /var/lib/kubelet/pki/kubelet-client-current.pem that is missing (the real
// kubeadm 1.25 fixture), dangling or damaged — re-minted for the node; and the
// kubelet's own serving cert (kubelet.crt), renewed keeping its SANs. Checked
// with openssl verify, Go crypto/x509 and kubectl against a TLS endpoint that
// demands a client cert from ca.crt.
import { expect } from 'chai';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { generateKey } from '../lib/pki/keys.js';
import { exportPrivateKeyPem } from '../lib/pki/keys.js';
import { classifyHosts } from '../lib/pki/san.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { fixtureRoot, goCheck, tempDir } from './helpers/env.js';
import { cli, namelessKubeletTree, pairMatches, readCert, show } from './helpers/renew.js';
import { kubectlGetRaw, startSServer } from './helpers/tls.js';

const NODE = 'ip-172-31-33-71';
const renewAll = (root: string, ...extra: string[]) => ['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', ...extra, '--root', root];
const current = (root: string) => join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem');

/** What kubelet-client-current.pem points at now (the real file), and that file's bytes. */
function rotatedPem(root: string): { file: string; pem: string } {
  const link = readlinkSync(current(root));
  expect(link, 'an absolute link, as the kubelet writes it').to.match(/^\/var\/lib\/kubelet\/pki\/kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
  const file = join(root, link);
  return { file, pem: readFileSync(file, 'utf8') };
}

async function expectKubeletClientFor(root: string, node: string): Promise<void> {
  const { file, pem } = rotatedPem(root);
  expect((statSync(file).mode & 0o777).toString(8), 'cert + key file').to.equal('600');
  const certificate = readCert(file);
  expect(certificate.subjectText).to.equal(`O=system:nodes, CN=system:node:${node}`);
  expect(certificate.extKeyUsage).to.deep.equal(['client auth']);
  const keyPem = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(pem)?.[0];
  expect(keyPem, 'the file holds the key too').to.be.a('string');
  expect(pairMatches(pem, keyPem!), "the key in the file is the cert's").to.equal(true);
  const ca = join(root, 'etc/kubernetes/pki/ca.crt');
  const openssl = await execa('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslclient', file], { reject: false, all: true });
  expect(openssl.exitCode, String(openssl.all)).to.equal(0);
  const keyFile = join(tempDir('rk-kubelet-key-'), 'key.pem');
  writeFileSync(keyFile, keyPem!, { mode: 0o600 });
  const go = await goCheck(['-roots', ca, '-leaf', file, '-eku', 'client', '-key', keyFile]);
  expect(go.ok, go.error).to.equal(true);
}

describe('kubelet.conf whose client cert is gone (the real kubeadm 1.25 tree, and dangling or damaged links)', function () {
  this.timeout(120_000);

  it('1.25: check says renew --all; renew --all re-mints system:node:NAME into kubelet-client-<time>.pem + the link; check then exits 0; kubectl gets in', async () => {
    const root = fixtureRoot('kubeadm-1.25-expired');
    expect(existsSync(join(root, 'var/lib/kubelet')), 'the fixture has no /var/lib/kubelet').to.equal(false);
    const before = await cli(['check', '--root', root]);
    expect(before.exitCode).to.equal(11);
    expect(before.stdout + before.stderr).to.match(/next: .*renew --all/);
    const plan = await cli([...renewAll(root), '--dry-run']);
    expect(plan.exitCode, show(plan)).to.equal(0);
    expect(plan.stdout).to.match(/kubelet\.conf: re-minted: the old cert was missing \(referenced file is missing\); new client cert for node ip-172-31-33-71/);
    expect(plan.stdout).to.match(/link {3}\/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem -> \/var\/lib\/kubelet\/pki\/kubelet-client-/);
    const backup = await cli(['backup', '--no-etcd', '--root', root]);
    expect(backup.exitCode, show(backup)).to.equal(0);
    const renew = await cli(renewAll(root));
    expect(renew.exitCode, show(renew)).to.equal(0);
    await expectKubeletClientFor(root, NODE);
    const after = await cli(['check', '--root', root]);
    expect(after.exitCode, show(after)).to.equal(0);
    // The kubelet's credentials against an apiserver stand-in that trusts only ca.crt and demands a client cert.
    const pki = join(root, 'etc/kubernetes/pki');
    const server = await startSServer(join(pki, 'apiserver.crt'), join(pki, 'apiserver.key'), join(pki, 'ca.crt'));
    try {
      // kubelet.conf and its link name host paths (absolute): a copy points at the file the link resolves to under --root.
      const kubeconfig = join(tempDir('rk-kubelet-conf-'), 'kubelet.conf');
      writeFileSync(kubeconfig, readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8').replaceAll('/var/lib/kubelet/pki/kubelet-client-current.pem', rotatedPem(root).file));
      const get = await kubectlGetRaw(kubeconfig, server.port);
      expect(get.exitCode, `${get.stderr}\n${server.output()}`).to.equal(0);
    } finally {
      await server.stop();
    }
    // And the re-mint is a normal run: rollback removes what it created.
    const rollback = await cli(['rollback', '--yes', '--root', root]);
    expect(rollback.exitCode, show(rollback)).to.equal(0);
    expect(existsSync(current(root)), 'the link it created is gone again').to.equal(false);
  });

  it('a dangling link (rotation failed half-way) and a damaged pem: re-minted too; an old RSA key gives a new RSA key', async () => {
    const root = fixtureRoot('kubeadm-1.25-expired');
    const dir = join(root, 'var/lib/kubelet/pki');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/var/lib/kubelet/pki/kubelet-client-2023-09-24-06-27-48.pem', current(root));
    const dangling = await cli(renewAll(root));
    expect(dangling.exitCode, show(dangling)).to.equal(0);
    expect(dangling.stdout).to.match(/re-minted: the old cert was missing \(dangling symlink/);
    await expectKubeletClientFor(root, NODE);
    // Now damage the pem the link points at, keeping an RSA key in it: the next re-mint keeps the key type.
    const { file } = rotatedPem(root);
    const rsa = exportPrivateKeyPem(await generateKey({ algo: 'rsa', size: 2048 }));
    writeFileSync(file, `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${rsa}`, { mode: 0o600 });
    const damaged = await cli(renewAll(root));
    expect(damaged.exitCode, show(damaged)).to.equal(0);
    await expectKubeletClientFor(root, NODE);
    expect(readCert(rotatedPem(root).file).key.label).to.equal('RSA 2048');
  });

  it('--node-name overrides; with no name anywhere the re-mint is refused with a clear error and nothing changes', async () => {
    const root = fixtureRoot('kubeadm-1.25-expired');
    const named = await cli(renewAll(root, '--node-name', 'worker-7'));
    expect(named.exitCode, show(named)).to.equal(0);
    await expectKubeletClientFor(root, 'worker-7');

    const nameless = namelessKubeletTree();
    const refused = await cli(['renew', 'kubelet.conf', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', nameless]);
    expect(refused.exitCode, show(refused)).to.equal(2);
    expect(refused.stderr).to.match(/no node name was found/);
    expect(refused.stderr).to.match(/--node-name NAME/);
    expect(existsSync(join(nameless, 'var/lib/kubelet')), 'nothing written').to.equal(false);
  });
});

describe("the kubelet's serving cert (/var/lib/kubelet/pki/kubelet.crt)", function () {
  this.timeout(60_000);

  it('an expired self-signed kubelet.crt is renewed by renew --all keeping its SANs and key; check no longer reports it', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const dir = join(root, 'var/lib/kubelet/pki');
    mkdirSync(dir, { recursive: true });
    const key = await generateKey({ algo: 'rsa', size: 2048 });
    const { certificate } = issueCertificate({
      template: { subject: { CN: 'node-1@1577836800' }, sans: classifyHosts(['node-1', '10.0.0.5']), usages: parseUsages(['signing', 'key encipherment', 'server auth']), isCA: false, durationMs: 365 * 86_400_000 },
      subjectKey: key,
      now: new Date('2020-01-01T00:00:00Z'),
    });
    writeFileSync(join(dir, 'kubelet.crt'), certificate.pem);
    writeFileSync(join(dir, 'kubelet.key'), exportPrivateKeyPem(key), { mode: 0o600 });
    const before = await cli(['check', '--json', '--root', root]);
    const entry = (JSON.parse(before.stdout) as { certificates: { name: string; status: string }[] }).certificates.find((item) => item.name === '/var/lib/kubelet/pki/kubelet.crt');
    expect(entry?.status).to.equal('EXPIRED');
    const renew = await cli(renewAll(root));
    expect(renew.exitCode, show(renew)).to.equal(0);
    const renewed = readCert(join(dir, 'kubelet.crt'));
    expect(renewed.notAfter.getTime()).to.be.greaterThan(Date.now());
    expect(renewed.sans.dns).to.deep.equal(['node-1']);
    expect(renewed.sans.ips).to.deep.equal(['10.0.0.5']);
    expect(renewed.subjectText).to.equal(certificate.subjectText);
    expect(pairMatches(readFileSync(join(dir, 'kubelet.crt')), readFileSync(join(dir, 'kubelet.key')))).to.equal(true);
    const selfSigned = await execa('openssl', ['verify', '-CAfile', join(dir, 'kubelet.crt'), join(dir, 'kubelet.crt')], { reject: false, all: true });
    expect(selfSigned.exitCode, String(selfSigned.all)).to.equal(0);
    const after = await cli(['check', '--root', root]);
    expect(after.exitCode, show(after)).to.equal(0);
    // The only file left untouched in the kubelet dir is the key (kept).
    expect(lstatSync(join(dir, 'kubelet.key')).isFile()).to.equal(true);
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });
});
