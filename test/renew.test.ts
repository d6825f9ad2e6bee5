// `rescue-kit renew` / `rollback` on copies of the real expired kubeadm trees
// and on a sandbox tree, checked with openssl, kubectl and a real TLS server:
// what is renewed (validity, chain, identity, keys, modes), what is NOT touched
// (every other byte of each kubeconfig, the rest of the tree), the dry run,
// the kubelet's rotated cert + symlink, and rollback byte for byte.
import { expect } from 'chai';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseCertificates } from '../lib/pki/certificate.js';
import { fixtureRoot, FIXTURES, tempDir } from './helpers/env.js';
import { kubectlGetRaw, SServer, startSServer } from './helpers/tls.js';
import {
  cli,
  DAY_MS,
  EMBEDDED_KUBECONFIGS,
  fullListing,
  hostModes,
  kubectlCredentials,
  LEAVES,
  listing,
  opensslPairMatches,
  opensslVerifies,
  pairMatches,
  readCert,
  sandboxRoot,
  show,
} from './helpers/renew.js';

const VALIDITY = '200d';
const VALIDITY_MS = 200 * DAY_MS;
const mode = (path: string) => statSync(path).mode & 0o777;

interface Original {
  files: Map<string, Buffer>;
  listing: Record<string, string>;
}

function remember(root: string): Original {
  const files = new Map<string, Buffer>();
  for (const leaf of LEAVES) for (const path of [leaf.crt, leaf.key]) files.set(path, readFileSync(join(root, path)));
  for (const name of EMBEDDED_KUBECONFIGS) files.set(`etc/kubernetes/${name}`, readFileSync(join(root, 'etc/kubernetes', name)));
  return { files, listing: listing(root) };
}

/** notAfter is now+200d as of the run (DER time has whole seconds). */
function expectRenewedValidity(notAfter: Date, started: number, ended: number, what: string) {
  expect(notAfter.getTime(), `${what} notAfter`).to.be.within(started + VALIDITY_MS - 2_000, ended + VALIDITY_MS + 1_000);
}

function expectSameIdentity(before: ReturnType<typeof readCert>, after: ReturnType<typeof readCert>, what: string) {
  expect(after.subjectDer.equals(before.subjectDer), `${what}: subject DER`).to.equal(true);
  expect(after.issuerDer.equals(before.issuerDer), `${what}: issuer DER`).to.equal(true);
  expect(after.sans, `${what}: SANs`).to.deep.equal(before.sans);
  expect(after.keyUsage, `${what}: key usage`).to.deep.equal(before.keyUsage);
  expect(after.extKeyUsage, `${what}: extended key usage`).to.deep.equal(before.extKeyUsage);
  expect(after.isCA, `${what}: CA flag`).to.equal(false);
  expect(after.serialHex, `${what}: a new serial`).to.not.equal(before.serialHex);
}

/** Line-by-line diff of two kubeconfigs: same line count, and the YAML keys of the lines that differ. */
function changedKeys(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length, 'same number of lines').to.equal(a.length);
  const keys: string[] = [];
  a.forEach((line, index) => {
    if (line === b[index]) return;
    const key = /^\s*([\w-]+):/.exec(line)?.[1] ?? `line ${index + 1}`;
    // Only the value may change: same indentation, same key.
    expect(b[index]!.startsWith(line.slice(0, line.indexOf(':') + 1)), `line ${index + 1} keeps its key and indentation`).to.equal(true);
    keys.push(key);
  });
  return keys;
}

function writeTemp(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

for (const fixture of FIXTURES) {
  describe(`renew --all --validity 200d on a copy of the real expired ${fixture}`, function () {
    this.timeout(120_000);
    let root: string;
    let original: Original;
    let started: number;
    let ended: number;
    let report: { ok: boolean; backup: string; runId: string; plan: { items: { name: string; keyAction: string }[] } };
    const scratch = () => tempDir('rk-scratch-');

    before(async () => {
      root = fixtureRoot(fixture);
      hostModes(root);
      original = remember(root);
      started = Date.now();
      const run = await cli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', VALIDITY, '--json', '--root', root]);
      ended = Date.now();
      expect(run.exitCode, show(run)).to.equal(0);
      expect(run.stdout).to.not.include('PRIVATE KEY');
      report = JSON.parse(run.stdout);
    });

    it('renews the 7 pki leaves and the 4 kubeconfig client certs, keeping every key', () => {
      expect(report.ok).to.equal(true);
      expect(report.plan.items.map((item) => item.name)).to.have.members([...LEAVES.map((leaf) => leaf.name), ...EMBEDDED_KUBECONFIGS]);
      expect(report.plan.items.every((item) => item.keyAction === 'reuse')).to.equal(true);
    });

    for (const leaf of LEAVES) {
      it(`${leaf.name}: valid for 200 days, openssl verify against ${leaf.ca.replace('etc/kubernetes/pki/', '')}, same subject DER/SANs/KU/EKU, same key (0600) that matches`, async () => {
        const renewed = readCert(join(root, leaf.crt));
        const old = parseCertificates(original.files.get(leaf.crt)!)[0]!;
        expect(old.notAfter.getTime(), 'the fixture leaf had expired').to.be.below(started);
        expectRenewedValidity(renewed.notAfter, started, ended, leaf.name);
        expect(renewed.notBefore.getTime()).to.be.below(started);
        const [ok, output] = await opensslVerifies(join(root, leaf.ca), join(root, leaf.crt));
        expect(ok, output).to.equal(true);
        expectSameIdentity(old, renewed, leaf.name);
        const key = readFileSync(join(root, leaf.key));
        expect(key.equals(original.files.get(leaf.key)!), 'key bytes unchanged').to.equal(true);
        expect(pairMatches(renewed.pem, key), 'key matches the new cert').to.equal(true);
        expect(await opensslPairMatches(join(root, leaf.crt), join(root, leaf.key)), 'openssl: same public key').to.equal(true);
        expect(mode(join(root, leaf.key)).toString(8)).to.equal('600');
        expect(mode(join(root, leaf.crt)).toString(8)).to.equal('644');
      });
    }

    for (const name of EMBEDDED_KUBECONFIGS) {
      it(`${name}: kubectl parses it; the embedded cert is renewed (200 days, verifies against pki/ca.crt, same identity) and matches the unchanged embedded key; only client-certificate-data changed; 0600`, async () => {
        const file = join(root, 'etc/kubernetes', name);
        const dir = scratch();
        const now = await kubectlCredentials(file);
        const oldFile = writeTemp(dir, 'old.conf', original.files.get(`etc/kubernetes/${name}`)!.toString());
        const was = await kubectlCredentials(oldFile);
        const renewed = readCert(writeTemp(dir, 'new.crt', now.certPem));
        const old = readCert(writeTemp(dir, 'old.crt', was.certPem));
        expect(old.notAfter.getTime(), 'the fixture cert had expired').to.be.below(started);
        expectRenewedValidity(renewed.notAfter, started, ended, name);
        const [ok, output] = await opensslVerifies(join(root, 'etc/kubernetes/pki/ca.crt'), join(dir, 'new.crt'));
        expect(ok, output).to.equal(true);
        expectSameIdentity(old, renewed, name);
        expect(now.keyPem, 'embedded key unchanged').to.equal(was.keyPem);
        expect(now.caPem, 'embedded CA unchanged').to.equal(was.caPem);
        expect(pairMatches(now.certPem, now.keyPem), 'embedded key matches the embedded cert').to.equal(true);
        writeTemp(dir, 'new.key', now.keyPem);
        expect(await opensslPairMatches(join(dir, 'new.crt'), join(dir, 'new.key')), 'openssl: same public key').to.equal(true);
        // The CA did not change, so certificate-authority-data must be byte-identical too.
        expect(changedKeys(original.files.get(`etc/kubernetes/${name}`)!.toString(), readFileSync(file, 'utf8'))).to.deep.equal(['client-certificate-data']);
        expect(mode(file).toString(8)).to.equal('600');
      });
    }

    it('nothing else under etc/kubernetes changed: CAs, sa, manifests, directories; no new files', () => {
      const renewedPaths = new Set([...LEAVES.map((leaf) => leaf.crt), ...EMBEDDED_KUBECONFIGS.map((name) => `etc/kubernetes/${name}`)]);
      const now = listing(root);
      expect(Object.keys(now).sort()).to.deep.equal(Object.keys(original.listing).sort());
      for (const [path, entry] of Object.entries(original.listing)) {
        if (!renewedPaths.has(path)) expect(now[path], path).to.equal(entry);
        else expect(now[path], `${path} was rewritten`).to.not.equal(entry);
      }
    });

    it('the automatic backup is 0600 and holds the old tree', async () => {
      expect(existsSync(report.backup)).to.equal(true);
      expect(mode(report.backup).toString(8)).to.equal('600');
      const { stdout } = await execa('tar', ['-tzf', report.backup]);
      for (const path of [...LEAVES.flatMap((leaf) => [leaf.crt, leaf.key]), 'etc/kubernetes/admin.conf']) expect(stdout.split('\n'), path).to.include(path);
    });
  });

  describe(`renew --all --new-key on a copy of ${fixture}`, function () {
    this.timeout(120_000);
    let root: string;
    let original: Original;
    let started: number;
    let ended: number;
    let backup: string;

    before(async () => {
      root = fixtureRoot(fixture);
      hostModes(root);
      original = remember(root);
      started = Date.now();
      const run = await cli(['renew', '--all', '--new-key', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', VALIDITY, '--json', '--root', root]);
      ended = Date.now();
      expect(run.exitCode, show(run)).to.equal(0);
      expect(run.stdout).to.not.include('PRIVATE KEY');
      backup = JSON.parse(run.stdout).backup;
    });

    it('every leaf: a new key (0600, same algorithm) that matches the new cert and differs from the old one; the cert verifies; same identity', async () => {
      for (const leaf of LEAVES) {
        const key = readFileSync(join(root, leaf.key));
        const renewed = readCert(join(root, leaf.crt));
        expect(key.equals(original.files.get(leaf.key)!), `${leaf.name}: new key`).to.equal(false);
        expect(pairMatches(renewed.pem, key), `${leaf.name}: new key matches new cert`).to.equal(true);
        expect(pairMatches(renewed.pem, original.files.get(leaf.key)!), `${leaf.name}: old key does not`).to.equal(false);
        expect(await opensslPairMatches(join(root, leaf.crt), join(root, leaf.key)), `${leaf.name}: openssl`).to.equal(true);
        expect(mode(join(root, leaf.key)).toString(8), leaf.name).to.equal('600');
        const [ok, output] = await opensslVerifies(join(root, leaf.ca), join(root, leaf.crt));
        expect(ok, `${leaf.name}: ${output}`).to.equal(true);
        expectRenewedValidity(renewed.notAfter, started, ended, leaf.name);
        const before = parseCertificates(original.files.get(leaf.crt)!)[0]!;
        expect(renewed.key.label, `${leaf.name}: same algorithm and size`).to.equal(before.key.label);
        expectSameIdentity(before, renewed, leaf.name);
      }
    });

    it('every kubeconfig: new embedded key matching the new embedded cert; only client-certificate-data and client-key-data lines changed', async () => {
      for (const name of EMBEDDED_KUBECONFIGS) {
        const file = join(root, 'etc/kubernetes', name);
        const now = await kubectlCredentials(file);
        const dir = tempDir('rk-kc-');
        const was = await kubectlCredentials(writeTemp(dir, 'old.conf', original.files.get(`etc/kubernetes/${name}`)!.toString()));
        expect(now.keyPem, `${name}: new key`).to.not.equal(was.keyPem);
        expect(pairMatches(now.certPem, now.keyPem), `${name}: key matches cert`).to.equal(true);
        writeTemp(dir, 'new.crt', now.certPem);
        writeTemp(dir, 'new.key', now.keyPem);
        expect(await opensslPairMatches(join(dir, 'new.crt'), join(dir, 'new.key')), `${name}: openssl`).to.equal(true);
        expect(changedKeys(original.files.get(`etc/kubernetes/${name}`)!.toString(), readFileSync(file, 'utf8')), name).to.deep.equal(['client-certificate-data', 'client-key-data']);
        expect(mode(file).toString(8)).to.equal('600');
      }
    });

    it('the old keys and kubeconfigs are in the automatic backup, byte for byte (tar -xzOf)', async () => {
      expect(mode(backup).toString(8)).to.equal('600');
      const paths = [...LEAVES.map((leaf) => leaf.key), ...EMBEDDED_KUBECONFIGS.map((name) => `etc/kubernetes/${name}`)];
      for (const path of paths) {
        const result = await execa('tar', ['-xzOf', backup, path], { encoding: 'buffer', stripFinalNewline: false });
        expect(Buffer.from(result.stdout).equals(original.files.get(path)!), path).to.equal(true);
      }
    });
  });
}

describe('renew --dry-run changes nothing and prints no key material', function () {
  this.timeout(60_000);
  for (const newKey of [false, true]) {
    it(`--dry-run --json${newKey ? ' --new-key' : ''}: the plan, with every file it would write; the whole root (sha256, modes) identical after; no PRIVATE KEY, no client-key-data, no PEM at all`, async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      const before = fullListing(root);
      const run = await cli(['renew', '--all', '--dry-run', '--json', ...(newKey ? ['--new-key'] : []), '--root', root]);
      expect(run.exitCode, show(run)).to.equal(0);
      expect(fullListing(root)).to.deep.equal(before);
      expect(existsSync(join(root, 'var')), 'no rescue-kit dirs created').to.equal(false);
      for (const forbidden of ['PRIVATE KEY', 'client-key-data', 'BEGIN', 'LS0tLS1CRUdJTi']) {
        expect(run.stdout, forbidden).to.not.include(forbidden);
        expect(run.stderr, forbidden).to.not.include(forbidden);
      }
      const plan = JSON.parse(run.stdout) as { items: { name: string; keyAction: string; after: { notAfter: string } }[]; notRenewed: unknown[]; changes: { hostPath: string; holdsPrivateKey: boolean; afterSha256: string }[]; restart: string[] };
      expect(plan.items).to.have.length(11);
      expect(plan.notRenewed, 'a complete tree: nothing left out').to.deep.equal([]);
      expect(plan.items.every((item) => item.keyAction === (newKey ? 'new' : 'reuse'))).to.equal(true);
      expect(plan.restart).to.deep.equal(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet']);
      expect(plan.changes.map((change) => change.hostPath)).to.include.members(['/etc/kubernetes/pki/apiserver.crt', '/etc/kubernetes/admin.conf']);
      expect(plan.changes.filter((change) => change.hostPath.endsWith('.key')).length).to.equal(newKey ? 7 : 0);
      for (const change of plan.changes) expect(change).to.not.have.property('data');
    });
  }

  it('--dry-run (text): the plan on stderr, nothing on disk changes', async () => {
    const root = fixtureRoot('kubeadm-1.11-expired');
    const before = fullListing(root);
    const run = await cli(['renew', '--all', '--dry-run', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
    expect(run.stdout).to.include('Restart order: etcd -> kube-apiserver');
    expect(run.stderr).to.not.include('PRIVATE KEY');
    expect(fullListing(root)).to.deep.equal(before);
  });
});

// ---------------------------------------------------------------------------

describe('real TLS: the renewed apiserver cert and admin.conf against each other (openssl s_server + kubectl)', function () {
  this.timeout(60_000);
  const servers: SServer[] = [];
  let root: string;
  let saved: string;

  before(async () => {
    root = fixtureRoot('kubeadm-1.14-expired');
    saved = tempDir('rk-old-');
    copyFileSync(join(root, 'etc/kubernetes/admin.conf'), join(saved, 'admin.conf'));
    copyFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt'), join(saved, 'apiserver.crt'));
    expect(readCert(join(root, 'etc/kubernetes/pki/apiserver.crt')).sans.dns).to.include('kubernetes');
    const run = await cli(['renew', 'apiserver', 'admin.conf', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', VALIDITY, '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
  });

  after(async () => {
    for (const server of servers) await server.stop();
  });

  const pki = (file: string) => join(root, 'etc/kubernetes/pki', file);

  it('kubectl with the renewed admin.conf gets / from a server presenting the renewed apiserver cert (client cert required, verified)', async () => {
    const server = await startSServer(pki('apiserver.crt'), pki('apiserver.key'), pki('ca.crt'));
    servers.push(server);
    const result = await kubectlGetRaw(join(root, 'etc/kubernetes/admin.conf'), server.port);
    expect(result.exitCode, `${result.stderr}\n${server.output()}`).to.equal(0);
    expect(result.stdout).to.include('s_server');
  });

  it('kubectl with the pre-renewal admin.conf is refused by the same server (expired client cert)', async () => {
    const server = await startSServer(pki('apiserver.crt'), pki('apiserver.key'), pki('ca.crt'));
    servers.push(server);
    const result = await kubectlGetRaw(join(saved, 'admin.conf'), server.port);
    expect(result.exitCode).to.not.equal(0);
    expect(result.stderr).to.match(/certificate/i);
  });

  it('control: kubectl with the renewed admin.conf refuses a server still presenting the old, expired apiserver cert', async () => {
    const server = await startSServer(join(saved, 'apiserver.crt'), pki('apiserver.key'), pki('ca.crt'));
    servers.push(server);
    const result = await kubectlGetRaw(join(root, 'etc/kubernetes/admin.conf'), server.port);
    expect(result.exitCode).to.not.equal(0);
    expect(result.stderr).to.match(/expired|not yet valid|x509/i);
  });
});

// ---------------------------------------------------------------------------

describe('rollback after a successful renew', function () {
  this.timeout(60_000);

  it('rollback --list shows the run; rollback --yes restores etc/kubernetes byte for byte, modes included; the run is then "rolled-back"', async () => {
    // The fixture as copied: keys and kubeconfigs 0644, so the renewal's 0600 must be undone too.
    const root = fixtureRoot('kubeadm-1.11-expired');
    const before = listing(root);
    const renew = await cli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', VALIDITY, '--json', '--root', root]);
    expect(renew.exitCode, show(renew)).to.equal(0);
    const { runId } = JSON.parse(renew.stdout) as { runId: string };
    expect(listing(root)).to.not.deep.equal(before);

    const list = await cli(['rollback', '--list', '--root', root]);
    expect(list.exitCode, show(list)).to.equal(0);
    expect(list.stderr).to.match(new RegExp(`${runId}\\s+renew --all\\s+done`));
    const listJson = await cli(['rollback', '--list', '--json', '--root', root]);
    const runs = JSON.parse(listJson.stdout) as { runId: string; phase: string; files: number; backup: string }[];
    expect(runs).to.have.length(1);
    expect(runs[0]).to.include({ runId, phase: 'done', files: 11 });
    expect(listJson.stdout).to.not.include('PRIVATE KEY');

    const rollback = await cli(['rollback', '--yes', '--root', root]);
    expect(rollback.exitCode, show(rollback)).to.equal(0);
    expect(rollback.stderr).to.include(`before run ${runId}`);
    expect(listing(root)).to.deep.equal(before);

    const after = JSON.parse((await cli(['rollback', '--list', '--json', '--root', root])).stdout) as { runId: string; phase: string }[];
    expect(after.find((run) => run.runId === runId)?.phase).to.equal('rolled-back');
    const again = await cli(['rollback', '--run', runId, '--yes', '--root', root]);
    expect(again.exitCode, show(again)).to.equal(0);
    expect(again.stderr).to.include('already rolled back');
    expect(listing(root)).to.deep.equal(before);
  });
});

// ---------------------------------------------------------------------------

describe('kubelet.conf pointing at /var/lib/kubelet/pki/kubelet-client-current.pem (sandbox tree)', function () {
  this.timeout(60_000);
  let root: string;
  let originalListing: Record<string, string>;
  let oldName: string;
  let oldBytes: Buffer;
  let kubeletConf: Buffer;
  let started: number;
  let ended: number;
  const kubeletPki = () => join(root, 'var/lib/kubelet/pki');

  before(async () => {
    root = await sandboxRoot();
    originalListing = listing(root);
    oldName = readlinkSync(join(kubeletPki(), 'kubelet-client-current.pem')).replace('/var/lib/kubelet/pki/', '');
    oldBytes = readFileSync(join(kubeletPki(), oldName));
    kubeletConf = readFileSync(join(root, 'etc/kubernetes/kubelet.conf'));
    expect(kubeletConf.toString()).to.include('client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem');
    started = Date.now();
    const run = await cli(['renew', 'kubelet.conf', '--restart', 'none', '--yes', '--no-etcd-backup', '--validity', VALIDITY, '--root', root]);
    ended = Date.now();
    expect(run.exitCode, show(run)).to.equal(0);
  });

  it('writes a new kubelet-client-<time>.pem (0600, cert + key, valid 200 days, verifies, same identity, same key), moves the symlink (absolute target) to it, keeps the old file and kubelet.conf', async () => {
    const names = readdirSync(kubeletPki()).sort();
    const fresh = names.filter((name) => name !== oldName && name !== 'kubelet-client-current.pem');
    expect(fresh, names.join(', ')).to.have.length(1);
    const newName = fresh[0]!;
    expect(newName).to.match(/^kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
    const newPath = join(kubeletPki(), newName);
    expect(mode(newPath).toString(8)).to.equal('600');
    const text = readFileSync(newPath, 'utf8');
    expect(text).to.match(/-----BEGIN CERTIFICATE-----/);
    expect(text).to.match(/-----BEGIN (EC |RSA )?PRIVATE KEY-----/);
    const renewed = readCert(newPath);
    expectRenewedValidity(renewed.notAfter, started, ended, newName);
    const [ok, output] = await opensslVerifies(join(root, 'etc/kubernetes/pki/ca.crt'), newPath);
    expect(ok, output).to.equal(true);
    const old = parseCertificates(oldBytes)[0]!;
    expect(old.notAfter.getTime()).to.be.below(started);
    expectSameIdentity(old, renewed, 'kubelet client');
    expect(pairMatches(renewed.pem, text), 'the key in the new file matches its cert').to.equal(true);
    expect(pairMatches(renewed.pem, oldBytes), 'and it is the old key (reused)').to.equal(true);
    expect(await opensslPairMatches(newPath, newPath), 'openssl reads the pair from the one file').to.equal(true);
    expect(readlinkSync(join(kubeletPki(), 'kubelet-client-current.pem'))).to.equal(`/var/lib/kubelet/pki/${newName}`);
    expect(readFileSync(join(kubeletPki(), oldName)).equals(oldBytes), 'old file untouched').to.equal(true);
    expect(readFileSync(join(root, 'etc/kubernetes/kubelet.conf')).equals(kubeletConf), 'kubelet.conf untouched').to.equal(true);
  });

  it('rollback --yes puts the symlink back and removes the new file: both trees byte for byte as before', async () => {
    const run = await cli(['rollback', '--yes', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
    expect(readlinkSync(join(kubeletPki(), 'kubelet-client-current.pem'))).to.equal(`/var/lib/kubelet/pki/${oldName}`);
    expect(readdirSync(kubeletPki()).sort()).to.deep.equal([oldName, 'kubelet-client-current.pem'].sort());
    expect(listing(root)).to.deep.equal(originalListing);
  });
});
