// cfssl interoperability, both ways, with the real (Debian golang-cfssl) binaries:
// cfssl signs with our CA and our ca-config.json, cfssl reads what we make,
// we read and sign with what cfssl makes, and the two sign the same request alike.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Certificate,
  describeKey,
  isIssuedBy,
  keysMatch,
  parseCertificate,
  parseCsr,
  parsePrivateKey,
  verifyChain,
} from '../lib/index.js';
import { cliPath, goCheck, opensslVerify, repoRoot, runCli, tempDir, copyFixture } from './helpers/env.js';

const CONFIG = join(repoRoot, 'conf', 'ca-config.json');
const template = (path: string) => join(repoRoot, 'templates', path);
const HOUR_MS = 3_600_000;
const BACKDATE_MS = 5 * 60_000;

/** Run cfssl; its stdout (JSON) on success, a readable failure otherwise. */
async function cfssl(args: string[]): Promise<string> {
  const result = await execa('cfssl', args, { reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) throw new Error(`cfssl ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return String(result.stdout);
}

/** `cfssl ARGS | cfssljson -bare PREFIX`, as a real pipe. */
async function cfsslBare(args: string[], prefix: string): Promise<void> {
  await execa('cfssl', args, { stdin: 'ignore' }).pipe('cfssljson', ['-bare', prefix]);
}

/** The CLI must succeed; its stdout. */
async function cli(args: string[]): Promise<string> {
  const result = await runCli(args);
  if (result.exitCode !== 0) throw new Error(`rescue-kit ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

const readCert = (path: string): Certificate => parseCertificate(readFileSync(path, 'utf8'));
const readKey = (path: string) => parsePrivateKey(readFileSync(path, 'utf8'));

interface CertInfoName {
  common_name?: string;
  country?: string;
  organization?: string;
  organizational_unit?: string;
  locality?: string;
  province?: string;
  names?: string[];
}
interface CertInfo {
  subject: CertInfoName;
  issuer: CertInfoName;
  serial_number: string;
  sans?: string[];
  not_before: string;
  not_after: string;
  sigalg: string;
  authority_key_id: string;
  subject_key_id: string;
  pem: string;
}

async function certinfo(path: string): Promise<CertInfo> {
  return JSON.parse(await cfssl(['certinfo', '-cert', path])) as CertInfo;
}

/** cfssl 1.2.0 prints key ids as %X per byte without zero padding ("B:E6:30:8:..."): pad before comparing. */
const keyIdHex = (text: string) => text.split(':').map((part) => part.padStart(2, '0')).join('').toLowerCase();

async function opensslOut(args: string[]): Promise<string> {
  return String((await execa('openssl', args, { stdin: 'ignore' })).stdout);
}

/** The public key of a cert, key or CSR as openssl prints it (independent of our parser). */
const opensslPubkey = {
  cert: (path: string) => opensslOut(['x509', '-in', path, '-noout', '-pubkey']),
  key: (path: string) => opensslOut(['pkey', '-in', path, '-pubout']),
  csr: (path: string) => opensslOut(['req', '-in', path, '-noout', '-pubkey']),
};

/** openssl's rendering of a subject with string types, e.g. "CN=UTF8STRING:x+OU=UTF8STRING:y,O=...". */
async function opensslSubject(kind: 'x509' | 'req', path: string): Promise<string> {
  return (await opensslOut([kind, '-in', path, '-noout', '-subject', '-nameopt', 'RFC2253,show_type'])).replace(/^subject=/, '');
}

const extensionShape = (certificate: Certificate) => certificate.extensions.map(({ oid, critical }) => `${oid}${critical ? '!' : ''}`);

function fillVars(path: string, vars: Record<string, string>, out: string): string {
  const text = readFileSync(path, 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    if (vars[name] === undefined) throw new Error(`no value for ${name} in ${path}`);
    return vars[name]!;
  });
  writeFileSync(out, text);
  return out;
}

describe('cfssl interop (golang-cfssl binaries)', function () {
  this.timeout(120_000);
  let dir: string;
  let ourCa: Certificate;
  let ourEcCa: Certificate;

  before(async () => {
    const version = await execa('cfssl', ['version'], { reject: false });
    if (version.exitCode !== 0) throw new Error(`cfssl is not usable: ${version.stderr}`);
    dir = tempDir('rk-cfssl-');
    // Our CAs: RSA from the kubeadm template, ECDSA P-256 from a CSR JSON with no key block.
    await cli(['ca', 'init', '--csr', template('kubeadm/ca-csr.json'), '--out', join(dir, 'ca')]);
    writeFileSync(join(dir, 'ec-ca-csr.json'), JSON.stringify({ CN: 'rk-ecdsa-ca', ca: { expiry: '87600h' } }));
    await cli(['ca', 'init', '--csr', join(dir, 'ec-ca-csr.json'), '--out', join(dir, 'ecca')]);
    ourCa = readCert(join(dir, 'ca.pem'));
    ourEcCa = readCert(join(dir, 'ecca.pem'));
    expect(ourCa.key.label).to.equal('RSA 2048');
    expect(ourEcCa.key.label).to.equal('ECDSA P-256');
  });

  describe('cfssl signs with our CA and our ca-config.json', () => {
    it('cfssl gencert -profile kubernetes -hostname ... with our ca.pem/ca-key.pem verifies with openssl and Go and parses with parseCertificate', async () => {
      const hosts = 'kubernetes,kubernetes.default,kubernetes.default.svc.cluster.local,10.96.0.1,192.168.0.4,::1';
      const prefix = join(dir, 'apiserver');
      await cfsslBare(
        ['gencert', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', CONFIG, '-profile', 'kubernetes', '-hostname', hosts, template('binary/apiserver-csr.json')],
        prefix,
      );
      for (const suffix of ['.pem', '-key.pem', '.csr']) expect(existsSync(`${prefix}${suffix}`), suffix).to.equal(true);

      const [ok, output] = await opensslVerify(join(dir, 'ca.pem'), `${prefix}.pem`);
      expect(ok, output).to.equal(true);

      const leaf = readCert(`${prefix}.pem`);
      expect(leaf.subjectText).to.equal('C=CN, ST=Beijing, L=Beijing, O=k8s-cluster, OU=System, CN=kube-apiserver');
      expect(leaf.issuerDer.equals(ourCa.subjectDer)).to.equal(true);
      expect(leaf.sans.dns).to.deep.equal(['kubernetes', 'kubernetes.default', 'kubernetes.default.svc.cluster.local']);
      expect(leaf.sans.ips).to.deep.equal(['10.96.0.1', '192.168.0.4', '::1']);
      expect(leaf.sans.emails).to.deep.equal([]);
      expect(leaf.keyUsage).to.deep.equal(['digital signature', 'key encipherment']);
      expect(leaf.extKeyUsage).to.deep.equal(['server auth', 'client auth']);
      expect(leaf.isCA).to.equal(false);
      expect(leaf.serialNegative).to.equal(false);
      expect(leaf.authorityKeyId?.toString('hex')).to.equal(ourCa.subjectKeyId!.toString('hex'));
      expect(isIssuedBy(leaf, ourCa)).to.equal(true);
      const chain = verifyChain(leaf, { roots: [ourCa], now: new Date() });
      expect(chain.problems).to.deep.equal([]);
      expect(chain.ok).to.equal(true);
      // cfssl's own key: PKCS#1 RSA, read by parsePrivateKey, matching the cert.
      const key = readKey(`${prefix}-key.pem`);
      expect(describeKey(key).label).to.equal('RSA 2048');
      expect(keysMatch(key, leaf.publicKey)).to.equal(true);

      const go = await goCheck(['-roots', join(dir, 'ca.pem'), '-leaf', `${prefix}.pem`, '-eku', 'server', '-dns', 'kubernetes.default', '-ip', '192.168.0.4', '-key', `${prefix}-key.pem`]);
      expect(go.error).to.equal(undefined);
      expect(go.ok).to.equal(true);
      expect(go.serial).to.equal(leaf.serialDecimal);
    });

    it('a CA written by `ca init --json | cfssljson -bare` is one cfssl signs with', async () => {
      // (At a970190 this exited 2: --out was a required option of `ca init` even with --json.)
      await execa('node', [cliPath, 'ca', 'init', '--csr', template('binary/ca-csr.json'), '--json'], { stdin: 'ignore' }).pipe('cfssljson', ['-bare', join(dir, 'piped-ca')]);
      for (const suffix of ['.pem', '-key.pem', '.csr']) expect(existsSync(join(dir, `piped-ca${suffix}`)), suffix).to.equal(true);
      const ca = readCert(join(dir, 'piped-ca.pem'));
      expect(ca.isCA).to.equal(true);
      expect(ca.subjectText).to.equal('C=CN, ST=Beijing, L=Beijing, O=Internal CA, OU=System, CN=k8s-root-ca');
      expect(keysMatch(readKey(join(dir, 'piped-ca-key.pem')), ca.publicKey)).to.equal(true);
      await cfsslBare(
        ['gencert', '-ca', join(dir, 'piped-ca.pem'), '-ca-key', join(dir, 'piped-ca-key.pem'), '-config', CONFIG, '-profile', 'client', template('kubeadm/admin-csr.json')],
        join(dir, 'piped-admin'),
      );
      const [ok, output] = await opensslVerify(join(dir, 'piped-ca.pem'), join(dir, 'piped-admin.pem'));
      expect(ok, output).to.equal(true);
      // ...and not against a different CA (the check can fail).
      const [wrong] = await opensslVerify(join(dir, 'ca.pem'), join(dir, 'piped-admin.pem'));
      expect(wrong).to.equal(false);
      const admin = readCert(join(dir, 'piped-admin.pem'));
      expect(admin.subjectText).to.equal('O=kubeadm:cluster-admins, CN=kubernetes-admin');
      expect(admin.extKeyUsage).to.deep.equal(['client auth']);
    });
  });

  describe('cfssl certinfo reads our certificates', () => {
    it('RSA: CN, subject fields, SANs, serial (decimal), dates and key ids agree with our parser', async () => {
      const prefix = join(dir, 'ours-rsa');
      await cli([
        'issue', template('binary/apiserver-csr.json'), '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'),
        '--profile', 'kubernetes', '--hostname', 'kubernetes,kubernetes.default.svc,10.96.0.1,fd00::10', '--out', prefix,
      ]);
      const ours = readCert(`${prefix}.pem`);
      const info = await certinfo(`${prefix}.pem`);

      expect(info.subject.common_name).to.equal('kube-apiserver');
      expect(info.subject).to.include({ country: 'CN', province: 'Beijing', locality: 'Beijing', organization: 'k8s-cluster', organizational_unit: 'System' });
      expect(info.subject.names).to.deep.equal(ours.subject.map((attribute) => attribute.value));
      expect(info.issuer.common_name).to.equal('kubernetes');
      // cfssl lists DNS names then IPs, in certificate order.
      expect(info.sans).to.deep.equal([...ours.sans.dns, ...ours.sans.ips]);
      expect(info.sans).to.deep.equal(['kubernetes', 'kubernetes.default.svc', '10.96.0.1', 'fd00::10']);
      // cfssl prints the serial in decimal, not openssl's hex.
      expect(info.serial_number).to.equal(ours.serialDecimal);
      expect(info.serial_number).to.match(/^\d+$/);
      expect(BigInt(`0x${ours.serialHex}`).toString(10)).to.equal(info.serial_number);
      const opensslSerial = (await opensslOut(['x509', '-in', `${prefix}.pem`, '-noout', '-serial'])).replace(/^serial=/, '');
      expect(BigInt(`0x${opensslSerial}`).toString(10)).to.equal(info.serial_number);
      expect(new Date(info.not_before).getTime()).to.equal(ours.notBefore.getTime());
      expect(new Date(info.not_after).getTime()).to.equal(ours.notAfter.getTime());
      expect(info.sigalg).to.equal('SHA256WithRSA');
      expect(keyIdHex(info.subject_key_id)).to.equal(ours.subjectKeyId!.toString('hex'));
      expect(keyIdHex(info.authority_key_id)).to.equal(ourCa.subjectKeyId!.toString('hex'));
      expect(parseCertificate(info.pem).der.equals(ours.der)).to.equal(true);
    });

    it('our CA: self-signed, SAN of its CN, serial and key ids', async () => {
      const info = await certinfo(join(dir, 'ca.pem'));
      expect(info.subject.common_name).to.equal('kubernetes');
      expect(info.issuer.common_name).to.equal('kubernetes');
      expect(info.sans).to.deep.equal(['kubernetes']);
      expect(info.serial_number).to.equal(ourCa.serialDecimal);
      expect(keyIdHex(info.subject_key_id)).to.equal(ourCa.subjectKeyId!.toString('hex'));
      expect(keyIdHex(info.authority_key_id)).to.equal(ourCa.subjectKeyId!.toString('hex'));
    });

    it('ECDSA: a P-256 CA, and P-256 and P-384 leaves it signs', async () => {
      const info = await certinfo(join(dir, 'ecca.pem'));
      expect(info.subject.common_name).to.equal('rk-ecdsa-ca');
      expect(info.sigalg).to.equal('ECDSAWithSHA256');
      expect(info.serial_number).to.equal(ourEcCa.serialDecimal);

      for (const size of [256, 384]) {
        const csrJson = join(dir, `ec${size}-csr.json`);
        writeFileSync(csrJson, JSON.stringify({ CN: `ec-leaf-${size}`, names: [{ O: 'rk-tests' }], hosts: [`ec${size}.example`, '10.0.0.7'], key: { algo: 'ecdsa', size } }));
        const prefix = join(dir, `ec${size}`);
        await cli(['issue', csrJson, '--ca', join(dir, 'ecca.pem'), '--ca-key', join(dir, 'ecca-key.pem'), '--profile', 'server', '--out', prefix]);
        const ours = readCert(`${prefix}.pem`);
        expect(ours.key.label).to.equal(`ECDSA P-${size}`);
        const leafInfo = await certinfo(`${prefix}.pem`);
        expect(leafInfo.subject.common_name, `P-${size}`).to.equal(`ec-leaf-${size}`);
        expect(leafInfo.subject.organization).to.equal('rk-tests');
        expect(leafInfo.issuer.common_name).to.equal('rk-ecdsa-ca');
        expect(leafInfo.sans).to.deep.equal([`ec${size}.example`, '10.0.0.7']);
        expect(leafInfo.serial_number).to.equal(ours.serialDecimal);
        // The signature algorithm follows the signer's key (P-256 CA: SHA-256).
        expect(leafInfo.sigalg).to.equal('ECDSAWithSHA256');
        expect(keyIdHex(leafInfo.subject_key_id)).to.equal(ours.subjectKeyId!.toString('hex'));
        expect(keyIdHex(leafInfo.authority_key_id)).to.equal(ourEcCa.subjectKeyId!.toString('hex'));
        const [ok, output] = await opensslVerify(join(dir, 'ecca.pem'), `${prefix}.pem`);
        expect(ok, output).to.equal(true);
      }
    });

    it('kubeadm-made certificates: cfssl and our parser agree on serials (0 on the old CAs)', async () => {
      const root = copyFixture('kubeadm-1.14-expired');
      await execa('chmod', ['-R', 'u+w', root]); // shared/ is read-only; let the temp copy be removed
      const pki = join(root, 'etc-kubernetes', 'pki');
      const ca = readCert(join(pki, 'ca.crt'));
      const caInfo = await certinfo(join(pki, 'ca.crt'));
      expect(ca.serialDecimal).to.equal('0');
      expect(caInfo.serial_number).to.equal('0');
      const apiserver = readCert(join(pki, 'apiserver.crt'));
      const info = await certinfo(join(pki, 'apiserver.crt'));
      expect(info.serial_number).to.equal(apiserver.serialDecimal);
      expect(apiserver.serialHex).to.equal('03621ba216dd8b19');
      expect(info.serial_number).to.equal(BigInt('0x03621ba216dd8b19').toString(10));
      expect(info.sans).to.deep.equal([...apiserver.sans.dns, ...apiserver.sans.ips]);
      expect(new Date(info.not_after).getTime()).to.equal(apiserver.notAfter.getTime());
    });
  });

  describe('we read and sign with cfssl-made material', () => {
    before(async () => {
      await cfsslBare(['gencert', '-initca', template('binary/ca-csr.json')], join(dir, 'cfca'));
      // cfssl's default key when the CSR JSON has no key block: ECDSA P-256.
      writeFileSync(join(dir, 'cf-ec-ca-csr.json'), JSON.stringify({ CN: 'cfssl-ecdsa-ca', names: [{ O: 'cfssl' }] }));
      await cfsslBare(['gencert', '-initca', join(dir, 'cf-ec-ca-csr.json')], join(dir, 'cfecca'));
    });

    it('parsePrivateKey reads cfssl -initca\'s RSA key; rescue-kit issue signs with the cfssl CA; openssl and Go accept the leaf', async () => {
      const caPem = join(dir, 'cfca.pem');
      const caKeyPem = join(dir, 'cfca-key.pem');
      expect(readFileSync(caKeyPem, 'utf8')).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
      const cfCa = readCert(caPem);
      const cfCaKey = readKey(caKeyPem);
      expect(describeKey(cfCaKey).label).to.equal('RSA 2048');
      expect(keysMatch(cfCaKey, cfCa.publicKey)).to.equal(true);
      expect(cfCa.isCA).to.equal(true);
      expect(cfCa.subjectText).to.equal('C=CN, ST=Beijing, L=Beijing, O=Internal CA, OU=System, CN=k8s-root-ca');
      // cfssl 1.2.0's -initca: keyCertSign + cRLSign only, and an SKI.
      expect(cfCa.keyUsage).to.deep.equal(['cert sign', 'crl sign']);
      expect(cfCa.subjectKeyId).to.not.equal(undefined);

      const prefix = join(dir, 'from-cfca');
      await cli([
        'issue', template('kubeadm/apiserver-csr.json'), '--var', 'NODE_NAME=master01', '--var', 'NODE_IP=192.168.0.4',
        '--ca', caPem, '--ca-key', caKeyPem, '--profile', 'server', '--out', prefix,
      ]);
      const leaf = readCert(`${prefix}.pem`);
      expect(leaf.issuerDer.equals(cfCa.subjectDer)).to.equal(true);
      expect(leaf.authorityKeyId!.equals(cfCa.subjectKeyId!)).to.equal(true);
      expect(leaf.sans.dns).to.include.members(['master01', 'kubernetes.default.svc.cluster.local']);
      expect(leaf.sans.ips).to.deep.equal(['10.96.0.1', '192.168.0.4']);

      const [ok, output] = await opensslVerify(caPem, `${prefix}.pem`);
      expect(ok, output).to.equal(true);
      const [wrongCa] = await opensslVerify(join(dir, 'ca.pem'), `${prefix}.pem`);
      expect(wrongCa, 'verifies only against the CA that signed it').to.equal(false);
      const go = await goCheck(['-roots', caPem, '-leaf', `${prefix}.pem`, '-eku', 'server', '-dns', 'master01', '-ip', '192.168.0.4', '-key', `${prefix}-key.pem`]);
      expect(go.error).to.equal(undefined);
      expect(go.ok).to.equal(true);
      const goClient = await goCheck(['-roots', caPem, '-leaf', `${prefix}.pem`, '-eku', 'client']);
      expect(goClient.ok, 'the server profile has no client auth').to.equal(false);
    });

    it('cfssl genkey with no key block gives a P-256 SEC1 key and a CSR that we parse; issue --key reuses that key under a cfssl ECDSA CA', async () => {
      const csrJson = join(dir, 'cf-ec-csr.json');
      writeFileSync(csrJson, JSON.stringify({ CN: 'cf-ec-leaf', names: [{ O: 'system:nodes' }], hosts: ['node1.example', '10.0.0.21'] }));
      await cfsslBare(['genkey', csrJson], join(dir, 'cfec'));
      const keyText = readFileSync(join(dir, 'cfec-key.pem'), 'utf8');
      expect(keyText).to.match(/^-----BEGIN EC PRIVATE KEY-----/);
      const key = parsePrivateKey(keyText);
      expect(describeKey(key)).to.deep.equal({ algo: 'ecdsa', size: 256, label: 'ECDSA P-256' });
      const csr = parseCsr(readFileSync(join(dir, 'cfec.csr'), 'utf8'));
      expect(keysMatch(key, csr.publicKey)).to.equal(true);
      expect(csr.subjectText).to.equal('O=system:nodes, CN=cf-ec-leaf');
      expect(csr.sans.dns).to.deep.equal(['node1.example']);
      expect(csr.sans.ips).to.deep.equal(['10.0.0.21']);

      const cfEcCa = readCert(join(dir, 'cfecca.pem'));
      expect(cfEcCa.key.label).to.equal('ECDSA P-256');
      expect(describeKey(readKey(join(dir, 'cfecca-key.pem'))).label).to.equal('ECDSA P-256');

      const prefix = join(dir, 'from-cfecca');
      await cli(['issue', csrJson, '--key', join(dir, 'cfec-key.pem'), '--ca', join(dir, 'cfecca.pem'), '--ca-key', join(dir, 'cfecca-key.pem'), '--profile', 'peer', '--out', prefix]);
      const leaf = readCert(`${prefix}.pem`);
      expect(keysMatch(key, leaf.publicKey), 'the existing cfssl key is reused').to.equal(true);
      expect(leaf.signatureAlgorithmOid).to.equal('1.2.840.10045.4.3.2');
      expect(leaf.extKeyUsage).to.deep.equal(['server auth', 'client auth']);
      expect(await opensslPubkey.key(`${prefix}-key.pem`)).to.equal(await opensslPubkey.key(join(dir, 'cfec-key.pem')));
      const [ok, output] = await opensslVerify(join(dir, 'cfecca.pem'), `${prefix}.pem`);
      expect(ok, output).to.equal(true);
      for (const eku of ['server', 'client']) {
        const go = await goCheck(['-roots', join(dir, 'cfecca.pem'), '-leaf', `${prefix}.pem`, '-eku', eku, '-dns', 'node1.example', '-key', join(dir, 'cfec-key.pem')]);
        expect(go.error, eku).to.equal(undefined);
        expect(go.ok, eku).to.equal(true);
      }
    });
  });

  it('`rescue-kit issue --json | cfssljson -bare x` writes x.pem, x-key.pem, x.csr that verify and belong together', async () => {
    const prefix = join(dir, 'piped');
    await execa('node', [
      cliPath, 'issue', template('kubeadm/etcd-server-csr.json'), '--var', 'NODE_NAME=master01', '--var', 'NODE_IP=192.168.0.4',
      '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'peer', '--json',
    ], { stdin: 'ignore' }).pipe('cfssljson', ['-bare', prefix]);
    for (const suffix of ['.pem', '-key.pem', '.csr']) expect(existsSync(`${prefix}${suffix}`), suffix).to.equal(true);

    const [ok, output] = await opensslVerify(join(dir, 'ca.pem'), `${prefix}.pem`);
    expect(ok, output).to.equal(true);
    const certKey = await opensslPubkey.cert(`${prefix}.pem`);
    expect(certKey).to.match(/BEGIN PUBLIC KEY/);
    expect(await opensslPubkey.key(`${prefix}-key.pem`)).to.equal(certKey);
    expect(await opensslPubkey.csr(`${prefix}.csr`)).to.equal(certKey);
    const csrVerify = await execa('openssl', ['req', '-in', `${prefix}.csr`, '-noout', '-verify'], { reject: false, all: true });
    expect(csrVerify.exitCode, String(csrVerify.all)).to.equal(0);
    expect(await opensslSubject('req', `${prefix}.csr`)).to.equal(await opensslSubject('x509', `${prefix}.pem`));
    // A key from another run does not match (the comparison can fail).
    expect(await opensslPubkey.key(join(dir, 'ca-key.pem'))).to.not.equal(certKey);

    const cert = readCert(`${prefix}.pem`);
    expect(cert.subjectText).to.equal('CN=master01');
    expect(cert.sans.ips).to.deep.equal(['192.168.0.4', '127.0.0.1', '::1']);
    expect(keysMatch(readKey(`${prefix}-key.pem`), cert.publicKey)).to.equal(true);
    const go = await goCheck(['-roots', join(dir, 'ca.pem'), '-leaf', `${prefix}.pem`, '-eku', 'client', '-ip', '::1', '-key', `${prefix}-key.pem`]);
    expect(go.error).to.equal(undefined);
    expect(go.ok).to.equal(true);
  });

  describe('the same CSR JSON and profile through cfssl gencert and rescue-kit issue', () => {
    const vars = { NODE_NAME: 'master01', NODE_IP: '192.168.0.4', SERVICE: 'hook', NAMESPACE: 'infra' };
    const cases: { name: string; csr: () => string; profile: string; hostname?: string }[] = [
      { name: 'binary apiserver, kubernetes profile, -hostname with IPv6 and email', csr: () => template('binary/apiserver-csr.json'), profile: 'kubernetes', hostname: 'kubernetes,kubernetes.default.svc,10.96.0.1,fe80::1,ops@example.com' },
      { name: 'kubeadm apiserver, server profile', csr: () => fillVars(template('kubeadm/apiserver-csr.json'), vars, join(dir, 'cmp-apiserver.json')), profile: 'server' },
      { name: 'kubeadm admin (O=kubeadm:cluster-admins, no hosts), client profile', csr: () => template('kubeadm/admin-csr.json'), profile: 'client' },
      { name: 'kubeadm etcd peer, peer profile', csr: () => fillVars(template('kubeadm/etcd-peer-csr.json'), vars, join(dir, 'cmp-peer.json')), profile: 'peer' },
      { name: 'kubeadm kubelet client, kubelet-client profile', csr: () => fillVars(template('kubeadm/kubelet-client-csr.json'), vars, join(dir, 'cmp-kubelet.json')), profile: 'kubelet-client' },
      { name: 'webhook (ECDSA key), webhook profile', csr: () => fillVars(template('webhook/webhook-csr.json'), vars, join(dir, 'cmp-webhook.json')), profile: 'webhook' },
      {
        name: 'names that need UTF8String (_ @ * &), several O and OU values',
        csr: () => {
          const path = join(dir, 'cmp-odd.json');
          writeFileSync(path, JSON.stringify({
            CN: 'system:node:*_w@x&y',
            names: [{ C: 'DE', ST: 'Berlin', O: 'system:nodes', OU: 'ops' }, { O: 'team_b', OU: 'On Call' }],
            hosts: ['*.nodes.example', 'node-1.example', '10.1.2.3'],
            key: { algo: 'rsa', size: 2048 },
          }));
          return path;
        },
        profile: 'kubernetes',
      },
    ];

    for (const testCase of cases) {
      it(`${testCase.name}: equal subject DER, SANs, key usage, EKU and extension list`, async function () {
        const csrJson = testCase.csr();
        const hostArgs = testCase.hostname ? ['-hostname', testCase.hostname] : [];
        const slug = testCase.profile + '-' + testCase.name.replace(/\W+/g, '-').slice(0, 20);
        const cfPrefix = join(dir, `cmp-cf-${slug}`);
        const ourPrefix = join(dir, `cmp-rk-${slug}`);
        await cfsslBare(['gencert', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', CONFIG, '-profile', testCase.profile, ...hostArgs, csrJson], cfPrefix);
        const ours = await runCli(['issue', csrJson, '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', testCase.profile, ...(testCase.hostname ? ['--hostname', testCase.hostname] : []), '--out', ourPrefix]);
        expect(ours.exitCode, ours.stderr).to.equal(0);
        const cf = readCert(`${cfPrefix}.pem`);
        const rk = readCert(`${ourPrefix}.pem`);

        expect(rk.subjectDer.toString('hex'), 'subject DER').to.equal(cf.subjectDer.toString('hex'));
        expect(await opensslSubject('x509', `${ourPrefix}.pem`)).to.equal(await opensslSubject('x509', `${cfPrefix}.pem`));
        expect(rk.issuerDer.equals(cf.issuerDer)).to.equal(true);
        expect(rk.sans).to.deep.equal(cf.sans);
        expect(rk.keyUsage).to.deep.equal(cf.keyUsage);
        expect(rk.extKeyUsage).to.deep.equal(cf.extKeyUsage);
        expect(rk.isCA).to.equal(cf.isCA);
        // Same extensions, same order, same criticality: KU!, EKU, BC!, SKI, AKI[, SAN]. Both write SKI and AKI.
        expect(extensionShape(rk)).to.deep.equal(extensionShape(cf));
        expect(rk.authorityKeyId!.equals(cf.authorityKeyId!)).to.equal(true);
        expect(rk.authorityKeyId!.equals(ourCa.subjectKeyId!)).to.equal(true);
        expect(rk.key.label).to.equal(cf.key.label);
        expect(rk.signatureAlgorithmOid).to.equal(cf.signatureAlgorithmOid);
        for (const [path, what] of [[`${cfPrefix}.pem`, 'cfssl'], [`${ourPrefix}.pem`, 'rescue-kit']] as const) {
          const [ok, output] = await opensslVerify(join(dir, 'ca.pem'), path);
          expect(ok, `${what}: ${output}`).to.equal(true);
        }

        // Real differences: serials (cfssl 1.2.0: 20 random bytes; ours: 16), and validity.
        expect(cf.serialHex).to.not.equal(rk.serialHex);
        expect(rk.serialHex).to.have.lengthOf(32);
        const expiryMs = testCase.profile === 'webhook' ? 87_600 * HOUR_MS : 8760 * HOUR_MS;
        // cfssl: not-before = now rounded to the minute - 5 min, not-after = not-before + expiry.
        expect(cf.notBefore.getUTCSeconds()).to.equal(0);
        expect(cf.notAfter.getTime() - cf.notBefore.getTime()).to.equal(expiryMs);
        if (rk.notAfter.getTime() < ourCa.notAfter.getTime()) {
          // ours: not-before = now - 5 min, not-after = now + expiry.
          expect(rk.notAfter.getTime() - rk.notBefore.getTime()).to.equal(expiryMs + BACKDATE_MS);
        } else {
          // A 10-year webhook under a 10-year CA: we cap at the CA's not-after and say so.
          expect(testCase.profile).to.equal('webhook');
          expect(rk.notAfter.getTime()).to.equal(ourCa.notAfter.getTime());
          expect(ours.stderr).to.match(/capped to the CA's expiry/);
        }
      });
    }

    it('a difference: cfssl 1.2.0 writes a URI host as a DNS name, rescue-kit as a URI SAN', async () => {
      const hosts = 'svc.example,spiffe://cluster.local/ns/x/sa/y';
      const cfPrefix = join(dir, 'uri-cf');
      const ourPrefix = join(dir, 'uri-rk');
      await cfsslBare(['gencert', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', CONFIG, '-profile', 'server', '-hostname', hosts, template('binary/apiserver-csr.json')], cfPrefix);
      await cli(['issue', template('binary/apiserver-csr.json'), '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'server', '--hostname', hosts, '--out', ourPrefix]);
      const cf = readCert(`${cfPrefix}.pem`);
      const rk = readCert(`${ourPrefix}.pem`);
      expect(cf.sans.dns).to.deep.equal(['svc.example', 'spiffe://cluster.local/ns/x/sa/y']);
      expect(cf.sans.uris).to.deep.equal([]);
      expect(rk.sans.dns).to.deep.equal(['svc.example']);
      expect(rk.sans.uris).to.deep.equal(['spiffe://cluster.local/ns/x/sa/y']);
    });
  });

  describe('rescue-kit sign keeps a foreign CSR\'s subject byte for byte', () => {
    it('a CSR from `openssl req -new` (UTF8String, repeated O, multi-valued RDN, SANs)', async () => {
      const csrPath = join(dir, 'openssl.csr');
      const gen = await execa('openssl', [
        'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'openssl-key.pem'), '-out', csrPath,
        '-subj', '/O=system:masters/O=b team/CN=kube_admin@x+OU=ops', '-multivalue-rdn',
        '-addext', 'subjectAltName=DNS:admin.example,IP:10.0.0.9',
      ], { reject: false, all: true, stdin: 'ignore' });
      expect(gen.exitCode, String(gen.all)).to.equal(0);
      const csr = parseCsr(readFileSync(csrPath, 'utf8'));
      const certPath = join(dir, 'openssl-signed.pem');
      const result = await runCli(['sign', csrPath, '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'client', '--out', certPath]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const cert = readCert(certPath);

      expect(cert.subjectDer.toString('hex')).to.equal(csr.subjectDer.toString('hex'));
      const csrSubject = await opensslSubject('req', csrPath);
      expect(csrSubject).to.equal('CN=UTF8STRING:kube_admin@x+OU=UTF8STRING:ops,O=UTF8STRING:b team,O=UTF8STRING:system:masters');
      expect(await opensslSubject('x509', certPath)).to.equal(csrSubject);
      expect(cert.sans.dns).to.deep.equal(['admin.example']);
      expect(cert.sans.ips).to.deep.equal(['10.0.0.9']);
      expect(cert.extKeyUsage).to.deep.equal(['client auth']);
      expect(await opensslPubkey.cert(certPath)).to.equal(await opensslPubkey.key(join(dir, 'openssl-key.pem')));
      const [ok, output] = await opensslVerify(join(dir, 'ca.pem'), certPath);
      expect(ok, output).to.equal(true);

      // For contrast, cfssl 1.2.0's `sign` re-encodes the subject from the parsed CSR:
      // PrintableString, the two O values merged into one RDN, the multi-valued RDN split.
      await cfsslBare(['sign', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', CONFIG, '-profile', 'client', csrPath], join(dir, 'openssl-cfsigned'));
      const cfSigned = readCert(join(dir, 'openssl-cfsigned.pem'));
      expect(cfSigned.subjectDer.equals(csr.subjectDer)).to.equal(false);
      expect(await opensslSubject('x509', join(dir, 'openssl-cfsigned.pem'))).to.not.equal(csrSubject);
    });

    it('a CSR from `cfssl genkey` (PrintableString C/ST/L/O/OU); SKI and AKI equal what cfssl sign computes for it', async () => {
      const csrJson = join(dir, 'genkey-csr.json');
      writeFileSync(csrJson, JSON.stringify({
        CN: 'system:kube-controller-manager',
        names: [{ C: 'CN', ST: 'Beijing', L: 'Beijing', O: 'system:kube-controller-manager', OU: 'System' }],
        hosts: ['127.0.0.1'],
        key: { algo: 'rsa', size: 2048 },
      }));
      await cfsslBare(['genkey', csrJson], join(dir, 'genkey'));
      const csrPath = join(dir, 'genkey.csr');
      const csr = parseCsr(readFileSync(csrPath, 'utf8'));
      const certPath = join(dir, 'genkey-rk.pem');
      await cli(['sign', csrPath, '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--profile', 'client', '--out', certPath]);
      const cert = readCert(certPath);
      expect(cert.subjectDer.toString('hex')).to.equal(csr.subjectDer.toString('hex'));
      expect(await opensslSubject('x509', certPath)).to.equal(await opensslSubject('req', csrPath));
      expect(cert.subjectText).to.equal('C=CN, ST=Beijing, L=Beijing, O=system:kube-controller-manager, OU=System, CN=system:kube-controller-manager');
      expect(cert.sans.ips).to.deep.equal(['127.0.0.1']);
      expect(await opensslPubkey.cert(certPath)).to.equal(await opensslPubkey.key(join(dir, 'genkey-key.pem')));
      const [ok, output] = await opensslVerify(join(dir, 'ca.pem'), certPath);
      expect(ok, output).to.equal(true);

      await cfsslBare(['sign', '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', CONFIG, '-profile', 'client', csrPath], join(dir, 'genkey-cf'));
      const cfSigned = readCert(join(dir, 'genkey-cf.pem'));
      expect(cfSigned.subjectDer.equals(cert.subjectDer), 'a plain ASCII subject: cfssl agrees').to.equal(true);
      expect(cert.subjectKeyId!.toString('hex')).to.equal(cfSigned.subjectKeyId!.toString('hex'));
      expect(cert.authorityKeyId!.toString('hex')).to.equal(cfSigned.authorityKeyId!.toString('hex'));
      expect(extensionShape(cert)).to.deep.equal(extensionShape(cfSigned));
    });
  });
});
