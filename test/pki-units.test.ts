// Unit tests of lib/pki and lib/config pieces, each cross-checked against
// openssl or Go where an outside opinion exists: durations and validity
// windows, host classification, DER encoding, key import, weak keys, PEM
// damage, CSRs, and chain verification.
import { expect } from 'chai';
import { generateKeyPair } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import {
  CaConfig,
  classifyHosts,
  computeValidity,
  createCsr,
  csrRequestFromJson,
  decodeSans,
  describeKey,
  encodeSans,
  generateCertificate,
  GeneratedCertificate,
  generateKey,
  initCa,
  issueCertificate,
  KeySpec,
  loadCaConfig,
  parseCertificate,
  parseCsr,
  parseCsrDer,
  parseDuration,
  parsePrivateKey,
  RescueError,
  signRequest,
  spkiDer,
  verifyChain,
} from '../lib/index.js';
import * as der from '../lib/pki/der.js';
import { goCheck, goChecker, opensslVerify, repoRoot, tempDir } from './helpers/env.js';

const NOW = new Date('2027-03-15T08:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const generateKeyPairAsync = promisify(generateKeyPair);

/** The RescueError code fn throws (undefined when it does not throw; any other error fails the test). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof RescueError) return error.code;
    throw error;
  }
  return undefined;
}

async function codeOfAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof RescueError) return error.code;
    throw error;
  }
  return undefined;
}

let caConfig: CaConfig;

function save(dir: string, name: string, pem: string): string {
  const file = join(dir, name);
  writeFileSync(file, pem);
  return file;
}

/** DER bytes openssl writes for an ASN1_generate_nconf string such as "OID:1.2.3" or "INTEGER:0x80". */
async function opensslDer(dir: string, spec: string): Promise<Buffer> {
  const file = join(dir, `gen-${Math.random().toString(36).slice(2)}.der`);
  await execa('openssl', ['asn1parse', '-genstr', spec, '-noout', '-out', file]);
  return readFileSync(file);
}

describe('pki units', () => {
  before(function () {
    this.timeout(60_000);
    goChecker(); // build test/go/x509check once, outside the timed tests
    caConfig = loadCaConfig(readFileSync(join(repoRoot, 'conf/ca-config.json'), 'utf8'), 'conf/ca-config.json');
  });

  describe('parseDuration', () => {
    const accepted: [string, number][] = [
      ['8760h', 8760 * HOUR],
      ['365d', 365 * DAY],
      ['10y', 3650 * DAY],
      ['1h30m', 90 * MINUTE],
      ['2w', 14 * DAY],
      [' 90s ', 90_000],
    ];
    for (const [text, ms] of accepted) {
      it(`"${text}" = ${ms} ms`, () => {
        expect(parseDuration(text)).to.equal(ms);
      });
    }
    for (const text of ['-1h', '0h', '', '365 days', '1x', 'h', '1h-30m', '0']) {
      it(`"${text}" is refused with INVALID_DURATION`, () => {
        expect(codeOf(() => parseDuration(text))).to.equal('INVALID_DURATION');
      });
    }
    it('a profile with a bad expiry is refused when the CA config loads, naming the profile', () => {
      const text = JSON.stringify({ signing: { profiles: { bad: { expiry: '365 days', usages: ['server auth'] } } } });
      let error: unknown;
      try {
        loadCaConfig(text, 'my-ca-config.json');
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(RescueError);
      expect((error as RescueError).code).to.equal('INVALID_DURATION');
      expect((error as RescueError).message).to.include('my-ca-config.json').and.include('/signing/profiles/bad');
    });
  });

  describe('computeValidity', () => {
    const year = 365 * DAY;

    it('backdates not-before by 5 minutes and counts not-after from now', () => {
      const validity = computeValidity({ now: NOW, durationMs: year, issuerNotBefore: new Date(NOW.getTime() - DAY), issuerNotAfter: new Date(NOW.getTime() + 10 * year) });
      expect(validity.notBefore.getTime()).to.equal(NOW.getTime() - 5 * MINUTE);
      expect(validity.notAfter.getTime()).to.equal(NOW.getTime() + year);
      expect(validity.warnings).to.deep.equal([]);
    });

    it("caps not-after to the CA's not-after, with a warning naming that date", () => {
      const issuerNotAfter = new Date(NOW.getTime() + 30 * DAY);
      const validity = computeValidity({ now: NOW, durationMs: year, issuerNotBefore: new Date(NOW.getTime() - DAY), issuerNotAfter });
      expect(validity.notAfter.getTime()).to.equal(issuerNotAfter.getTime());
      expect(validity.warnings).to.have.length(1);
      expect(validity.warnings[0]).to.include(issuerNotAfter.toISOString());
    });

    it("refuses with CA_TOO_SHORT when beyondIssuer is 'refuse'", () => {
      const issuerNotAfter = new Date(NOW.getTime() + 30 * DAY);
      expect(codeOf(() => computeValidity({ now: NOW, durationMs: year, issuerNotAfter, beyondIssuer: 'refuse' }))).to.equal('CA_TOO_SHORT');
      // Fitting inside the CA is fine even when refusing.
      expect(computeValidity({ now: NOW, durationMs: 29 * DAY, issuerNotAfter, beyondIssuer: 'refuse' }).warnings).to.deep.equal([]);
    });

    it('throws CA_EXPIRED for a CA that expired (or expires exactly) at now, whatever beyondIssuer says', () => {
      for (const beyondIssuer of ['cap', 'refuse'] as const) {
        expect(codeOf(() => computeValidity({ now: NOW, durationMs: year, issuerNotAfter: new Date(NOW.getTime() - 1000), beyondIssuer }))).to.equal('CA_EXPIRED');
        expect(codeOf(() => computeValidity({ now: NOW, durationMs: year, issuerNotAfter: NOW, beyondIssuer }))).to.equal('CA_EXPIRED');
      }
      expect(codeOf(() => computeValidity({ now: NOW, durationMs: year, issuerNotBefore: new Date(NOW.getTime() + HOUR), issuerNotAfter: new Date(NOW.getTime() + year) }))).to.equal('CA_EXPIRED');
    });

    it('never starts before the CA does (a CA made a minute ago)', () => {
      const issuerNotBefore = new Date(NOW.getTime() - MINUTE);
      const validity = computeValidity({ now: NOW, durationMs: DAY, issuerNotBefore, issuerNotAfter: new Date(NOW.getTime() + year) });
      expect(validity.notBefore.getTime()).to.equal(issuerNotBefore.getTime());
    });

    it('end to end: a leaf under a 30-day CA is capped (openssl sees the same not-after) or refused, and an expired CA signs nothing', async () => {
      const dir = tempDir('rk-validity-');
      const caRequest = csrRequestFromJson({ CN: 'short-ca', key: { algo: 'ecdsa', size: 256 }, ca: { expiry: '720h' } });
      const [ca, leafKey] = await Promise.all([initCa(caRequest, { now: NOW }), generateKey({ algo: 'ecdsa', size: 256 })]);
      const request = csrRequestFromJson({ CN: 'capped', hosts: ['capped.rescue.test'], key: { algo: 'ecdsa', size: 256 } });
      const later = new Date(NOW.getTime() + DAY);
      const capped = await generateCertificate(request, caConfig.profile('server'), ca, { now: later, key: leafKey });
      expect(capped.warnings).to.have.length(1);
      const caFile = save(dir, 'ca.pem', ca.certificate.pem);
      const leafFile = save(dir, 'leaf.pem', capped.certificate.pem);
      const endDate = async (file: string) => (await execa('openssl', ['x509', '-in', file, '-noout', '-enddate'])).stdout;
      expect(await endDate(leafFile)).to.equal(await endDate(caFile));
      expect(ca.certificate.notAfter.getTime()).to.equal(NOW.getTime() + 30 * DAY);
      const [ok, output] = await opensslVerify(caFile, leafFile, ['-attime', String(later.getTime() / 1000)]);
      expect(ok, output).to.equal(true);

      expect(await codeOfAsync(() => generateCertificate(request, caConfig.profile('server'), ca, { now: later, key: leafKey, beyondIssuer: 'refuse' }))).to.equal('CA_TOO_SHORT');
      const afterExpiry = new Date(NOW.getTime() + 31 * DAY);
      expect(await codeOfAsync(() => generateCertificate(request, caConfig.profile('server'), ca, { now: afterExpiry, key: leafKey }))).to.equal('CA_EXPIRED');
    });
  });

  describe('classifyHosts and SAN encoding', () => {
    const hosts = ['node1.example.com', '10.0.0.1', '::1', '2001:db8::1', 'admin@example.com', 'spiffe://cluster.local/ns/default/sa/api', '*.apps.example.com', ' a '];

    it('sorts hosts into DNS (wildcard too, trimmed), IPv4/IPv6, email and URI', () => {
      expect(classifyHosts(hosts)).to.deep.equal({
        dns: ['node1.example.com', '*.apps.example.com', 'a'],
        ips: ['10.0.0.1', '::1', '2001:db8::1'],
        emails: ['admin@example.com'],
        uris: ['spiffe://cluster.local/ns/default/sa/api'],
      });
    });

    it('normalizes IPv6 spellings and removes duplicates', () => {
      const sans = classifyHosts(['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1', '0:0:0:0:0:0:0:1', '::ffff:192.0.2.1', 'fe80:0:0:1::']);
      expect(sans.ips).to.deep.equal(['2001:db8::1', '::1', '::ffff:c000:201', 'fe80:0:0:1::']);
    });

    it('a URI with user info is a URI SAN, not an email (cfssl: mail.ParseAddress refuses it, url.ParseRequestURI takes it)', () => {
      const sans = classifyHosts(['https://deploy@registry.rescue.test/v2', 'ops@rescue.test']);
      expect(sans.uris).to.deep.equal(['https://deploy@registry.rescue.test/v2']);
      expect(sans.emails).to.deep.equal(['ops@rescue.test']);
    });

    for (const bad of ['', '   ', 'has space', 'bad..dots', '-leading.example.com']) {
      it(`refuses ${JSON.stringify(bad)} with INVALID_HOST`, () => {
        expect(codeOf(() => classifyHosts(['ok.example.com', bad]))).to.equal('INVALID_HOST');
      });
    }

    it('encodeSans -> decodeSans round-trips, and openssl and Go read the same names from a signed certificate', async () => {
      const sans = classifyHosts(hosts);
      expect(decodeSans(encodeSans(sans))).to.deep.equal(sans);

      const dir = tempDir('rk-sans-');
      const [caKey, leafKey] = await Promise.all([generateKey({ algo: 'ecdsa', size: 256 }), generateKey({ algo: 'ecdsa', size: 256 })]);
      const ca = await initCa(csrRequestFromJson({ CN: 'sans-ca', key: { algo: 'ecdsa', size: 256 } }), { now: NOW, key: caKey });
      const leaf = await generateCertificate(csrRequestFromJson({ CN: 'sans', hosts, key: { algo: 'ecdsa', size: 256 } }), caConfig.profile('peer'), ca, { now: NOW, key: leafKey });
      const caFile = save(dir, 'ca.pem', ca.certificate.pem);
      const leafFile = save(dir, 'leaf.pem', leaf.certificate.pem);
      const { stdout } = await execa('openssl', ['x509', '-in', leafFile, '-noout', '-ext', 'subjectAltName']);
      const names = stdout.split('\n')[1]!.trim().split(', ');
      expect(names).to.have.members([
        'DNS:node1.example.com',
        'DNS:*.apps.example.com',
        'DNS:a',
        'email:admin@example.com',
        'URI:spiffe://cluster.local/ns/default/sa/api',
        'IP Address:10.0.0.1',
        'IP Address:0:0:0:0:0:0:0:1',
        'IP Address:2001:DB8:0:0:0:0:0:1',
      ]);
      const go = await goCheck(['-roots', caFile, '-leaf', leafFile, '-at', '2027-03-15T08:00:00Z', '-eku', 'server', '-dns', 'x.apps.example.com', '-ip', '2001:db8::1']);
      expect(go.ok, go.error).to.equal(true);
      expect(go.dns).to.have.members(sans.dns);
      expect(go.ips).to.have.members(sans.ips);
    });
  });

  describe('DER writer and reader (bytes compared with openssl asn1parse -genstr)', () => {
    let dir: string;
    before(() => {
      dir = tempDir('rk-der-');
    });

    for (const oid of ['2.5.29.37.0', '1.2.840.113549.1.1.11', '1.2.840.10045.4.3.3', '1.3.101.112', '1.3.6.1.4.1.311.21.20', '2.999.16384', '0.9.2342.19200300.100.1.25']) {
      it(`OID ${oid}`, async () => {
        const ours = der.oid(oid);
        expect(ours.toString('hex')).to.equal((await opensslDer(dir, `OID:${oid}`)).toString('hex'));
        expect(der.decodeOid(der.readWhole(ours).content)).to.equal(oid);
      });
    }

    const integers: [string, Buffer, string][] = [
      ['0x80 (top bit set: a 0x00 is prepended)', Buffer.from([0x80]), 'INTEGER:128'],
      ['0xff', Buffer.from([0xff]), 'INTEGER:255'],
      ['0x00 0x00 0x7f (leading zeros dropped)', Buffer.from([0, 0, 0x7f]), 'INTEGER:127'],
      ['zero', Buffer.from([0]), 'INTEGER:0'],
      ['a 16-byte serial with the top bit set', Buffer.from('f3a1b2c3d4e5f60718293a4b5c6d7e8f', 'hex'), 'INTEGER:0xF3A1B2C3D4E5F60718293A4B5C6D7E8F'],
    ];
    for (const [name, magnitude, spec] of integers) {
      it(`INTEGER ${name}`, async () => {
        const ours = der.unsignedInteger(magnitude);
        expect(ours.toString('hex')).to.equal((await opensslDer(dir, spec)).toString('hex'));
        const content = der.readWhole(ours).content;
        expect(content[0]! & 0x80, 'stays positive').to.equal(0);
        expect(BigInt(`0x${content.toString('hex')}`)).to.equal(BigInt(`0x${magnitude.toString('hex')}`));
      });
    }

    const times: [string, string][] = [
      ['2049-12-31T23:59:59Z', 'UTCTIME:491231235959Z'],
      ['2050-01-01T00:00:00Z', 'GENERALIZEDTIME:20500101000000Z'],
      ['1950-01-01T00:00:00Z', 'UTCTIME:500101000000Z'],
      ['1949-12-31T23:59:59Z', 'GENERALIZEDTIME:19491231235959Z'],
      ['2027-03-15T07:55:00Z', 'UTCTIME:270315075500Z'],
      ['2106-02-07T06:28:16Z', 'GENERALIZEDTIME:21060207062816Z'],
    ];
    for (const [iso, spec] of times) {
      it(`time ${iso} is ${spec.split(':')[0]}`, async () => {
        const date = new Date(iso);
        const ours = der.time(date);
        expect(ours.toString('hex')).to.equal((await opensslDer(dir, spec)).toString('hex'));
        expect(der.decodeTime(der.readWhole(ours)).toISOString()).to.equal(date.toISOString());
      });
    }

    it('long-form lengths (200 and 70000 bytes) read back whole; truncated data is refused', () => {
      for (const size of [127, 128, 200, 256, 70_000]) {
        const content = Buffer.alloc(size, 0xab);
        const encoded = der.octetString(content);
        const node = der.readWhole(encoded);
        expect(node.content.equals(content), `size ${size}`).to.equal(true);
        expect(() => der.readWhole(encoded.subarray(0, encoded.length - 1))).to.throw(der.DerError);
      }
    });

    it('a CA valid past 2050 gets a GeneralizedTime not-after that openssl and Go read correctly', async () => {
      const now = new Date('2045-06-01T00:00:00Z');
      const ca = await initCa(csrRequestFromJson({ CN: 'y2050-ca', key: { algo: 'ecdsa', size: 256 } }), { now });
      const file = save(dir, 'y2050.pem', ca.certificate.pem);
      const { stdout } = await execa('openssl', ['asn1parse', '-in', file]);
      expect(stdout).to.match(/UTCTIME\s+:450531235500Z/);
      expect(stdout).to.match(/GENERALIZEDTIME\s+:20550530000000Z/);
      expect(ca.certificate.notAfter.toISOString()).to.equal('2055-05-30T00:00:00.000Z');
      expect((await goCheck(['-roots', file, '-leaf', file, '-at', '2054-01-01T00:00:00Z'])).ok).to.equal(true);
      expect((await goCheck(['-roots', file, '-leaf', file, '-at', '2055-05-30T00:00:01Z'])).ok).to.equal(false);
    });
  });

  describe('parsePrivateKey (keys made by openssl)', () => {
    const keyCases: { name: string; args: string[]; begin: string; algo: string; size: number }[] = [
      { name: 'PKCS#1 RSA 2048 (genrsa -traditional)', args: ['genrsa', '-traditional'], begin: 'RSA PRIVATE KEY', algo: 'rsa', size: 2048 },
      { name: 'PKCS#8 RSA 3072 (genpkey)', args: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], begin: 'PRIVATE KEY', algo: 'rsa', size: 3072 },
      { name: 'PKCS#8 ECDSA P-384 (genpkey)', args: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], begin: 'PRIVATE KEY', algo: 'ecdsa', size: 384 },
      { name: 'SEC1 ECDSA P-256 (ecparam -genkey -noout)', args: ['ecparam', '-genkey', '-name', 'prime256v1', '-noout'], begin: 'EC PRIVATE KEY', algo: 'ecdsa', size: 256 },
      { name: 'SEC1 ECDSA P-384 after an EC PARAMETERS block (ecparam -genkey)', args: ['ecparam', '-genkey', '-name', 'secp384r1'], begin: 'EC PARAMETERS', algo: 'ecdsa', size: 384 },
      { name: 'PKCS#8 Ed25519 (genpkey)', args: ['genpkey', '-algorithm', 'ED25519'], begin: 'PRIVATE KEY', algo: 'ed25519', size: 256 },
    ];
    const made = new Map<string, { pem: string; publicDer: Buffer }>();

    before(async function () {
      this.timeout(30_000);
      const dir = tempDir('rk-keys-');
      await Promise.all(
        keyCases.map(async (keyCase, index) => {
          const file = join(dir, `key-${index}.pem`);
          await execa('openssl', [...keyCase.args, '-out', file, ...(keyCase.args[0] === 'genrsa' ? ['2048'] : [])]);
          await execa('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER', '-out', `${file}.pub.der`]);
          made.set(keyCase.name, { pem: readFileSync(file, 'utf8'), publicDer: readFileSync(`${file}.pub.der`) });
        }),
      );
    });

    for (const keyCase of keyCases) {
      it(`${keyCase.name}: ${keyCase.algo} ${keyCase.size}, same public key as openssl's, signs a CA Go accepts`, async () => {
        const { pem, publicDer } = made.get(keyCase.name)!;
        expect(pem.startsWith(`-----BEGIN ${keyCase.begin}-----`), 'openssl wrote the expected PEM type').to.equal(true);
        const key = parsePrivateKey(pem);
        const description = describeKey(key);
        expect(description.algo).to.equal(keyCase.algo);
        expect(description.size).to.equal(keyCase.size);
        expect(spkiDer(key).toString('hex')).to.equal(publicDer.toString('hex'));
        const spec: KeySpec = { algo: keyCase.algo as KeySpec['algo'], size: keyCase.size };
        const ca = await initCa(csrRequestFromJson({ CN: 'imported-key-ca', key: spec }), { now: NOW, key });
        const dir = tempDir('rk-imported-');
        const caFile = save(dir, 'ca.pem', ca.certificate.pem);
        // x509check reads the first PEM block only: hand it the key without ecparam's EC PARAMETERS block.
        const keyFile = save(dir, 'ca-key.pem', pem.replace(/-----BEGIN EC PARAMETERS-----[\s\S]*?-----END EC PARAMETERS-----\n/, ''));
        const go = await goCheck(['-roots', caFile, '-leaf', caFile, '-at', '2027-03-15T08:00:00Z', '-key', keyFile]);
        expect(go.ok, go.error).to.equal(true);
      });
    }

    it('an encrypted, a truncated, and a non-key PEM are refused with INVALID_KEY', async () => {
      const dir = tempDir('rk-badkeys-');
      const encrypted = join(dir, 'enc.pem');
      await execa('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:secret', '-out', encrypted]);
      expect(codeOf(() => parsePrivateKey(readFileSync(encrypted, 'utf8')))).to.equal('INVALID_KEY');
      const good = made.get(keyCases[0]!.name)!.pem;
      const lines = good.trimEnd().split('\n');
      const truncated = [...lines.slice(0, 6), lines[lines.length - 1]].join('\n');
      expect(codeOf(() => parsePrivateKey(truncated))).to.equal('INVALID_KEY');
      const ca = await initCa(csrRequestFromJson({ CN: 'x', key: { algo: 'ed25519' } }), { now: NOW });
      expect(codeOf(() => parsePrivateKey(ca.certificate.pem))).to.equal('INVALID_KEY');
    });
  });

  describe('weak keys', () => {
    it('generateKey refuses RSA 1024 with WEAK_KEY', async () => {
      expect(await codeOfAsync(() => generateKey({ algo: 'rsa', size: 1024 }))).to.equal('WEAK_KEY');
    });

    it('issueCertificate refuses a 1024-bit subject key with WEAK_KEY, and so does signing an openssl CSR made with one', async () => {
      const dir = tempDir('rk-weak-');
      const [ca, weak] = await Promise.all([
        initCa(csrRequestFromJson({ CN: 'weak-test-ca', key: { algo: 'ecdsa', size: 256 } }), { now: NOW }),
        generateKeyPairAsync('rsa', { modulusLength: 1024 }),
      ]);
      const profile = caConfig.profile('client');
      const template = { subject: { CN: 'weak' }, sans: classifyHosts([]), usages: profile.usages, isCA: false, durationMs: profile.durationMs };
      expect(codeOf(() => issueCertificate({ template, subjectKey: weak.publicKey, issuer: ca, now: NOW }))).to.equal('WEAK_KEY');
      // Control: the same call with a 2048-bit key succeeds.
      const strong = await generateKey({ algo: 'rsa', size: 2048 });
      expect(issueCertificate({ template, subjectKey: strong, issuer: ca, now: NOW }).certificate.key.label).to.equal('RSA 2048');

      const csrFile = join(dir, 'weak.csr');
      await execa('openssl', ['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'weak.key'), '-subj', '/CN=weak', '-out', csrFile]);
      const csr = parseCsr(readFileSync(csrFile, 'utf8'));
      expect(codeOf(() => signRequest(csr, profile, ca, { now: NOW }))).to.equal('WEAK_KEY');
    });
  });

  describe('PEM damage', () => {
    let pem: string;
    before(async () => {
      pem = (await initCa(csrRequestFromJson({ CN: 'pem-ca', key: { algo: 'ecdsa', size: 256 } }), { now: NOW })).certificate.pem;
    });

    it('the intact PEM parses (control)', () => {
      expect(parseCertificate(pem).commonName).to.equal('pem-ca');
    });

    it('a PEM cut off before its END line gives INVALID_PEM', () => {
      expect(codeOf(() => parseCertificate(pem.slice(0, Math.floor(pem.length / 2))))).to.equal('INVALID_PEM');
    });

    it('a PEM missing body lines (END line kept) gives INVALID_PEM', () => {
      const lines = pem.trimEnd().split('\n');
      const damaged = [...lines.slice(0, 3), ...lines.slice(5)].join('\n');
      expect(codeOf(() => parseCertificate(damaged))).to.equal('INVALID_PEM');
    });

    it('a PEM with a broken base64 character, and a file with no PEM at all, give INVALID_PEM', () => {
      const lines = pem.split('\n');
      lines[2] = `${lines[2]!.slice(0, 10)}!${lines[2]!.slice(11)}`;
      expect(codeOf(() => parseCertificate(lines.join('\n')))).to.equal('INVALID_PEM');
      expect(codeOf(() => parseCertificate('not a certificate\n'))).to.equal('INVALID_PEM');
    });
  });

  describe('CSRs', () => {
    const algorithms: { label: string; spec: KeySpec }[] = [
      { label: 'RSA 2048', spec: { algo: 'rsa', size: 2048 } },
      { label: 'ECDSA P-256', spec: { algo: 'ecdsa', size: 256 } },
      { label: 'ECDSA P-384', spec: { algo: 'ecdsa', size: 384 } },
      { label: 'Ed25519', spec: { algo: 'ed25519' } },
    ];
    const subject = { C: ['CN'], O: ['system:masters', '银行'], OU: ['ops_team'], CN: 'kubernetes-admin' };
    const hosts = ['admin.rescue.test', '10.0.0.7', 'fd00::7', 'admin@rescue.test', 'spiffe://rescue.test/admin'];

    for (const { label, spec } of algorithms) {
      it(`${label}: createCsr -> parseCsr keeps subject and SANs; openssl req -verify passes; one flipped signature byte is refused by both`, async () => {
        const dir = tempDir('rk-csr-');
        const key = await generateKey(spec);
        const sans = classifyHosts(hosts);
        const csr = createCsr(subject, sans, key);
        const parsed = parseCsr(csr.pem);
        expect(parsed.der.equals(csr.der)).to.equal(true);
        // The two O values share one RDN (as Go writes them), in DER SET OF order; C first and CN last.
        expect(parsed.subject.map(({ type, value }) => `${type}=${value}`)).to.have.members(['C=CN', 'O=system:masters', 'O=银行', 'OU=ops_team', 'CN=kubernetes-admin']);
        expect(parsed.subject).to.have.length(5);
        expect(parsed.subject[0]!.type).to.equal('C');
        expect(parsed.subject[4]!.type).to.equal('CN');
        expect(parsed.sans).to.deep.equal(sans);
        expect(spkiDer(parsed.publicKey).equals(spkiDer(key))).to.equal(true);

        const file = save(dir, 'good.csr', csr.pem);
        const good = await execa('openssl', ['req', '-in', file, '-noout', '-verify', '-text', '-nameopt', 'RFC2253,-esc_msb'], { reject: false, all: true });
        expect(good.exitCode, String(good.all)).to.equal(0);
        expect(String(good.all)).to.match(/self-signature verify OK/);
        expect(String(good.all)).to.include('DNS:admin.rescue.test').and.include('IP Address:FD00:0:0:0:0:0:0:7').and.include('银行');

        const flipped = Buffer.from(csr.der);
        flipped[flipped.length - 1]! ^= 0x01; // the signature BIT STRING is the last field
        expect(codeOf(() => parseCsrDer(flipped))).to.equal('INVALID_CSR');
        const badFile = join(dir, 'bad.csr');
        writeFileSync(badFile, flipped);
        const bad = await execa('openssl', ['req', '-inform', 'DER', '-in', badFile, '-noout', '-verify'], { reject: false, all: true });
        // openssl 3.0 exits 0 even when the self-signature fails; its message is what tells.
        expect(String(bad.all), 'openssl agrees the flipped CSR is bad').to.match(/verify failure/).and.not.match(/verify OK/);
      });
    }

    it("an openssl-made CSR: subject and SANs read, and the signed certificate keeps openssl's subject bytes", async () => {
      const dir = tempDir('rk-opensslcsr-');
      const csrFile = join(dir, 'req.csr');
      await execa('openssl', [
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'req.key'),
        '-subj', '/O=system:masters/CN=kubernetes-admin', '-addext', 'subjectAltName=DNS:admin.rescue.test,IP:10.0.0.9', '-out', csrFile,
      ]);
      const csr = parseCsr(readFileSync(csrFile, 'utf8'));
      expect(csr.subjectText).to.equal('O=system:masters, CN=kubernetes-admin');
      expect(csr.sans.dns).to.deep.equal(['admin.rescue.test']);
      expect(csr.sans.ips).to.deep.equal(['10.0.0.9']);
      const ca = await initCa(csrRequestFromJson({ CN: 'csr-ca', key: { algo: 'ecdsa', size: 256 } }), { now: NOW });
      const { certificate } = signRequest(csr, caConfig.profile('client'), ca, { now: NOW });
      expect(certificate.subjectDer.toString('hex')).to.equal(csr.subjectDer.toString('hex'));
      // openssl writes UTF8String for every attribute; a byte-for-byte copy keeps that.
      const certFile = save(dir, 'cert.pem', certificate.pem);
      const { stdout } = await execa('openssl', ['asn1parse', '-in', certFile]);
      expect(stdout).to.match(/UTF8STRING\s+:kubernetes-admin/);
      const caFile = save(dir, 'ca.pem', ca.certificate.pem);
      const [ok, output] = await opensslVerify(caFile, certFile, ['-x509_strict', '-attime', String(NOW.getTime() / 1000), '-purpose', 'sslclient']);
      expect(ok, output).to.equal(true);
    });
  });

  describe('verifyChain', () => {
    let ca: GeneratedCertificate;
    let lookAlike: GeneratedCertificate;
    let other: GeneratedCertificate;
    let leaf: GeneratedCertificate;
    let dir: string;

    before(async function () {
      this.timeout(30_000);
      dir = tempDir('rk-chain-');
      const caRequest = csrRequestFromJson({ CN: 'chain-ca', names: [{ O: 'Rescue Kit Test' }], key: { algo: 'ecdsa', size: 256 } });
      [ca, lookAlike, other] = await Promise.all([
        initCa(caRequest, { now: NOW }),
        initCa(caRequest, { now: NOW }), // same name, same request: only the key differs
        initCa(csrRequestFromJson({ CN: 'unrelated-ca', key: { algo: 'ecdsa', size: 256 } }), { now: NOW }),
      ]);
      leaf = await generateCertificate(csrRequestFromJson({ CN: 'chain-leaf', hosts: ['leaf.rescue.test'], key: { algo: 'ecdsa', size: 256 } }), caConfig.profile('server'), ca, { now: NOW });
    });

    it('ok for the leaf and its CA at NOW', () => {
      const result = verifyChain(leaf.certificate, { roots: [ca.certificate], now: NOW });
      expect(result.problems).to.deep.equal([]);
      expect(result.ok).to.equal(true);
      expect(result.chain.map((link) => link.commonName)).to.deep.equal(['chain-leaf', 'chain-ca']);
    });

    it('a CA with the same subject name but another key: a signature problem, not a name match (openssl agrees)', async () => {
      expect(lookAlike.certificate.subjectDer.equals(ca.certificate.subjectDer), 'the names really are identical').to.equal(true);
      const result = verifyChain(leaf.certificate, { roots: [lookAlike.certificate], now: NOW });
      expect(result.ok).to.equal(false);
      expect(result.problems).to.have.length(1);
      expect(result.problems[0]).to.match(/signature does not verify/);
      // With both trusted, the right one is found whatever the order.
      expect(verifyChain(leaf.certificate, { roots: [lookAlike.certificate, ca.certificate], now: NOW }).ok).to.equal(true);

      const leafFile = save(dir, 'leaf.pem', leaf.certificate.pem);
      const lookAlikeFile = save(dir, 'look-alike.pem', lookAlike.certificate.pem);
      const [ok] = await opensslVerify(lookAlikeFile, leafFile, ['-attime', String(NOW.getTime() / 1000)]);
      expect(ok).to.equal(false);
      expect((await goCheck(['-roots', lookAlikeFile, '-leaf', leafFile, '-at', '2027-03-15T08:00:00Z'])).ok).to.equal(false);
    });

    it('an unrelated CA: no trusted CA named the issuer', () => {
      const result = verifyChain(leaf.certificate, { roots: [other.certificate], now: NOW });
      expect(result.ok).to.equal(false);
      expect(result.problems.join('\n')).to.match(/no trusted CA named "O=Rescue Kit Test, CN=chain-ca"/);
    });

    it('expired at now (a second after not-after), and not yet valid before not-before; checkTime false ignores dates', () => {
      const expiredAt = new Date(leaf.certificate.notAfter.getTime() + 1000);
      const expired = verifyChain(leaf.certificate, { roots: [ca.certificate], now: expiredAt });
      expect(expired.ok).to.equal(false);
      expect(expired.problems).to.have.length(1);
      expect(expired.problems[0]).to.match(/"CN=chain-leaf" expired on/);
      // At exactly not-after it is still valid (RFC 5280: inclusive).
      expect(verifyChain(leaf.certificate, { roots: [ca.certificate], now: leaf.certificate.notAfter }).ok).to.equal(true);

      const early = verifyChain(leaf.certificate, { roots: [ca.certificate], now: new Date(NOW.getTime() - 6 * MINUTE) });
      expect(early.ok).to.equal(false);
      expect(early.problems.join('\n')).to.match(/not valid until/);

      expect(verifyChain(leaf.certificate, { roots: [ca.certificate], now: expiredAt, checkTime: false }).ok).to.equal(true);
    });
  });
});
