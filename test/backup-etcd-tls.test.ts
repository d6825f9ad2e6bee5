// backup (and renew's automatic backup, and the wizard) against a REAL etcd 3.4
// with client-cert auth whose own serving cert is wrong:
//  - expired but from etcd/ca with the right SAN: the snapshot is taken through
//    the verified relay, with a warning, and `etcdctl snapshot status` reads it;
//  - from another CA (same CA name, other key): refused, nothing snapshotted;
//  - a running etcd that cannot be snapshotted: refused (exit 3) without
//    --allow-live-copy, copied with it.
// The relay's verifier is also checked cert by cert against `openssl verify -no_check_time`.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { BackupManifest } from '../lib/ops/archive/backup-manifest.js';
import { judgeServingChain } from '../lib/ops/renewal/etcd-tls.js';
import { Certificate, parseCertificate } from '../lib/pki/certificate.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../lib/pki/keys.js';
import { classifyHosts, emptySans, SubjectAltNames } from '../lib/pki/san.js';
import { issueCertificate, Signer } from '../lib/pki/sign.js';
import { createHost } from '../lib/host/host.js';
import type { Prompter } from '../lib/wizard/prompts.js';
import { runWizard } from '../lib/wizard/flow.js';
import { repoRoot, tempDir } from './helpers/env.js';
import { RunningEtcd, startEtcd } from './helpers/etcd.js';
import { cli, pointManifestsAtEtcd, sandboxRoot, show } from './helpers/renew.js';

const DAY = 86_400_000;
const SERVER_USAGES = parseUsages(['signing', 'key encipherment', 'server auth', 'client auth']);

/** A serving cert for `subjectKey` from `issuer`, valid from `from` for `days`. */
function servingCert(issuer: Signer, subjectKey: Parameters<typeof issueCertificate>[0]['subjectKey'], sans: SubjectAltNames, from: Date, days: number, usages = SERVER_USAGES): Certificate {
  return issueCertificate({ template: { subject: { CN: 'demo-master' }, sans, usages, isCA: false, durationMs: days * DAY }, subjectKey, issuer, now: from }).certificate;
}

async function foreignCa(commonName: string, from = new Date(Date.now() - 400 * DAY), days = 3650): Promise<Signer> {
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({ template: { subject: { CN: commonName }, sans: emptySans(), usages: parseUsages(['cert sign', 'crl sign', 'signing']), isCA: true, durationMs: days * DAY }, subjectKey: key, now: from });
  return { certificate, key };
}

const etcdCa = (pki: string): Signer => ({ certificate: parseCertificate(readFileSync(join(pki, 'etcd/ca.crt'))), key: parsePrivateKey(readFileSync(join(pki, 'etcd/ca.key'))) });

async function manifestOf(archive: string): Promise<BackupManifest> {
  const result = await execa('tar', ['-xzOf', archive, 'rescue-kit/manifest.json'], { reject: false, stdin: 'ignore' });
  expect(result.exitCode, String(result.stderr)).to.equal(0);
  return JSON.parse(String(result.stdout)) as BackupManifest;
}

/** The CLI with a private TMPDIR, so "no relay socket or temp cert left behind" can be checked. */
async function run(args: string[], tmp: string) {
  return cli(args, { TMPDIR: tmp }, 100_000);
}
const strays = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('rescue-kit-'));

describe('etcd serving a bad cert: the relay\'s verifier (real certs, cross-checked with openssl verify -no_check_time)', function () {
  this.timeout(60_000);
  const now = new Date();
  const sans = classifyHosts(['demo-master', 'localhost', '127.0.0.1', '::1']);
  let ca: Signer;
  let dir: string;

  before(async () => {
    ca = await foreignCa('etcd-ca');
    dir = tempDir('rk-judge-');
    writeFileSync(join(dir, 'ca.crt'), ca.certificate.pem);
  });

  /** openssl's view with every date ignored: must agree with us wherever dates are not the question. */
  async function opensslNoTime(leaf: Certificate, address: string): Promise<boolean> {
    writeFileSync(join(dir, 'leaf.crt'), leaf.pem);
    const check = /^[\d.]+$|:/.test(address) ? ['-verify_ip', address] : ['-verify_hostname', address];
    const result = await execa('openssl', ['verify', '-no_check_time', '-purpose', 'sslserver', ...check, '-CAfile', join(dir, 'ca.crt'), join(dir, 'leaf.crt')], { reject: false, stdin: 'ignore' });
    return result.exitCode === 0;
  }

  const cases: { title: string; make: () => Promise<{ leaf: Certificate; roots?: Buffer }>; address: string; verdict: string; detail?: RegExp; opensslAgrees: boolean }[] = [
    { title: 'valid, from etcd/ca, naming 127.0.0.1', make: async () => ({ leaf: servingCert(ca, await generateKey(), sans, new Date(now.getTime() - DAY), 30) }), address: '127.0.0.1', verdict: 'valid', opensslAgrees: true },
    { title: 'EXPIRED, from etcd/ca, naming 127.0.0.1', make: async () => ({ leaf: servingCert(ca, await generateKey(), sans, new Date(now.getTime() - 60 * DAY), 30) }), address: '127.0.0.1', verdict: 'expired', detail: /expired on .*only its expiry is ignored/, opensslAgrees: true },
    { title: 'EXPIRED, from etcd/ca, dialled as localhost (DNS SAN)', make: async () => ({ leaf: servingCert(ca, await generateKey(), sans, new Date(now.getTime() - 60 * DAY), 30) }), address: 'localhost', verdict: 'expired', opensslAgrees: true },
    {
      title: 'EXPIRED, from ANOTHER CA with the same name "etcd-ca"',
      make: async () => ({ leaf: servingCert(await foreignCa('etcd-ca'), await generateKey(), sans, new Date(now.getTime() - 60 * DAY), 30) }),
      address: '127.0.0.1',
      verdict: 'untrusted',
      detail: /signature does not verify/,
      opensslAgrees: false,
    },
    {
      title: 'EXPIRED, from etcd/ca, but not naming 127.0.0.1',
      make: async () => ({ leaf: servingCert(ca, await generateKey(), classifyHosts(['elsewhere', '10.9.9.9']), new Date(now.getTime() - 60 * DAY), 30) }),
      address: '127.0.0.1',
      verdict: 'untrusted',
      detail: /does not name 127\.0\.0\.1/,
      opensslAgrees: false,
    },
    {
      title: 'EXPIRED, from etcd/ca, client auth only',
      make: async () => ({ leaf: servingCert(ca, await generateKey(), sans, new Date(now.getTime() - 60 * DAY), 30, parseUsages(['signing', 'client auth'])) }),
      address: '127.0.0.1',
      verdict: 'untrusted',
      detail: /not for server auth/,
      opensslAgrees: false,
    },
    // Dates other than the serving cert's notAfter still count (openssl -no_check_time ignores them: not compared).
    { title: 'not yet valid', make: async () => ({ leaf: servingCert(ca, await generateKey(), sans, new Date(now.getTime() + DAY), 30) }), address: '127.0.0.1', verdict: 'untrusted', detail: /not valid until/, opensslAgrees: true },
    {
      title: 'EXPIRED leaf of an EXPIRED CA',
      make: async () => {
        const old = await foreignCa('etcd-ca', new Date(now.getTime() - 400 * DAY), 300);
        return { leaf: servingCert(old, await generateKey(), sans, new Date(now.getTime() - 200 * DAY), 30), roots: Buffer.from(old.certificate.pem) };
      },
      address: '127.0.0.1',
      verdict: 'untrusted',
      detail: /CA "CN=etcd-ca" is expired/,
      opensslAgrees: true,
    },
  ];
  for (const entry of cases) {
    it(`${entry.title}: ${entry.verdict}`, async () => {
      const { leaf, roots } = await entry.make();
      const verdict = judgeServingChain([leaf], roots ?? Buffer.from(ca.certificate.pem), entry.address, now);
      expect(verdict.verdict, verdict.detail).to.equal(entry.verdict);
      if (entry.detail) expect(verdict.detail).to.match(entry.detail);
      if (!roots) expect(await opensslNoTime(leaf, entry.address), 'openssl verify -no_check_time').to.equal(entry.opensslAgrees);
    });
  }
});

describe('backup of a real etcd whose own serving cert has EXPIRED (from etcd/ca, right SAN)', function () {
  this.timeout(120_000);
  let root: string;
  let pki: string;
  let etcd: RunningEtcd | undefined;

  before(async () => {
    root = await sandboxRoot({ expiredDaysAgo: -100 }); // leaves valid for 100 days: only the serving cert is the problem
    pki = join(root, 'etc/kubernetes/pki');
    const old = parseCertificate(readFileSync(join(pki, 'etcd/server.crt')));
    const expired = servingCert(etcdCa(pki), parsePrivateKey(readFileSync(join(pki, 'etcd/server.key'))), old.sans, new Date(Date.now() - 60 * DAY), 30);
    writeFileSync(join(pki, 'etcd/server.crt'), expired.pem);
    etcd = await startEtcd({ pkiDir: pki, dataDir: join(tempDir('rk-etcd-data-'), 'data'), skipServerVerify: true });
    const put = await etcd.etcdctl(['put', '/rescue-kit/expired-server', 'still here']);
    expect(put.exitCode, put.stderr).to.equal(0);
    pointManifestsAtEtcd(root, etcd.clientUrl);
  });
  after(async () => {
    await etcd?.stop();
  });

  it('(setup) the serving cert is expired, and etcdctl with TLS verification refuses it (why backup used to say "etcd does not answer")', async () => {
    const check = await execa('openssl', ['x509', '-in', join(pki, 'etcd/server.crt'), '-noout', '-checkend', '0'], { reject: false });
    expect(check.exitCode).to.not.equal(0);
    const verified = await execa('etcdctl', [`--endpoints=${etcd!.clientUrl}`, `--cacert=${pki}/etcd/ca.crt`, `--cert=${pki}/etcd/healthcheck-client.crt`, `--key=${pki}/etcd/healthcheck-client.key`, '--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health'], { reject: false, stdin: 'ignore', env: { ETCDCTL_API: '3' } });
    expect(verified.exitCode).to.not.equal(0);
  });

  it('backup takes a real snapshot through the verified relay, warns that only the expiry was ignored, and leaves nothing in TMPDIR', async () => {
    const tmp = tempDir('rk-tmpdir-');
    const archive = join(tempDir('rk-archives-'), 'expired-server.tar.gz');
    const made = await run(['backup', '--root', root, '--out', archive, '--json'], tmp);
    expect(made.exitCode, show(made)).to.equal(0);
    const summary = JSON.parse(made.stdout) as { etcd: { method: string; endpoint: string; note: string }; warnings: string[] };
    expect(summary.etcd.method).to.equal('snapshot');
    expect(summary.etcd.endpoint).to.equal(etcd!.clientUrl);
    expect(summary.etcd.note).to.match(/serving cert had expired .*trusting etcd\/ca\.crt, ignoring only that expiry/);
    expect(made.stderr).to.match(/warning: etcd's serving cert "CN=demo-master" expired on \S+ \(signed by etcd\/ca\.crt and naming 127\.0\.0\.1: only its expiry is ignored\)/);
    expect(made.stderr).to.not.include('does not answer');
    const manifest = await manifestOf(archive);
    expect(manifest.etcd.method).to.equal('snapshot');
    expect(manifest.warnings.join('\n')).to.match(/ignoring only that expiry; renew it: rescue-kit renew etcd-server/);
    expect(manifest.entries.some((entry) => entry.path.startsWith('var/lib/etcd'))).to.equal(false);
    expect(strays(tmp), 'relay socket dir / temp files left').to.deep.equal([]);

    // The snapshot is real: backup verify runs etcdctl snapshot status on it, and it holds our key.
    const verify = await run(['backup', 'verify', archive, '--json'], tmp);
    expect(verify.exitCode, show(verify)).to.equal(0);
    const status = JSON.parse((JSON.parse(verify.stdout) as { etcd: { snapshotStatus: string } }).etcd.snapshotStatus) as { totalKey: number; revision: number };
    expect(status.totalKey).to.be.at.least(1);
    expect(status.revision).to.be.at.least(2);
    const extracted = tempDir('rk-snap-');
    await execa('tar', ['-xzf', archive, '-C', extracted, 'rescue-kit/etcd-snapshot.db']);
    const text = await execa('etcdctl', ['snapshot', 'status', join(extracted, 'rescue-kit/etcd-snapshot.db')], { reject: false, env: { ETCDCTL_API: '3' } });
    expect(text.exitCode, String(text.stderr)).to.equal(0);
    expect(readFileSync(join(extracted, 'rescue-kit/etcd-snapshot.db')).includes(Buffer.from('still here'))).to.equal(true);
  });

  it('renew etcd-server: the automatic backup snapshots the same etcd through the relay before renewing', async () => {
    const tmp = tempDir('rk-tmpdir-');
    const renewed = await run(['renew', 'etcd-server', '--restart', 'none', '--yes', '--json', '--root', root], tmp);
    expect(renewed.exitCode, show(renewed)).to.equal(0);
    const report = JSON.parse(renewed.stdout) as { backup: string };
    const manifest = await manifestOf(report.backup);
    expect(manifest.etcd.method).to.equal('snapshot');
    expect(manifest.warnings.join('\n')).to.include('ignoring only that expiry');
    expect(strays(tmp)).to.deep.equal([]);
  });
});

describe('backup of a real etcd serving a cert from ANOTHER CA (named "etcd-ca" too): refused; a live copy only with --allow-live-copy', function () {
  this.timeout(120_000);
  let root: string;
  let pki: string;
  let etcd: RunningEtcd | undefined;

  before(async () => {
    root = await sandboxRoot({ expiredDaysAgo: -100 });
    pki = join(root, 'etc/kubernetes/pki');
    const old = parseCertificate(readFileSync(join(pki, 'etcd/server.crt')));
    const impostor = await foreignCa('etcd-ca');
    const key = await generateKey({ algo: 'ecdsa', size: 256 });
    const dir = tempDir('rk-impostor-');
    writeFileSync(join(dir, 'server.crt'), servingCert(impostor, key, old.sans, new Date(Date.now() - DAY), 30).pem);
    writeFileSync(join(dir, 'server.key'), exportPrivateKeyPem(key), { mode: 0o600 });
    // etcd still trusts etcd/ca for its clients; only what it presents is foreign. Its data dir is the tree's.
    etcd = await startEtcd({
      pkiDir: pki,
      dataDir: join(root, 'var/lib/etcd'),
      skipServerVerify: true,
      extraArgs: [`--cert-file=${join(dir, 'server.crt')}`, `--key-file=${join(dir, 'server.key')}`],
    });
    const put = await etcd.etcdctl(['put', 'k', 'v']);
    expect(put.exitCode, put.stderr).to.equal(0);
    pointManifestsAtEtcd(root, etcd.clientUrl);
  });
  after(async () => {
    await etcd?.stop();
  });

  it('backup: exit 3, says why (not vouched for by etcd/ca.crt) and names --allow-live-copy; no archive, no snapshot, nothing in TMPDIR', async () => {
    const tmp = tempDir('rk-tmpdir-');
    const archive = join(tempDir('rk-archives-'), 'refused.tar.gz');
    const refused = await run(['backup', '--root', root, '--out', archive], tmp);
    expect(refused.exitCode, show(refused)).to.equal(3);
    expect(refused.stderr).to.match(new RegExp(`etcd is running at ${etcd!.clientUrl.replace(/\./g, '\\.')} but no snapshot could be taken: etcd's serving cert is not one etcd/ca\\.crt vouches for: .*signature does not verify`));
    expect(refused.stderr).to.include('--allow-live-copy');
    expect(refused.stderr).to.include('--no-etcd');
    expect(existsSync(archive)).to.equal(false);
    expect(existsSync(join(root, 'var/lib/rescue-kit/backups')), 'no backup dir created').to.equal(false);
    expect(strays(tmp)).to.deep.equal([]);
  });

  it('backup --allow-live-copy: copies the running data dir, warns it may be inconsistent (method data-dir, no snapshot)', async () => {
    const tmp = tempDir('rk-tmpdir-');
    const archive = join(tempDir('rk-archives-'), 'live.tar.gz');
    const made = await run(['backup', '--root', root, '--out', archive, '--allow-live-copy'], tmp);
    expect(made.exitCode, show(made)).to.equal(0);
    expect(made.stderr).to.match(/warning: .*copied its live data dir \(--allow-live-copy\); it may be inconsistent/);
    const manifest = await manifestOf(archive);
    expect(manifest.etcd.method).to.equal('data-dir');
    expect(manifest.etcd.note).to.match(/running etcd \(--allow-live-copy\)/);
    expect(manifest.entries.some((entry) => entry.path === 'var/lib/etcd/member/snap/db')).to.equal(true);
    expect(manifest.entries.some((entry) => entry.path === 'rescue-kit/etcd-snapshot.db')).to.equal(false);
  });

  it('renew apiserver: refused before anything is created (exit 3, no runs, nothing changed), naming --allow-live-copy and --no-etcd-backup; with --allow-live-copy it renews', async () => {
    const before = readFileSync(join(pki, 'apiserver.crt'));
    const refused = await run(['renew', 'apiserver', '--restart', 'none', '--yes', '--root', root], tempDir('rk-tmpdir-'));
    expect(refused.exitCode, show(refused)).to.equal(3);
    expect(refused.stderr).to.match(/no snapshot could be taken/);
    expect(refused.stderr).to.include('--allow-live-copy').and.include('--no-etcd-backup');
    expect(readFileSync(join(pki, 'apiserver.crt')).equals(before)).to.equal(true);
    expect(existsSync(join(root, 'var/lib/rescue-kit/runs')) ? readdirSync(join(root, 'var/lib/rescue-kit/runs')) : []).to.deep.equal([]);
    const allowed = await run(['renew', 'apiserver', '--restart', 'none', '--yes', '--allow-live-copy', '--json', '--root', root], tempDir('rk-tmpdir-'));
    expect(allowed.exitCode, show(allowed)).to.equal(0);
    expect(readFileSync(join(pki, 'apiserver.crt')).equals(before)).to.equal(false);
    expect((await manifestOf((JSON.parse(allowed.stdout) as { backup: string }).backup)).etcd.method).to.equal('data-dir');
  });

  it('the wizard follows the same policy: unattended it is refused with exit 3, --allow-live-copy (or RESCUE_KIT_ALLOW_LIVE_COPY=1) lets it copy', async () => {
    const refused = await run(['wizard', '--action', 'backup', '--root', root], tempDir('rk-tmpdir-'));
    expect(refused.exitCode, show(refused)).to.equal(3);
    expect(refused.stderr).to.include('--allow-live-copy');
    const allowed = await run(['wizard', '--action', 'backup', '--allow-live-copy', '--root', root], tempDir('rk-tmpdir-'));
    expect(allowed.exitCode, show(allowed)).to.equal(0);
    expect(allowed.stderr).to.match(/etcd: data-dir/);
    const byEnv = await cli(['wizard', '--action', 'backup', '--root', root], { RESCUE_KIT_ALLOW_LIVE_COPY: '1' }, 100_000);
    expect(byEnv.exitCode, show(byEnv)).to.equal(0);
  });
  it('the wizard at a terminal shows ops\' reason and asks: "no" keeps the refusal (ETCD_LIVE_COPY), "yes" copies the live data dir', async () => {
    for (const answer of [false, true]) {
      const asked: string[] = [];
      const said: string[] = [];
      const unexpected = () => Promise.reject(new Error('unexpected question'));
      const prompter: Prompter = {
        action: unexpected, names: unexpected, validity: unexpected, newKey: unexpected, restart: unexpected, addSans: unexpected, text: unexpected, choose: unexpected,
        proceed: async (message) => {
          asked.push(message);
          return answer;
        },
      };
      const running = runWizard({
        host: createHost({ root }),
        answers: { action: 'backup' },
        prompter,
        version: 'test',
        timeoutMs: 5000,
        templatesDir: join(repoRoot, 'templates'),
        caConfigPath: join(repoRoot, 'conf', 'ca-config.json'),
        // (runCommand goes away when the wizard stops re-dispatching the CLI; the cast keeps this test building either way)
        runCommand: () => Promise.reject(new Error('no command expected')),
        say: (text: string) => said.push(text),
      } as Parameters<typeof runWizard>[0]);
      if (answer) await running;
      else {
        const error = await running.then(() => undefined, (failure: unknown) => failure as { code?: string });
        expect(error?.code).to.equal('ETCD_LIVE_COPY');
      }
      expect(asked, `answer ${answer}`).to.deep.equal(['Copy the data dir of the running etcd anyway (it may be inconsistent)?']);
      expect(said.join('\n')).to.match(/warning: etcd is running at .* no snapshot could be taken: etcd's serving cert is not one etcd\/ca\.crt vouches for/);
      if (answer) expect(said.join('\n')).to.match(/etcd: data-dir/);
    }
  });
});
