// A real "Kubernetes the hard way" install (cfssl-made, seed 004's layout: one
// folder of X.pem / X-key.pem and seven *.kubeconfig files that embed the CA,
// the client cert and key), whose CA itself expired in 2025. The operator only
// follows `check`'s "next:" line, literally, until check exits 0; then every
// leaf and every kubeconfig must verify against the renewed CA (same key) with
// openssl, Go crypto/x509 and kubectl over mTLS.
import { expect } from 'chai';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { fixtureRoot, fixturesRoot, goCheck, hostKeyModes, tempDir } from './helpers/env.js';
import { cli, kubectlCredentials, pairMatches, readCert, Run, show } from './helpers/renew.js';
import { kubectlGetRaw, startSServer } from './helpers/tls.js';

const FOLDER = '/pki';
const unattended = ['--yes', '--restart', 'none', '--no-etcd-backup'];

function hardwayRoot(): string {
  const root = tempDir('rk-hardway-');
  cpSync(join(fixturesRoot, 'hardway-1.19-expired'), join(root, 'pki'), { recursive: true });
  hostKeyModes(join(root, 'pki'));
  return root;
}

/** The command `check` printed after "next: ", as argv (rescue-kit itself dropped). */
function nextCommand(run: Run): string[] | undefined {
  const line = /^next: rescue-kit (.+)$/m.exec(run.stdout + run.stderr)?.[1];
  return line?.split(' ');
}

describe('the hard way (binary install, cfssl-made, CA expired): follow check\'s next step until everything is OK', function () {
  this.timeout(120_000);
  let root: string;
  let pki: string;
  const followed: string[] = [];

  before(async () => {
    root = hardwayRoot();
    pki = join(root, 'pki');
    const original = readCert(join(pki, 'ca.pem'));
    expect(original.notAfter.getTime(), 'the fixture CA has expired').to.be.lessThan(Date.now());
    for (let round = 0; round < 4; round++) {
      const check = await cli(['check', '--path', FOLDER, '--root', root]);
      if (check.exitCode === 0) break;
      const next = nextCommand(check);
      expect(next, `check names a command to run:\n${show(check)}`).to.not.equal(undefined);
      followed.push(next!.join(' '));
      const run = await cli([...next!, ...unattended]);
      expect(run.exitCode, `the next step "${next!.join(' ')}" succeeds:\n${show(run)}`).to.equal(0);
    }
    // (the steps are asserted, and shown, in the first test)
  });

  it('check led through ca renew --path, then renew --path --all, and now exits 0', async () => {
    expect(followed, followed.join(' -> ')).to.have.length(2);
    expect(followed[0]).to.match(/^ca renew --all --root .* --path \/pki$/);
    expect(followed[1]).to.match(/^renew --all --root .* --path \/pki$/);
    const check = await cli(['check', '--path', FOLDER, '--root', root, '--json']);
    expect(check.exitCode, show(check)).to.equal(0);
    const report = JSON.parse(check.stdout) as { certificates: { name: string; kind: string; status: string }[] };
    // Each step took its own backup first (the folder included), and each one verifies.
    const backups = readdirSync(join(root, 'var/lib/rescue-kit/backups'));
    expect(backups).to.have.length(2);
    for (const archive of backups) {
      const verify = await cli(['backup', 'verify', '--json', join(root, 'var/lib/rescue-kit/backups', archive)]);
      expect(verify.exitCode, show(verify)).to.equal(0);
      expect((JSON.parse(verify.stdout) as { files: number }).files, 'the folder is in it').to.be.greaterThan(30);
    }
    expect(report.certificates.filter((entry) => entry.kind === 'kubeconfig').map((entry) => entry.name).sort()).to.deep.equal(readdirSync(pki).filter((name) => name.endsWith('.kubeconfig')).map((name) => `${FOLDER}/${name}`).sort());
  });

  it('the CA was re-issued with the same key (subject, SKI kept), so it still signs what it signed', async () => {
    const fixtureCa = readCert(join(fixturesRoot, 'hardway-1.19-expired', 'ca.pem'));
    const renewed = readCert(join(pki, 'ca.pem'));
    expect(renewed.subjectDer.equals(fixtureCa.subjectDer)).to.equal(true);
    expect(renewed.publicKey.export({ type: 'spki', format: 'der' }).equals(fixtureCa.publicKey.export({ type: 'spki', format: 'der' }))).to.equal(true);
    expect(renewed.notAfter.getTime()).to.be.greaterThan(Date.now() + 9 * 365 * 86_400_000);
  });

  it('every leaf verifies against the renewed CA with openssl and Go, keeps its subject and SANs, and matches its key', async () => {
    const leaves = readdirSync(pki).filter((name) => name.endsWith('.pem') && !name.endsWith('-key.pem') && name !== 'ca.pem');
    expect(leaves).to.have.length(9);
    for (const leaf of leaves) {
      const file = join(pki, leaf);
      const openssl = await execa('openssl', ['verify', '-CAfile', join(pki, 'ca.pem'), file], { reject: false, all: true });
      expect(openssl.exitCode, `${leaf}: ${openssl.all}`).to.equal(0);
      const go = await goCheck(['-roots', join(pki, 'ca.pem'), '-leaf', file, '-key', join(pki, leaf.replace(/\.pem$/, '-key.pem'))]);
      expect(go.ok, `${leaf}: ${go.error}`).to.equal(true);
      const before = readCert(join(fixturesRoot, 'hardway-1.19-expired', leaf));
      const after = readCert(file);
      expect(after.subjectDer.equals(before.subjectDer), `${leaf} subject`).to.equal(true);
      expect([...after.sans.dns, ...after.sans.ips], `${leaf} SANs`).to.deep.equal([...before.sans.dns, ...before.sans.ips]);
    }
  });

  it('every kubeconfig carries the renewed CA and a renewed client cert that kubectl uses against the apiserver stand-in', async () => {
    const server = await startSServer(join(pki, 'kubernetes.pem'), join(pki, 'kubernetes-key.pem'), join(pki, 'ca.pem'));
    const kubeconfigs = readdirSync(pki).filter((name) => name.endsWith('.kubeconfig'));
    expect(kubeconfigs).to.have.length(7);
    const scratch = tempDir('rk-hardway-kc-');
    try {
      for (const name of kubeconfigs) {
        const file = join(pki, name);
        const credentials = await kubectlCredentials(file);
        expect(pairMatches(credentials.certPem, credentials.keyPem), `${name}: embedded key matches embedded cert`).to.equal(true);
        const caData = /certificate-authority-data: (\S+)/.exec(readFileSync(file, 'utf8'))![1]!;
        expect(Buffer.from(caData, 'base64').toString(), `${name}: CA data is the renewed CA`).to.equal(readFileSync(join(pki, 'ca.pem'), 'utf8'));
        writeFileSync(join(scratch, `${name}.crt`), credentials.certPem);
        const openssl = await execa('openssl', ['verify', '-CAfile', join(pki, 'ca.pem'), join(scratch, `${name}.crt`)], { reject: false, all: true });
        expect(openssl.exitCode, `${name}: ${openssl.all}`).to.equal(0);
        // The apiserver stand-in's cert names kubernetes.default (the hard way's SANs), so that is the server name.
        const get = await kubectlGetRaw(file, server.port, 'kubernetes.default');
        expect(get.exitCode, `${name}: ${get.stderr}\n${server.output()}`).to.equal(0);
      }
    } finally {
      await server.stop();
    }
  });

  it('the same kubeconfig with the old (expired) client cert is refused by that endpoint: the renewal is what lets it in', async () => {
    const server = await startSServer(join(pki, 'kubernetes.pem'), join(pki, 'kubernetes-key.pem'), join(pki, 'ca.pem'));
    try {
      const oldCert = /client-certificate-data: (\S+)/.exec(readFileSync(join(fixturesRoot, 'hardway-1.19-expired', 'admin.kubeconfig'), 'utf8'))![1]!;
      const renewed = readFileSync(join(pki, 'admin.kubeconfig'), 'utf8');
      const withOldCert = join(tempDir('rk-hardway-old-'), 'admin.kubeconfig');
      writeFileSync(withOldCert, renewed.replace(/client-certificate-data: \S+/, `client-certificate-data: ${oldCert}`));
      const get = await kubectlGetRaw(withOldCert, server.port, 'kubernetes.default');
      expect(get.exitCode, 'an expired client cert is refused').to.not.equal(0);
      expect(server.output()).to.match(/certificate has expired|certificate verify failed/);
    } finally {
      await server.stop();
    }
  });
});

describe("check's next step always succeeds: followed literally on every real kubeadm tree until check exits 0", function () {
  this.timeout(120_000);
  for (const fixture of ['kubeadm-1.11-expired', 'kubeadm-1.14-expired', 'kubeadm-1.25-expired'] as const) {
    it(fixture, async () => {
      const root = fixtureRoot(fixture);
      const followed: string[] = [];
      for (let round = 0; round < 4; round++) {
        const check = await cli(['check', '--root', root]);
        if (check.exitCode === 0) break;
        const next = nextCommand(check);
        expect(next, `check names a command:\n${show(check)}`).to.not.equal(undefined);
        followed.push(next!.join(' '));
        const run = await cli([...next!, ...unattended]);
        expect(run.exitCode, `"${next!.join(' ')}" succeeds:\n${show(run)}`).to.equal(0);
      }
      expect(followed, followed.join(' -> ')).to.deep.equal([`renew --all --root ${root}`]);
      expect((await cli(['check', '--root', root])).exitCode).to.equal(0);
    });
  }
});
