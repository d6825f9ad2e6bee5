// The signing matrix: every key algorithm x every role (CA, server, client, peer),
// checked by tools that are not rescue-kit: openssl (verify, x509 -text, asn1parse),
// Go's crypto/x509 (test/go/x509check, as Kubernetes and etcd use it) and a
// real Node TLS handshake with client certificates.
//
// Time: certificates are issued at a fixed NOW and verified at that instant
// (openssl -attime, x509check -at). Only two sections issue at the wall clock:
// TLS (a TLS stack checks validity against the real time) and the openssl-made
// CA (openssl 3.0 req -x509 cannot set a start date).
import { expect } from 'chai';
import { createHash, KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { execa } from 'execa';
import {
  csrRequestFromJson,
  CsrJson,
  generateCertificate,
  GeneratedCertificate,
  generateKey,
  initCa,
  KeySpec,
  loadCaConfig,
  CaConfig,
  parseCertificate,
  parsePrivateKey,
} from '../lib/index.js';
import { goCheck, goChecker, opensslVerify, repoRoot, tempDir } from './helpers/env.js';

const NOW = new Date('2027-03-15T08:00:00Z');
const AT_GO = '2027-03-15T08:00:00Z';
const AT_OPENSSL = String(NOW.getTime() / 1000);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const HOSTS = ['node1.rescue.test', 'localhost', '127.0.0.1', '10.96.0.1', '::1', '2001:db8::1'];

interface AlgorithmCase {
  slug: string;
  label: string;
  spec: KeySpec;
  /** As `openssl x509 -text` names the signature algorithm a key of this kind signs with. */
  signature: string;
  /** What `openssl x509 -text` prints for the public key. */
  keyText: RegExp;
}

const ALGORITHMS: AlgorithmCase[] = [
  { slug: 'rsa2048', label: 'RSA 2048', spec: { algo: 'rsa', size: 2048 }, signature: 'sha256WithRSAEncryption', keyText: /Public-Key: \(2048 bit\)/ },
  { slug: 'rsa3072', label: 'RSA 3072', spec: { algo: 'rsa', size: 3072 }, signature: 'sha256WithRSAEncryption', keyText: /Public-Key: \(3072 bit\)/ },
  { slug: 'p256', label: 'ECDSA P-256', spec: { algo: 'ecdsa', size: 256 }, signature: 'ecdsa-with-SHA256', keyText: /NIST CURVE: P-256/ },
  { slug: 'p384', label: 'ECDSA P-384', spec: { algo: 'ecdsa', size: 384 }, signature: 'ecdsa-with-SHA384', keyText: /NIST CURVE: P-384/ },
  { slug: 'ed25519', label: 'Ed25519', spec: { algo: 'ed25519' }, signature: 'ED25519', keyText: /ED25519 Public-Key:/ },
];

type LeafRole = 'server' | 'client' | 'peer';
type Eku = 'server' | 'client';
const LEAF_ROLES: { role: LeafRole; ekus: Eku[]; ekuText: string }[] = [
  { role: 'server', ekus: ['server'], ekuText: 'TLS Web Server Authentication' },
  { role: 'client', ekus: ['client'], ekuText: 'TLS Web Client Authentication' },
  { role: 'peer', ekus: ['server', 'client'], ekuText: 'TLS Web Server Authentication, TLS Web Client Authentication' },
];
const PURPOSE: Record<Eku, string> = { server: 'sslserver', client: 'sslclient' };
const GO_EKU_NUMBER: Record<Eku, number> = { server: 1, client: 2 }; // x509.ExtKeyUsageServerAuth / ClientAuth

interface Issued {
  generated: GeneratedCertificate;
  certFile: string;
  keyFile: string;
}

interface AlgorithmFixture {
  dir: string;
  caCn: string;
  ca: Issued;
  leaves: Record<LeafRole, Issued>;
  /** A second key of the same algorithm, for a look-alike CA. */
  spareKey: KeyObject;
}

const fixtures = new Map<string, AlgorithmFixture>();
let caConfig: CaConfig;

function fixture(slug: string): AlgorithmFixture {
  const found = fixtures.get(slug);
  if (!found) throw new Error(`fixture ${slug} was not built (did before() fail?)`);
  return found;
}

function save(dir: string, name: string, generated: GeneratedCertificate): Issued {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  writeFileSync(certFile, generated.certificate.pem);
  writeFileSync(keyFile, generated.keyPem, { mode: 0o600 });
  return { generated, certFile, keyFile };
}

function leafRequest(cn: string, spec: KeySpec, extra: Partial<CsrJson> = {}) {
  return csrRequestFromJson({ CN: cn, names: [{ O: 'system:nodes' }], hosts: HOSTS, key: spec, ...extra });
}

async function buildFixture(algorithm: AlgorithmCase): Promise<AlgorithmFixture> {
  const dir = tempDir(`rk-matrix-${algorithm.slug}-`);
  const caCn = `rescue-ca-${algorithm.slug}`;
  const caRequest = csrRequestFromJson({ CN: caCn, names: [{ C: 'DE', O: 'Rescue Kit Test' }], key: algorithm.spec });
  // Every key of this algorithm at once (the CA's inside initCa).
  const [ca, serverKey, clientKey, peerKey, spareKey] = await Promise.all([
    initCa(caRequest, { now: NOW }),
    generateKey(algorithm.spec),
    generateKey(algorithm.spec),
    generateKey(algorithm.spec),
    generateKey(algorithm.spec),
  ]);
  const signer = { certificate: ca.certificate, key: ca.key };
  const keys: Record<LeafRole, KeyObject> = { server: serverKey, client: clientKey, peer: peerKey };
  const leaves = {} as Record<LeafRole, Issued>;
  for (const { role } of LEAF_ROLES) {
    const generated = await generateCertificate(leafRequest(`${role}.${algorithm.slug}`, algorithm.spec), caConfig.profile(role), signer, {
      now: NOW,
      key: keys[role],
    });
    leaves[role] = save(dir, role, generated);
  }
  return { dir, caCn, ca: save(dir, 'ca', ca), leaves, spareKey };
}

// ------------------------------------------------------------ independent readers

interface TlvNode {
  raw: Buffer;
  content: Buffer;
  end: number;
}

/** A few lines of DER reading, independent of lib/pki/der.ts, to look at exact bytes. */
function readTlv(buffer: Buffer, offset: number): TlvNode {
  let length = buffer[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error('DER past end');
  return { raw: buffer.subarray(offset, end), content: buffer.subarray(offset + header, end), end };
}

function tlvChildren(node: TlvNode): TlvNode[] {
  const out: TlvNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = readTlv(node.content, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** serial, issuer, subject of a certificate, as raw DER cut out of the file's bytes (read with Node, not rescue-kit). */
function tbsParts(pem: string): { serial: TlvNode; issuer: TlvNode; subject: TlvNode } {
  const certificateDer = new X509Certificate(pem).raw;
  const [tbs] = tlvChildren(readTlv(certificateDer, 0));
  const fields = tlvChildren(tbs!);
  const skip = fields[0]!.raw[0] === 0xa0 ? 1 : 0;
  return { serial: fields[skip]!, issuer: fields[skip + 2]!, subject: fields[skip + 4]! };
}

/** SHA-1 of the subjectPublicKey BIT STRING contents, computed from the key itself (JWK / PKCS#1), not from DER we wrote. */
function expectedKeyId(pem: string): string {
  const key = new X509Certificate(pem).publicKey;
  let bits: Buffer;
  if (key.asymmetricKeyType === 'rsa') bits = key.export({ type: 'pkcs1', format: 'der' });
  else {
    const jwk = key.export({ format: 'jwk' });
    if (key.asymmetricKeyType === 'ec') bits = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    else bits = Buffer.from(jwk.x!, 'base64url'); // ed25519: the raw 32-byte point
  }
  return createHash('sha1').update(bits).digest('hex');
}

interface OpensslView {
  text: string;
  serialHex: string;
  signatureAlgorithms: string[];
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  basicConstraints: string | undefined;
  keyUsage: string | undefined;
  extKeyUsage: string | undefined;
  san: string | undefined;
  notBefore: Date;
  notAfter: Date;
}

async function opensslView(file: string): Promise<OpensslView> {
  const { stdout: text } = await execa('openssl', ['x509', '-in', file, '-noout', '-text', '-serial', '-startdate', '-enddate', '-dateopt', 'iso_8601']);
  const after = (heading: string) => new RegExp(`${heading}: *\\n\\s*(.+)`).exec(text)?.[1]?.trim();
  const hex = (value: string | undefined) => value?.replace(/^keyid:/, '').replace(/:/g, '').toLowerCase();
  const date = (field: string) => new Date(new RegExp(`^${field}=(.+)$`, 'm').exec(text)![1]!.replace(' ', 'T'));
  return {
    text,
    serialHex: /^serial=([0-9A-F]+)$/m.exec(text)![1]!.toLowerCase(),
    signatureAlgorithms: [...text.matchAll(/Signature Algorithm: (\S+)/g)].map((match) => match[1]!),
    subjectKeyId: hex(after('X509v3 Subject Key Identifier')),
    authorityKeyId: hex(after('X509v3 Authority Key Identifier')),
    basicConstraints: /X509v3 Basic Constraints:(.*)\n\s*(.+)/.exec(text)?.slice(1).map((part) => part.trim()).join(' '),
    keyUsage: /X509v3 Key Usage:(.*)\n\s*(.+)/.exec(text)?.slice(1).map((part) => part.trim()).join(' '),
    extKeyUsage: after('X509v3 Extended Key Usage'),
    san: after('X509v3 Subject Alternative Name'),
    notBefore: date('notBefore'),
    notAfter: date('notAfter'),
  };
}

async function goVerify(roots: string, leaf: string, args: string[]) {
  return goCheck(['-roots', roots, '-leaf', leaf, '-at', AT_GO, ...args]);
}

function expectSerialPositive64(view: OpensslView, pem: string): void {
  const { serial } = tbsParts(pem);
  expect(serial.content[0]! & 0x80, 'serial DER sign bit').to.equal(0);
  expect(view.text).to.not.include('Negative');
  const value = BigInt(`0x${view.serialHex}`);
  expect(value >= 1n << 63n, `serial ${view.serialHex} has >= 64 bits`).to.equal(true);
  expect(BigInt(`0x${serial.content.toString('hex')}`)).to.equal(value);
}

// ------------------------------------------------------------ the matrix

describe('pki matrix: every algorithm x role, checked by openssl and Go', function () {
  before(async function () {
    this.timeout(60_000);
    goChecker(); // build once, outside the timed tests
    caConfig = loadCaConfig(readFileSync(join(repoRoot, 'conf/ca-config.json'), 'utf8'), 'conf/ca-config.json');
    const built = await Promise.all(ALGORITHMS.map(buildFixture));
    ALGORITHMS.forEach((algorithm, index) => fixtures.set(algorithm.slug, built[index]!));
  });

  for (const algorithm of ALGORITHMS) {
    describe(algorithm.label, () => {
      it('CA: self-verifies in openssl -x509_strict and Go; CA:TRUE, SAN = CN, SKI/AKI, serial, signature, dates', async () => {
        const { ca, caCn } = fixture(algorithm.slug);
        const pem = ca.generated.certificate.pem;
        const [verified, output] = await opensslVerify(ca.certFile, ca.certFile, ['-x509_strict', '-attime', AT_OPENSSL]);
        expect(verified, output).to.equal(true);
        const go = await goVerify(ca.certFile, ca.certFile, ['-dns', caCn, '-key', ca.keyFile]);
        expect(go.ok, go.error).to.equal(true);
        expect(go.isCA).to.equal(true);
        expect(go.dns).to.deep.equal([caCn]);
        expect((await goVerify(ca.certFile, ca.certFile, ['-dns', 'not-the-ca.rescue.test'])).ok).to.equal(false);

        const view = await opensslView(ca.certFile);
        expect(view.text).to.match(algorithm.keyText);
        expect(view.signatureAlgorithms).to.deep.equal([algorithm.signature, algorithm.signature]);
        expect(view.basicConstraints).to.equal('critical CA:TRUE');
        expect(view.keyUsage).to.match(/^critical .*Certificate Sign/);
        expect(view.san).to.equal(`DNS:${caCn}`);
        expect(view.subjectKeyId).to.equal(expectedKeyId(pem));
        expect(view.authorityKeyId).to.equal(view.subjectKeyId);
        expectSerialPositive64(view, pem);
        const { issuer, subject } = tbsParts(pem);
        expect(issuer.raw.equals(subject.raw), 'self-signed: issuer bytes = subject bytes').to.equal(true);
        expect(view.notBefore.getTime()).to.equal(NOW.getTime() - 5 * MINUTE);
        expect(view.notAfter.getTime()).to.equal(NOW.getTime() + 3650 * DAY);
      });

      for (const { role, ekus, ekuText } of LEAF_ROLES) {
        const wrongEkus = (['server', 'client'] as Eku[]).filter((eku) => !ekus.includes(eku));

        it(`${role}: openssl verify -x509_strict passes${ekus.map((eku) => ` -purpose ${PURPOSE[eku]}`).join(',')}${wrongEkus.map((eku) => `; -purpose ${PURPOSE[eku]} fails`).join('')}`, async () => {
          const { ca, leaves } = fixture(algorithm.slug);
          const leaf = leaves[role];
          const base = ['-x509_strict', '-attime', AT_OPENSSL];
          const [plain, plainOutput] = await opensslVerify(ca.certFile, leaf.certFile, base);
          expect(plain, plainOutput).to.equal(true);
          for (const eku of ekus) {
            const [ok, output] = await opensslVerify(ca.certFile, leaf.certFile, [...base, '-purpose', PURPOSE[eku]]);
            expect(ok, `${PURPOSE[eku]}: ${output}`).to.equal(true);
          }
          for (const eku of wrongEkus) {
            const [ok, output] = await opensslVerify(ca.certFile, leaf.certFile, [...base, '-purpose', PURPOSE[eku]]);
            expect(ok, `${PURPOSE[eku]} should be refused: ${output}`).to.equal(false);
            expect(output).to.match(/unsuitable certificate purpose/);
          }
          // Not yet valid 6 minutes before NOW (the 5-minute backdate is all there is).
          const [early, earlyOutput] = await opensslVerify(ca.certFile, leaf.certFile, ['-attime', String(NOW.getTime() / 1000 - 6 * 60)]);
          expect(early, earlyOutput).to.equal(false);
          expect(earlyOutput).to.match(/not yet valid/);
        });

        it(`${role}: Go crypto/x509 accepts it for ${ekus.join('+')} with DNS, IPv4 and IPv6 SANs and the key${wrongEkus.length ? `, refuses it for ${wrongEkus.join('')}` : ''}`, async () => {
          const { ca, leaves } = fixture(algorithm.slug);
          const leaf = leaves[role];
          const runs = await Promise.all(
            ekus.flatMap((eku) => [
              goVerify(ca.certFile, leaf.certFile, ['-eku', eku, '-dns', 'node1.rescue.test', '-ip', '::1', '-key', leaf.keyFile]),
              goVerify(ca.certFile, leaf.certFile, ['-eku', eku, '-dns', 'localhost', '-ip', '10.96.0.1']),
              goVerify(ca.certFile, leaf.certFile, ['-eku', eku, '-ip', '2001:db8::1']),
            ]),
          );
          for (const run of runs) expect(run.ok, run.error).to.equal(true);
          const first = runs[0]!;
          expect(first.eku).to.have.members(ekus.map((eku) => GO_EKU_NUMBER[eku]));
          expect(first.dns).to.have.members(['node1.rescue.test', 'localhost']);
          expect(first.ips).to.have.members(['127.0.0.1', '10.96.0.1', '::1', '2001:db8::1']);
          expect(first.isCA).to.equal(false);
          expect(BigInt(first.serial!)).to.equal(BigInt(`0x${leaf.generated.certificate.serialHex}`));

          for (const eku of wrongEkus) {
            const wrong = await goVerify(ca.certFile, leaf.certFile, ['-eku', eku, '-dns', 'node1.rescue.test']);
            expect(wrong.ok, `Go must refuse ${role} for ${eku} auth`).to.equal(false);
            expect(wrong.error).to.match(/incompatible key usage/);
          }
          const wrongName = await goVerify(ca.certFile, leaf.certFile, ['-eku', ekus[0]!, '-dns', 'node2.rescue.test']);
          expect(wrongName.ok).to.equal(false);
          expect(wrongName.error).to.match(/valid for node1\.rescue\.test, localhost, not node2\.rescue\.test/);
          const wrongIp = await goVerify(ca.certFile, leaf.certFile, ['-eku', ekus[0]!, '-ip', '::2']);
          expect(wrongIp.ok).to.equal(false);
          expect(wrongIp.error).to.match(/not ::2$/);
          // A minute inside the 5-minute backdate is valid; a minute outside is not.
          const backdated = await goVerify(ca.certFile, leaf.certFile, ['-eku', ekus[0]!, '-at', new Date(NOW.getTime() - 4 * MINUTE).toISOString()]);
          expect(backdated.ok, backdated.error).to.equal(true);
        });

        it(`${role}: serial >= 64 bits, ${algorithm.signature}, SKI = SHA-1(key), AKI = CA SKI, issuer bytes = CA subject bytes, not-before NOW-5m`, async () => {
          const { ca, leaves } = fixture(algorithm.slug);
          const leaf = leaves[role];
          const pem = leaf.generated.certificate.pem;
          const [view, caView] = await Promise.all([opensslView(leaf.certFile), opensslView(ca.certFile)]);
          expect(view.text).to.match(algorithm.keyText);
          expect(view.signatureAlgorithms).to.deep.equal([algorithm.signature, algorithm.signature]);
          expect(view.basicConstraints).to.equal('critical CA:FALSE');
          expect(view.keyUsage).to.equal('critical Digital Signature, Key Encipherment');
          expect(view.extKeyUsage).to.equal(ekuText);
          expect(view.san).to.equal(
            'DNS:node1.rescue.test, DNS:localhost, IP Address:127.0.0.1, IP Address:10.96.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:1',
          );
          expect(view.subjectKeyId).to.equal(expectedKeyId(pem));
          expect(view.subjectKeyId).to.not.equal(caView.subjectKeyId);
          expect(view.authorityKeyId).to.equal(caView.subjectKeyId);
          expectSerialPositive64(view, pem);
          expect(view.serialHex).to.not.equal(caView.serialHex);
          const leafParts = tbsParts(pem);
          const caParts = tbsParts(ca.generated.certificate.pem);
          expect(leafParts.issuer.raw.toString('hex')).to.equal(caParts.subject.raw.toString('hex'));
          expect(view.notBefore.getTime()).to.equal(NOW.getTime() - 5 * MINUTE);
          expect(view.notAfter.getTime()).to.equal(NOW.getTime() + 8760 * HOUR);
          expect(leaf.generated.warnings).to.deep.equal([]);
        });
      }
    });
  }

  describe('names: string types as Go writes them', () => {
    /** (attribute, ASN.1 string type, value) for each attribute of a DER Name, as `openssl asn1parse` reads it. */
    async function nameTypes(nameDer: Buffer, file: string): Promise<{ attribute: string; type: string; value: string }[]> {
      writeFileSync(file, nameDer);
      const { stdout } = await execa('openssl', ['asn1parse', '-inform', 'DER', '-in', file]);
      const out: { attribute: string; type: string; value: string }[] = [];
      let attribute: string | undefined;
      for (const line of stdout.split('\n')) {
        const match = /prim: (\S+)\s*:(.*)$/.exec(line);
        if (!match) continue;
        if (match[1] === 'OBJECT') attribute = match[2]!.trim();
        else if (attribute) {
          out.push({ attribute, type: match[1]!, value: match[2]! });
          attribute = undefined;
        }
      }
      return out;
    }

    it("O with '_' and '@', and O '银行', are UTF8String; a plain O, C and CN are PrintableString; openssl and Go accept CA and leaf", async () => {
      const dir = tempDir('rk-names-');
      const names = [{ C: 'CN', O: 'system_masters@corp' }, { O: '银行' }, { O: 'Plain Org' }];
      const [caKey, leafKey] = await Promise.all([generateKey({ algo: 'ecdsa', size: 256 }), generateKey({ algo: 'ecdsa', size: 256 })]);
      const ca = await initCa(csrRequestFromJson({ CN: 'names-ca', names, key: { algo: 'ecdsa', size: 256 } }), { now: NOW, key: caKey });
      const leaf = await generateCertificate(
        csrRequestFromJson({ CN: 'names-leaf', names, hosts: ['names.rescue.test'], key: { algo: 'ecdsa', size: 256 } }),
        caConfig.profile('server'),
        ca,
        { now: NOW, key: leafKey },
      );
      const caFiles = save(dir, 'ca', ca);
      const leafFiles = save(dir, 'leaf', leaf);
      const expected = (cn: string) => [
        { attribute: 'countryName', type: 'PRINTABLESTRING', value: 'CN' },
        { attribute: 'organizationName', type: 'UTF8STRING', value: '银行' },
        { attribute: 'organizationName', type: 'PRINTABLESTRING', value: 'Plain Org' },
        { attribute: 'organizationName', type: 'UTF8STRING', value: 'system_masters@corp' },
        { attribute: 'commonName', type: 'PRINTABLESTRING', value: cn },
      ];
      const caTypes = await nameTypes(tbsParts(ca.certificate.pem).subject.raw, join(dir, 'ca-subject.der'));
      const leafTypes = await nameTypes(tbsParts(leaf.certificate.pem).subject.raw, join(dir, 'leaf-subject.der'));
      expect(caTypes).to.have.deep.members(expected('names-ca'));
      expect(leafTypes).to.have.deep.members(expected('names-leaf'));
      expect(leafTypes).to.have.length(5);

      const { stdout: subject } = await execa('openssl', ['x509', '-in', leafFiles.certFile, '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb']);
      expect(subject).to.include('银行').and.include('system_masters@corp');
      const [verified, output] = await opensslVerify(caFiles.certFile, leafFiles.certFile, ['-x509_strict', '-attime', AT_OPENSSL, '-purpose', 'sslserver']);
      expect(verified, output).to.equal(true);
      const go = (await goVerify(caFiles.certFile, leafFiles.certFile, ['-eku', 'server', '-dns', 'names.rescue.test'])) as Awaited<ReturnType<typeof goCheck>> & { subject?: string; issuer?: string };
      expect(go.ok, go.error).to.equal(true);
      for (const seen of [go.subject, go.issuer]) expect(seen).to.include('O=银行').and.include('O=system_masters@corp').and.include('O=Plain Org').and.include('C=CN');
    });

    it("a CN with '_' (system:node:worker_1) is UTF8String and still verifies", async () => {
      const { ca, dir } = fixture('p256');
      const generated = await generateCertificate(
        csrRequestFromJson({ CN: 'system:node:worker_1', names: [{ O: 'system:nodes' }], hosts: ['worker-1.rescue.test'], key: { algo: 'ecdsa', size: 256 } }),
        caConfig.profile('client'),
        { certificate: ca.generated.certificate, key: ca.generated.key },
        { now: NOW },
      );
      const files = save(dir, 'worker_1', generated);
      const types = await nameTypes(tbsParts(generated.certificate.pem).subject.raw, join(dir, 'worker_1-subject.der'));
      expect(types).to.deep.equal([
        { attribute: 'organizationName', type: 'PRINTABLESTRING', value: 'system:nodes' },
        { attribute: 'commonName', type: 'UTF8STRING', value: 'system:node:worker_1' },
      ]);
      const go = await goVerify(ca.certFile, files.certFile, ['-eku', 'client']);
      expect(go.ok, go.error).to.equal(true);
    });
  });

  describe('mixed algorithms: the signature follows the issuer key', () => {
    const cases = [
      { name: 'an RSA 4096 server leaf under the ECDSA P-256 CA', issuer: 'p256', spec: { algo: 'rsa', size: 4096 } as KeySpec, signature: 'ecdsa-with-SHA256', keyText: /Public-Key: \(4096 bit\)/ },
      { name: 'an ECDSA P-256 server leaf under the ECDSA P-384 CA', issuer: 'p384', spec: { algo: 'ecdsa', size: 256 } as KeySpec, signature: 'ecdsa-with-SHA384', keyText: /NIST CURVE: P-256/ },
      { name: 'an Ed25519 server leaf under the RSA 2048 CA', issuer: 'rsa2048', spec: { algo: 'ed25519' } as KeySpec, signature: 'sha256WithRSAEncryption', keyText: /ED25519 Public-Key:/ },
    ];
    for (const testCase of cases) {
      it(`${testCase.name}: ${testCase.signature}, accepted by openssl and Go`, async () => {
        const { ca, dir } = fixture(testCase.issuer);
        const generated = await generateCertificate(
          leafRequest('mixed.rescue.test', testCase.spec),
          caConfig.profile('server'),
          { certificate: ca.generated.certificate, key: ca.generated.key },
          { now: NOW },
        );
        const leaf = save(dir, `mixed-${testCase.spec.algo}${testCase.spec.size ?? ''}`, generated);
        const view = await opensslView(leaf.certFile);
        expect(view.text).to.match(testCase.keyText);
        expect(view.signatureAlgorithms).to.deep.equal([testCase.signature, testCase.signature]);
        expect(view.subjectKeyId).to.equal(expectedKeyId(generated.certificate.pem));
        const [ok, output] = await opensslVerify(ca.certFile, leaf.certFile, ['-x509_strict', '-attime', AT_OPENSSL, '-purpose', 'sslserver']);
        expect(ok, output).to.equal(true);
        const go = await goVerify(ca.certFile, leaf.certFile, ['-eku', 'server', '-dns', 'node1.rescue.test', '-ip', '::1', '-key', leaf.keyFile]);
        expect(go.ok, go.error).to.equal(true);
      });
    }
  });

  describe('a CA made by openssl, not by rescue-kit (issued at the wall clock: openssl 3.0 cannot backdate)', () => {
    for (const withKeyId of [true, false]) {
      it(`${withKeyId ? 'with' : 'without'} a Subject Key Identifier: the leaf copies its subject bytes as issuer${withKeyId ? ', AKI = its SKI' : ', AKI = SHA-1 of its key'}; openssl and Go verify`, async () => {
        const dir = tempDir('rk-openssl-ca-');
        const caFile = join(dir, 'ca.pem');
        const caKeyFile = join(dir, 'ca-key.pem');
        await execa('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKeyFile, '-out', caFile, '-days', '3650',
          '-subj', '/O=Foreign Org/CN=openssl-ca', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
          ...(withKeyId ? [] : ['-addext', 'subjectKeyIdentifier=none', '-addext', 'authorityKeyIdentifier=none']),
        ]);
        const caPem = readFileSync(caFile, 'utf8');
        const signer = { certificate: parseCertificate(caPem), key: parsePrivateKey(readFileSync(caKeyFile, 'utf8')) };
        const generated = await generateCertificate(leafRequest('from-openssl-ca', { algo: 'ecdsa', size: 256 }), caConfig.profile('server'), signer, { now: new Date() });
        const leaf = save(dir, 'leaf', generated);

        const caSubject = tbsParts(caPem).subject.raw;
        expect(tbsParts(generated.certificate.pem).issuer.raw.toString('hex')).to.equal(caSubject.toString('hex'));
        const { stdout } = await execa('openssl', ['asn1parse', '-in', leaf.certFile]);
        expect(stdout, "openssl's UTF8String subject is copied, not re-encoded").to.match(/UTF8STRING\s+:openssl-ca/);
        const [caView, view] = await Promise.all([opensslView(caFile), opensslView(leaf.certFile)]);
        expect(caView.subjectKeyId, 'the CA as made').to.equal(withKeyId ? expectedKeyId(caPem) : undefined);
        expect(view.authorityKeyId).to.equal(expectedKeyId(caPem));

        const [ok, output] = await opensslVerify(caFile, leaf.certFile, [...(withKeyId ? ['-x509_strict'] : []), '-purpose', 'sslserver']);
        expect(ok, output).to.equal(true);
        const go = await goCheck(['-roots', caFile, '-leaf', leaf.certFile, '-eku', 'server', '-dns', 'node1.rescue.test', '-key', leaf.keyFile]);
        expect(go.ok, go.error).to.equal(true);
      });
    }
  });

  describe('mutual TLS with Node tls (issued at the wall clock)', () => {
    interface TlsSet {
      caPem: string;
      server: GeneratedCertificate;
      client: GeneratedCertificate;
      /** Same subject, same key as `client`, but signed by a look-alike CA (same name, other key). */
      foreignClient: GeneratedCertificate;
    }
    const sets = new Map<string, TlsSet>();

    before(async function () {
      this.timeout(30_000);
      const wallNow = new Date();
      for (const algorithm of ALGORITHMS) {
        const base = fixture(algorithm.slug);
        const caRequest = csrRequestFromJson({ CN: base.caCn, names: [{ C: 'DE', O: 'Rescue Kit Test' }], key: algorithm.spec });
        // The keys are the matrix's; only the certificates are new (valid now).
        const ca = await initCa(caRequest, { now: wallNow, key: base.ca.generated.key });
        const lookAlike = await initCa(caRequest, { now: wallNow, key: base.spareKey });
        const issue = (signer: GeneratedCertificate, role: LeafRole) =>
          generateCertificate(leafRequest(`${role}.${algorithm.slug}`, algorithm.spec), caConfig.profile(role), signer, {
            now: wallNow,
            key: base.leaves[role].generated.key,
          });
        sets.set(algorithm.slug, {
          caPem: ca.certificate.pem,
          server: await issue(ca, 'server'),
          client: await issue(ca, 'client'),
          foreignClient: await issue(lookAlike, 'client'),
        });
      }
    });

    for (const algorithm of ALGORITHMS) {
      it(`${algorithm.label}: handshake succeeds with the issued pair; refused for a look-alike CA's client cert, a server-only cert as client, a wrong server name`, async () => {
        const set = sets.get(algorithm.slug)!;
        const good = await handshake(set, set.client);
        expect(good.clientError?.message, 'client error').to.equal(undefined);
        expect(good.serverError?.message, 'server error').to.equal(undefined);
        expect(good.reply).to.equal(`hello client.${algorithm.slug}`);
        expect(good.serverAuthorized).to.equal(true);

        // Same subject, same key, an issuer of the same name: only the CA key (and so AKI and signature) differs.
        const foreign = await handshake(set, set.foreignClient);
        expect(foreign.secured, 'the server must not accept the connection').to.equal(false);
        expect(foreign.reply).to.equal('');
        expect(foreign.serverError, 'the server reports the refused handshake').to.be.instanceOf(Error);
        // Why (a server that does not reject tells): the chain, not the network.
        const foreignWhy = await handshake(set, set.foreignClient, false);
        expect(foreignWhy.serverAuthorized).to.equal(false);
        expect(foreignWhy.authorizationError).to.match(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER_CERT/);

        // The server-profile certificate has no clientAuth EKU: refused as a client certificate.
        const serverAsClient = await handshake(set, set.server);
        expect(serverAsClient.secured).to.equal(false);
        expect(serverAsClient.reply).to.equal('');
        const serverAsClientWhy = await handshake(set, set.server, false);
        expect(serverAsClientWhy.authorizationError).to.equal('INVALID_PURPOSE');

        // The client checks the server's DNS SAN.
        const wrongName = await handshake(set, set.client, true, 'node2.rescue.test');
        expect(wrongName.reply).to.equal('');
        expect((wrongName.clientError as NodeJS.ErrnoException | undefined)?.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      });
    }
  });
});

interface HandshakeResult {
  reply: string;
  /** The server accepted the connection ('secureConnection'). */
  secured: boolean;
  serverAuthorized: boolean;
  authorizationError?: string;
  serverError?: Error;
  clientError?: Error;
}

/**
 * One connection on 127.0.0.1: the server requires a client certificate signed by
 * caPem and answers "hello <client CN>". With rejectUnauthorized false it accepts
 * anyway, so the test can read why it would have refused.
 */
async function handshake(
  set: { caPem: string; server: GeneratedCertificate },
  client: GeneratedCertificate,
  rejectUnauthorized = true,
  servername = 'node1.rescue.test',
): Promise<HandshakeResult> {
  const result: HandshakeResult = { reply: '', secured: false, serverAuthorized: false };
  const server = tls.createServer(
    { key: set.server.keyPem, cert: set.server.certificate.pem, ca: set.caPem, requestCert: true, rejectUnauthorized },
    (socket) => {
      result.secured = true;
      result.serverAuthorized = socket.authorized;
      result.authorizationError = socket.authorizationError?.toString();
      socket.end(`hello ${socket.getPeerCertificate().subject?.CN}`);
    },
  );
  server.on('tlsClientError', (error) => (result.serverError = error));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  result.reply = await new Promise<string>((resolve) => {
    let data = '';
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: set.caPem, cert: client.certificate.pem, key: client.keyPem });
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (error) => (result.clientError = error));
    socket.on('close', () => resolve(data));
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return result;
}
