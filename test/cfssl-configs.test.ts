// cfssl compatibility, case by case: each ca-config.json + CSR JSON is run
// through Debian's cfssl binary AND `rescue-kit issue`, and the two must agree
// — accepted or refused, and when accepted the same key usages, extended key
// usages, lifetime, subject and SANs — except in the few places where cfssl is
// silently wrong, where the table says what we do instead and why.
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseCertificate } from '../lib/pki/certificate.js';
import { cliPath, tempDir } from './helpers/env.js';

interface Case {
  name: string;
  config: string;
  csr?: object;
  profile?: string;
  hostname?: string;
  /** Where cfssl is silently wrong: what rescue-kit does instead, and why. */
  divergence?: { ours: 'accept' | 'refuse' | 'cap'; why: string };
}

const HARD_WAY = JSON.stringify({ signing: { default: { expiry: '720h' }, profiles: { kubernetes: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '720h' } } } });
const SERVER = ['signing', 'key encipherment', 'server auth'];
const config = (signing: object) => JSON.stringify({ signing });
const CSR = { CN: 'kube-apiserver', hosts: ['kubernetes', 'kubernetes.default', '10.96.0.1', '127.0.0.1'], key: { algo: 'ecdsa', size: 256 }, names: [{ C: 'US', ST: 'Oregon', L: 'Portland', O: 'Kubernetes', OU: 'Kubernetes The Hard Way' }] };

const CASES: Case[] = [
  { name: 'the hard way / seed 004: a default with only "expiry", -profile kubernetes', config: HARD_WAY, profile: 'kubernetes' },
  { name: 'the hard way config without -profile: the default has no usages', config: HARD_WAY },
  { name: 'a default with usages and expiry, no profile', config: config({ default: { usages: SERVER, expiry: '8760h' } }) },
  { name: 'a named profile without usages (even with usages in the default)', config: config({ default: { usages: SERVER, expiry: '8760h' }, profiles: { k: { expiry: '8760h' } } }), profile: 'k' },
  { name: 'a named profile without expiry (not inherited from the default)', config: config({ default: { usages: SERVER, expiry: '8760h' }, profiles: { k: { usages: ['client auth'] } } }), profile: 'k' },
  { name: 'a default without expiry', config: config({ default: { usages: SERVER } }) },
  { name: 'three years (26280h; the CA lasts five)', config: config({ default: { usages: SERVER, expiry: '26280h' } }) },
  { name: 'ECDSA without a size (P-256)', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'ecdsa' } } },
  { name: 'RSA 1024', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'rsa', size: 1024 } } },
  { name: 'a Go duration with minutes (1h30m)', config: config({ default: { usages: SERVER, expiry: '1h30m' } }) },
  { name: 'the misspelled usage cfssl knows ("content committment")', config: config({ default: { usages: ['signing', 'content committment', 'client auth'], expiry: '8760h' } }) },
  { name: 'client auth only, O=system:masters (admin)', config: config({ profiles: { client: { usages: ['signing', 'key encipherment', 'client auth'], expiry: '8760h' } } }), profile: 'client', csr: { CN: 'admin', key: { algo: 'rsa', size: 2048 }, names: [{ O: 'system:masters' }] } },
  { name: 'server and client auth (peer)', config: config({ profiles: { peer: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '8760h' } } }), profile: 'peer' },
  { name: 'an intermediate CA profile (ca_constraint is_ca)', config: config({ profiles: { ica: { usages: ['cert sign', 'crl sign'], expiry: '43800h', ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true } } } }), profile: 'ica', csr: { CN: 'etcd-ca', key: { algo: 'ecdsa', size: 256 } } },
  { name: 'usages that are all unknown', config: config({ default: { usages: ['bogus', 'nonsense'], expiry: '8760h' } }) },
  { name: 'malformed JSON', config: '{"signing": {"default": {"expiry": "8760h",}}}' },
  { name: 'an RSA 2048 key', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'rsa', size: 2048 } } },
  { name: 'an RSA key without a size', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'rsa' } } },
  { name: 'a CSR without "key" (cfssl: ECDSA P-256)', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { CN: 'no-key', hosts: ['no-key.example'] } },
  { name: 'a CSR without hosts', config: config({ default: { usages: ['signing', 'client auth'], expiry: '8760h' } }), csr: { CN: 'system:kube-scheduler', key: { algo: 'ecdsa', size: 256 }, names: [{ O: 'system:kube-scheduler' }] } },
  { name: '-hostname replaces the CSR hosts', config: config({ default: { usages: SERVER, expiry: '8760h' } }), hostname: 'worker-0,worker-0.example,10.240.0.20' },
  { name: 'a full subject (C, ST, L, O, OU) and mixed DNS/IP hosts', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: CSR },
  { name: 'ECDSA P-384', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'ecdsa', size: 384 } } },
  {
    name: 'a mistyped -profile',
    config: config({ default: { usages: SERVER, expiry: '8760h' }, profiles: { kubernetes: { usages: ['client auth'], expiry: '720h' } } }),
    profile: 'kubernets',
    divergence: { ours: 'refuse', why: 'cfssl silently signs with the default profile instead (other usages, other lifetime)' },
  },
  { name: 'expiry "365d"', config: config({ default: { usages: SERVER, expiry: '365d' } }), divergence: { ours: 'accept', why: 'cfssl takes Go durations only; days are what operators write' } },
  {
    name: 'a leaf asked to outlive its CA (ten years from a five-year CA)',
    config: config({ default: { usages: SERVER, expiry: '87600h' } }),
    divergence: { ours: 'cap', why: 'cfssl signs past the CA, and such a leaf stops verifying when the CA expires: ours ends with the CA, with a warning' },
  },
  { name: 'an Ed25519 key', config: config({ default: { usages: SERVER, expiry: '8760h' } }), csr: { ...CSR, key: { algo: 'ed25519' } }, divergence: { ours: 'accept', why: "Debian's cfssl 1.2 predates Ed25519 (cfssl 1.6 has it)" } },
  { name: 'a negative expiry', config: config({ default: { usages: SERVER, expiry: '-8760h' } }), divergence: { ours: 'refuse', why: 'cfssl signs a certificate that expired before it was made' } },
];

interface Outcome {
  ok: boolean;
  error: string;
  pem?: string;
}

const CA_DIR = tempDir('rk-cfssl-configs-');

async function runCfssl(dir: string, testCase: Case): Promise<Outcome> {
  const args = ['gencert', '-ca', join(CA_DIR, 'ca.pem'), '-ca-key', join(CA_DIR, 'ca-key.pem'), '-config', join(dir, 'config.json')];
  if (testCase.profile) args.push('-profile', testCase.profile);
  if (testCase.hostname) args.push('-hostname', testCase.hostname);
  const result = await execa('cfssl', [...args, join(dir, 'csr.json')], { reject: false });
  const pem = result.exitCode === 0 ? (JSON.parse(String(result.stdout)) as { cert?: string }).cert : undefined;
  return { ok: Boolean(pem), error: String(result.stderr).split('\n').filter((line) => !/\[INFO\]|\[WARNING\]/.test(line)).join(' ').trim() || String(result.stdout).slice(0, 200), pem };
}

async function runOurs(dir: string, testCase: Case): Promise<Outcome> {
  const args = ['issue', join(dir, 'csr.json'), '--ca', join(CA_DIR, 'ca.pem'), '--ca-key', join(CA_DIR, 'ca-key.pem'), '--config', join(dir, 'config.json'), '--json'];
  if (testCase.profile) args.push('--profile', testCase.profile);
  if (testCase.hostname) args.push('--hostname', testCase.hostname);
  const result = await execa('node', [cliPath, ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
  const pem = result.exitCode === 0 ? (JSON.parse(String(result.stdout)) as { cert?: string }).cert : undefined;
  return { ok: Boolean(pem), error: String(result.stderr).trim(), pem };
}

/** What the two must agree on when both sign. */
function essentials(pem: string) {
  const certificate = parseCertificate(pem);
  const lifetimeHours = Math.round((certificate.notAfter.getTime() - Date.now()) / 3_600_000);
  return {
    keyUsage: [...certificate.keyUsage].sort(),
    extKeyUsage: [...certificate.extKeyUsage].sort(),
    isCA: certificate.isCA,
    lifetimeHours,
    subject: certificate.subject.map((attribute) => `${attribute.type}=${attribute.value}`).sort(),
    sans: [...certificate.sans.dns, ...certificate.sans.ips].sort(),
    key: certificate.key.label,
  };
}

describe(`cfssl compatibility: ${CASES.length} ca-config.json / CSR JSON cases through Debian's cfssl and rescue-kit issue`, function () {
  this.timeout(60_000);

  before(async () => {
    writeFileSync(join(CA_DIR, 'ca-csr.json'), JSON.stringify({ CN: 'Kubernetes', key: { algo: 'rsa', size: 2048 }, names: [{ O: 'Kubernetes' }] }));
    const ca = await execa('cfssl', ['gencert', '-initca', join(CA_DIR, 'ca-csr.json')]);
    const { cert, key } = JSON.parse(String(ca.stdout)) as { cert: string; key: string };
    writeFileSync(join(CA_DIR, 'ca.pem'), cert);
    writeFileSync(join(CA_DIR, 'ca-key.pem'), key, { mode: 0o600 });
  });

  CASES.forEach((testCase, index) => {
    const expected = testCase.divergence ? ` (we ${testCase.divergence.ours}: ${testCase.divergence.why})` : '';
    it(`${index + 1}. ${testCase.name}${expected}`, async () => {
      const dir = join(CA_DIR, `case-${index + 1}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'config.json'), testCase.config);
      writeFileSync(join(dir, 'csr.json'), JSON.stringify(testCase.csr ?? CSR));
      const [cfssl, ours] = await Promise.all([runCfssl(dir, testCase), runOurs(dir, testCase)]);
      if (testCase.divergence?.ours === 'cap') {
        expect(cfssl.ok && ours.ok, `both sign: cfssl ${cfssl.error} / ours ${ours.error}`).to.equal(true);
        const caNotAfter = parseCertificate(readFileSync(join(CA_DIR, 'ca.pem'), 'utf8')).notAfter.getTime();
        expect(parseCertificate(ours.pem!).notAfter.getTime(), 'ours ends with the CA').to.equal(caNotAfter);
        expect(parseCertificate(cfssl.pem!).notAfter.getTime(), 'cfssl goes past the CA').to.be.greaterThan(caNotAfter);
        expect(ours.error).to.match(/capped to the CA's expiry/);
        return;
      }
      if (testCase.divergence) {
        expect(ours.ok, `ours: ${ours.error}`).to.equal(testCase.divergence.ours === 'accept');
        expect(cfssl.ok, `cfssl is expected to do the opposite: ${cfssl.error}`).to.equal(!ours.ok);
        if (!ours.ok) expect(ours.error, 'our refusal names the field').to.match(/profile|expiry|negative/);
        else expect(essentials(ours.pem!).extKeyUsage).to.include('server auth');
        return;
      }
      expect(ours.ok, `cfssl ${cfssl.ok ? 'accepted' : `refused (${cfssl.error})`}, ours ${ours.ok ? 'accepted' : `refused: ${ours.error}`}`).to.equal(cfssl.ok);
      if (!ours.ok) {
        expect(ours.error, 'a refusal says where and what to do').to.match(/hint:/);
        return;
      }
      const theirs = essentials(cfssl.pem!);
      const mine = essentials(ours.pem!);
      // cfssl and we both sign "now + expiry"; allow the clock to tick between the two runs.
      expect(Math.abs(mine.lifetimeHours - theirs.lifetimeHours), `lifetime ${mine.lifetimeHours}h vs cfssl ${theirs.lifetimeHours}h`).to.be.at.most(1);
      expect({ ...mine, lifetimeHours: 0 }).to.deep.equal({ ...theirs, lifetimeHours: 0 });
    });
  });
});
