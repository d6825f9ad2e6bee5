// Re-issue every leaf of two REAL expired kubeadm trees (../shared/fixtures,
// always through a temp copy) with its own key, from its own CA, at a fixed
// `now`; openssl, Go and our own comparison must all accept the result.
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { caSpec, LEAF_CERTIFICATES, LeafSpec } from '../lib/catalogue/kubeadm.js';
import {
  Certificate,
  identityDifferences,
  isIssuedBy,
  issueCertificate,
  keyMatchesCertificate,
  parseCertificate,
  parsePrivateKey,
  renewalTemplate,
  validityAt,
  verifyChain,
} from '../lib/index.js';
import { copyFixture, FIXTURES, goCheck, opensslVerify, runCli } from './helpers/env.js';

const NOW = new Date('2026-11-25T00:00:00Z');
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
/** A moment inside every re-issued certificate's validity (and inside the CAs'). */
const CHECK_AT = new Date(NOW.getTime() + 30 * DAY_MS);
const opensslAt = ['-attime', String(Math.floor(CHECK_AT.getTime() / 1000))];
const goAt = ['-at', CHECK_AT.toISOString().replace(/\.\d{3}Z$/, 'Z')];

/** A temp copy of a fixture with write bits restored (shared/ is read-only). */
async function writableCopy(name: (typeof FIXTURES)[number]): Promise<string> {
  const root = copyFixture(name);
  await execa('chmod', ['-R', 'u+w', root]);
  return join(root, 'etc-kubernetes');
}

const readCert = (path: string): Certificate => parseCertificate(readFileSync(path, 'utf8'));
const readKey = (path: string) => parsePrivateKey(readFileSync(path, 'utf8'));

function reissue(old: Certificate, subjectKey: ReturnType<typeof readKey>, ca: Certificate, caKey: ReturnType<typeof readKey>) {
  return issueCertificate({
    template: renewalTemplate(old, { durationMs: YEAR_MS }),
    subjectKey,
    issuer: { certificate: ca, key: caKey },
    now: NOW,
  });
}

/** Go's ExtKeyUsage numbers for the EKUs kubeadm uses. */
const GO_EKU: Record<string, number> = { 'server auth': 1, 'client auth': 2 };

const ekusOf = (leaf: LeafSpec) => [
  ...(leaf.usages.includes('server auth') ? (['server'] as const) : []),
  ...(leaf.usages.includes('client auth') ? (['client'] as const) : []),
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** "notAfter=Sep  6 10:41:54 2019 GMT" -> Date. */
function parseOpensslDate(line: string): Date {
  const match = /^notAfter=(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) GMT$/.exec(line.trim());
  if (!match) throw new Error(`unexpected openssl date line: ${line}`);
  const [, month, day, hh, mm, ss, year] = match;
  return new Date(Date.UTC(Number(year), MONTHS.indexOf(month!), Number(day), Number(hh), Number(mm), Number(ss)));
}

for (const fixture of FIXTURES) {
  describe(`re-issue the real expired tree ${fixture}`, function () {
    this.timeout(60_000);
    let etc: string;
    let pki: string;

    before(async () => {
      etc = await writableCopy(fixture);
      pki = join(etc, 'pki');
    });

    for (const leaf of LEAF_CERTIFICATES) {
      it(`${leaf.name} (${leaf.baseName}.crt from ${caSpec(leaf.ca).baseName}.crt): same identity and key, new serial, one year from now; openssl and Go accept it`, async () => {
        const crtPath = join(pki, `${leaf.baseName}.crt`);
        const keyPath = join(pki, `${leaf.baseName}.key`);
        const caPath = join(pki, `${caSpec(leaf.ca).baseName}.crt`);
        const old = readCert(crtPath);
        const key = readKey(keyPath);
        const ca = readCert(caPath);
        const caKey = readKey(join(pki, `${caSpec(leaf.ca).baseName}.key`));

        expect(validityAt(old, NOW), 'the fixture leaf is expired').to.equal('expired');
        expect(validityAt(ca, NOW), 'its CA is still valid').to.equal('valid');
        expect(keyMatchesCertificate(key, old), 'the fixture key belongs to the fixture cert').to.equal(true);
        expect(isIssuedBy(old, ca), 'the fixture cert was signed by this CA').to.equal(true);
        expect(old.extKeyUsage).to.have.members(leaf.usages.filter((usage) => usage.endsWith(' auth')));

        const { certificate: renewed, warnings } = reissue(old, key, ca, caKey);
        expect(warnings).to.deep.equal([]);
        chmodSync(crtPath, 0o644);
        writeFileSync(crtPath, renewed.pem);
        const written = readCert(crtPath);
        expect(written.der.equals(renewed.der)).to.equal(true);

        // openssl, at a time inside the new validity, against this leaf's own CA file only.
        const [ok, output] = await opensslVerify(caPath, crtPath, opensslAt);
        expect(ok, output).to.equal(true);
        // The old certificate, at the same time, does not verify (expired): the check can fail.
        const oldPath = join(pki, `${leaf.baseName}.old.crt`);
        writeFileSync(oldPath, old.pem);
        const [oldOk, oldOutput] = await opensslVerify(caPath, oldPath, opensslAt);
        expect(oldOk).to.equal(false);
        expect(oldOutput).to.match(/certificate has expired/);

        // Go's crypto/x509 (as Kubernetes and etcd use it), with the existing key.
        for (const eku of ekusOf(leaf)) {
          const hostArgs = [
            ...(old.sans.dns[0] ? ['-dns', old.sans.dns[0]] : []),
            ...(old.sans.ips[0] ? ['-ip', old.sans.ips[0]] : []),
          ];
          const go = await goCheck(['-roots', caPath, '-leaf', crtPath, '-key', keyPath, '-eku', eku, ...goAt, ...hostArgs]);
          expect(go.error, `${eku}: ${go.error}`).to.equal(undefined);
          expect(go.ok, eku).to.equal(true);
          expect(go.serial).to.equal(renewed.serialDecimal);
          expect(go.eku).to.deep.equal(old.extKeyUsage.map((name) => GO_EKU[name]));
          expect(go.dns).to.deep.equal(old.sans.dns);
        }
        if (!leaf.usages.includes('server auth')) {
          const go = await goCheck(['-roots', caPath, '-leaf', crtPath, '-eku', 'server', ...goAt]);
          expect(go.ok, 'a client cert is not accepted for server auth').to.equal(false);
        }

        // Same identity, same key; new serial; not-after exactly one year from `now`.
        expect(identityDifferences(old, renewed)).to.deep.equal([]);
        expect(renewed.subjectDer.equals(old.subjectDer)).to.equal(true);
        expect(renewed.sans).to.deep.equal(old.sans);
        expect(renewed.keyUsage).to.deep.equal(old.keyUsage);
        expect(renewed.extKeyUsage).to.deep.equal(old.extKeyUsage);
        expect(renewed.issuerDer.equals(ca.subjectDer)).to.equal(true);
        expect(renewed.spkiDer.equals(old.spkiDer)).to.equal(true);
        expect(keyMatchesCertificate(key, renewed)).to.equal(true);
        expect(renewed.serialHex).to.not.equal(old.serialHex);
        expect(renewed.serialNegative).to.equal(false);
        expect(BigInt(renewed.serialDecimal) > 0n).to.equal(true);
        expect(renewed.notAfter.toISOString()).to.equal(new Date(NOW.getTime() + YEAR_MS).toISOString());
        expect(renewed.notBefore.getTime()).to.be.at.most(NOW.getTime());
        expect(renewed.isCA).to.equal(false);
        expect(validityAt(renewed, NOW)).to.equal('valid');
      });
    }

    for (const kubeconfig of ['admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf']) {
      it(`${kubeconfig}: the embedded client cert re-issues from pki/ca.crt with its embedded key, and the rewritten kubeconfig verifies`, async () => {
        const path = join(etc, kubeconfig);
        const caPath = join(pki, 'ca.crt');
        const ca = readCert(caPath);
        const caKey = readKey(join(pki, 'ca.key'));
        type Kubeconfig = { users: { name: string; user: Record<string, string> }[] };
        const config = parseYaml(readFileSync(path, 'utf8')) as Kubeconfig;
        const user = config.users[0]!.user;
        const oldPem = Buffer.from(user['client-certificate-data']!, 'base64').toString('utf8');
        const keyPem = Buffer.from(user['client-key-data']!, 'base64').toString('utf8');
        const old = parseCertificate(oldPem);
        const key = parsePrivateKey(keyPem);
        expect(validityAt(old, NOW)).to.equal('expired');
        expect(keyMatchesCertificate(key, old)).to.equal(true);
        expect(isIssuedBy(old, ca)).to.equal(true);
        expect(old.extKeyUsage).to.deep.equal(['client auth']);

        const { certificate: renewed, warnings } = reissue(old, key, ca, caKey);
        expect(warnings).to.deep.equal([]);
        expect(identityDifferences(old, renewed)).to.deep.equal([]);
        expect(renewed.subjectDer.equals(old.subjectDer)).to.equal(true);
        expect(renewed.spkiDer.equals(old.spkiDer)).to.equal(true);
        expect(renewed.serialHex).to.not.equal(old.serialHex);
        expect(renewed.serialNegative).to.equal(false);
        expect(renewed.notAfter.getTime()).to.equal(NOW.getTime() + YEAR_MS);

        // Write it into the kubeconfig (the copy), read it back from there, verify that.
        const document = parseDocument(readFileSync(path, 'utf8'));
        document.setIn(['users', 0, 'user', 'client-certificate-data'], Buffer.from(renewed.pem).toString('base64'));
        chmodSync(path, 0o600);
        writeFileSync(path, document.toString());
        const reread = parseYaml(readFileSync(path, 'utf8')) as Kubeconfig;
        expect(reread.users[0]!.name).to.equal(config.users[0]!.name);
        expect(reread.users[0]!.user['client-key-data']).to.equal(user['client-key-data']);
        const embeddedPem = Buffer.from(reread.users[0]!.user['client-certificate-data']!, 'base64').toString('utf8');
        expect(parseCertificate(embeddedPem).der.equals(renewed.der)).to.equal(true);

        const certFile = join(etc, `${kubeconfig}.client.crt`);
        const keyFile = join(etc, `${kubeconfig}.client.key`);
        writeFileSync(certFile, embeddedPem);
        writeFileSync(keyFile, keyPem, { mode: 0o600 });
        const [ok, output] = await opensslVerify(caPath, certFile, opensslAt);
        expect(ok, output).to.equal(true);
        const go = await goCheck(['-roots', caPath, '-leaf', certFile, '-key', keyFile, '-eku', 'client', ...goAt]);
        expect(go.error).to.equal(undefined);
        expect(go.ok).to.equal(true);
        expect(go.serial).to.equal(renewed.serialDecimal);
      });
    }

    it('rescue-kit inspect --json --ca pki/ca.crt pki/apiserver.crt on a fresh copy: expired, with openssl\'s notAfter, chain problems about expiry', async () => {
      const fresh = join(await writableCopy(fixture), 'pki');
      const certPath = join(fresh, 'apiserver.crt');
      const result = await runCli(['inspect', '--json', '--ca', join(fresh, 'ca.crt'), certPath]);
      expect(result.exitCode, 'a broken chain (expired link) exits 4').to.equal(4);
      const [entry] = JSON.parse(result.stdout) as {
        validity: string;
        notAfter: string;
        subject: string;
        chain: { ok: boolean; path: string[]; problems: string[] };
      }[];
      expect(entry!.subject).to.equal('CN=kube-apiserver');
      expect(entry!.validity).to.equal('expired');
      const enddate = (await execa('openssl', ['x509', '-in', certPath, '-enddate', '-noout'])).stdout;
      const opensslNotAfter = parseOpensslDate(String(enddate));
      expect(new Date(entry!.notAfter).getTime()).to.equal(opensslNotAfter.getTime());
      expect(entry!.chain.ok).to.equal(false);
      // The signature chain itself is intact: the path reaches the CA, and only expiry is wrong.
      expect(entry!.chain.path).to.deep.equal(['CN=kube-apiserver', 'CN=kubernetes']);
      expect(entry!.chain.problems).to.include(`"CN=kube-apiserver" expired on ${opensslNotAfter.toISOString()}`);
      expect(entry!.chain.problems.every((problem) => / expired on /.test(problem)), entry!.chain.problems.join('; ')).to.equal(true);
    });
  });
}

describe('kubeadm-1.11: three CAs named "CN=kubernetes"', function () {
  this.timeout(60_000);

  it('a re-issued etcd leaf verifies against etcd/ca.crt only; against pki/ca.crt (same name, different key) openssl, Go and verifyChain all fail', async () => {
    const etc = await writableCopy('kubeadm-1.11-expired');
    const pki = join(etc, 'pki');
    const mainCa = readCert(join(pki, 'ca.crt'));
    const etcdCa = readCert(join(pki, 'etcd/ca.crt'));
    const frontProxyCa = readCert(join(pki, 'front-proxy-ca.crt'));
    // The trap is real: byte-identical names, three different keys.
    expect(etcdCa.subjectDer.equals(mainCa.subjectDer)).to.equal(true);
    expect(frontProxyCa.subjectDer.equals(mainCa.subjectDer)).to.equal(true);
    expect(etcdCa.spkiDer.equals(mainCa.spkiDer)).to.equal(false);
    expect(frontProxyCa.spkiDer.equals(mainCa.spkiDer)).to.equal(false);

    const old = readCert(join(pki, 'etcd/server.crt'));
    const { certificate: renewed } = reissue(old, readKey(join(pki, 'etcd/server.key')), etcdCa, readKey(join(pki, 'etcd/ca.key')));
    const crtPath = join(pki, 'etcd/server.crt');
    writeFileSync(crtPath, renewed.pem);
    expect(renewed.issuerDer.equals(mainCa.subjectDer), 'its issuer name is also the main CA\'s name').to.equal(true);

    const [ownOk, ownOutput] = await opensslVerify(join(pki, 'etcd/ca.crt'), crtPath, opensslAt);
    expect(ownOk, ownOutput).to.equal(true);
    const [mainOk, mainOutput] = await opensslVerify(join(pki, 'ca.crt'), crtPath, opensslAt);
    expect(mainOk, 'must not verify against the main CA').to.equal(false);
    expect(mainOutput).to.match(/signature failure|unable to get local issuer|signature/i);
    const [frontOk] = await opensslVerify(join(pki, 'front-proxy-ca.crt'), crtPath, opensslAt);
    expect(frontOk, 'nor against the front-proxy CA').to.equal(false);

    const goOwn = await goCheck(['-roots', join(pki, 'etcd/ca.crt'), '-leaf', crtPath, '-eku', 'server', ...goAt]);
    expect(goOwn.ok, goOwn.error).to.equal(true);
    const goMain = await goCheck(['-roots', join(pki, 'ca.crt'), '-leaf', crtPath, '-eku', 'server', ...goAt]);
    expect(goMain.ok).to.equal(false);

    expect(isIssuedBy(renewed, etcdCa)).to.equal(true);
    expect(isIssuedBy(renewed, mainCa)).to.equal(false);
    const chain = verifyChain(renewed, { roots: [mainCa], now: NOW });
    expect(chain.ok).to.equal(false);
    expect(chain.problems.join('; ')).to.match(/signature does not verify/);

    // The CLI says the same about the original etcd leaf against the wrong CA.
    const cli = await runCli(['inspect', '--json', '--ca', join(pki, 'ca.crt'), join(pki, 'etcd/peer.crt')]);
    expect(cli.exitCode).to.equal(4);
    const [entry] = JSON.parse(cli.stdout) as { chain: { ok: boolean; problems: string[] } }[];
    expect(entry!.chain.ok).to.equal(false);
    expect(entry!.chain.problems.join('; ')).to.match(/signature does not verify with that CA's key/);
  });
});
