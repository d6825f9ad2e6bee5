// backup / backup verify / restore against real trees (the expired kubeadm
// fixtures and generated sandboxes), a real etcd 3.4 with client-cert TLS,
// real etcdctl, GNU tar and openssl — and hostile archives built with
// python3's tarfile, each refused before anything is written.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { createHost, Host } from '../lib/host/host.js';
import { writeTree } from '../lib/host/tree.js';
import { createBackup } from '../lib/ops/archive/backup.js';
import type { BackupManifest } from '../lib/ops/archive/backup-manifest.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { emptySans } from '../lib/pki/san.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { freePort, RunningEtcd, startEtcd } from './helpers/etcd.js';
import { FIXTURES, fixtureRoot, runCli, tempDir, CliResult } from './helpers/env.js';

const DAY = 86_400_000;
const MAGIC = 'RESCUE-KIT-AES256GCM-1\n';

// ---------------------------------------------------------------- helpers

/**
 * The CLI with a private TMPDIR (so "no temp files left" is not disturbed by tests running beside
 * us, and nothing leaks into /tmp even when a run is killed) and a bound on its run time.
 */
async function cli(args: string[], tmp: string = tempDir('rk-tmpdir-')): Promise<CliResult & { out: string }> {
  const result = await runCli(args, { timeout: 100_000, env: { TMPDIR: tmp } });
  return { ...result, out: `${result.stdout}\n${result.stderr}` };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o7777;

/**
 * Every path under dir (hidden ones too) with type, mode, owner and sha256 / link target.
 * `exclude` subtrees are left out, and so are directories that only exist to hold them.
 */
function listing(dir: string, exclude: string[] = []): string[] {
  const lines: string[] = [];
  const visit = (relative: string): number => {
    let produced = 0;
    for (const name of readdirSync(relative ? join(dir, relative) : dir).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      if (exclude.some((skip) => path === skip || path.startsWith(`${skip}/`))) continue;
      const full = join(dir, path);
      const stats = lstatSync(full);
      const meta = `${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid}`;
      if (stats.isSymbolicLink()) lines.push(`${path} symlink ${meta} -> ${readlinkSync(full)}`);
      else if (stats.isFile()) lines.push(`${path} file ${meta} ${stats.size} ${sha256(readFileSync(full))}`);
      else if (stats.isDirectory()) {
        const at = lines.length;
        lines.splice(at, 0, `${path}/ dir ${meta}`);
        const children = visit(path);
        const holdsExcluded = exclude.some((skip) => skip.startsWith(`${path}/`));
        if (children === 0 && holdsExcluded) {
          lines.splice(at, 1);
          continue;
        }
      } else lines.push(`${path} other ${stats.mode.toString(8)}`);
      produced++;
    }
    return produced;
  };
  visit('');
  return lines;
}

const BACKUPS = 'var/lib/rescue-kit';

async function sandboxRoot(options: { validDays?: number } = {}): Promise<string> {
  const root = tempDir('rk-backup-root-');
  const files = await buildSandboxTree({
    now: new Date(),
    // validDays > 0: leaves still valid for that long (a running etcd needs a valid server cert).
    expiredDaysAgo: options.validDays === undefined ? 30 : -options.validDays,
    key: { algo: 'ecdsa', size: 256 },
  });
  writeTree(root, files);
  return root;
}

/** Point the tree's etcd manifest (and the apiserver's --etcd-servers) at url. */
function pointEtcdAt(root: string, url: string): void {
  const manifests = join(root, 'etc/kubernetes/manifests');
  const etcdYaml = join(manifests, 'etcd.yaml');
  const apiserverYaml = join(manifests, 'kube-apiserver.yaml');
  const etcdText = readFileSync(etcdYaml, 'utf8');
  const apiText = readFileSync(apiserverYaml, 'utf8');
  expect(etcdText).to.match(/--listen-client-urls=\S+/);
  expect(apiText).to.match(/--etcd-servers=\S+/);
  writeFileSync(etcdYaml, etcdText.replace(/--listen-client-urls=\S+/, `--listen-client-urls=${url}`));
  writeFileSync(apiserverYaml, apiText.replace(/--etcd-servers=\S+/, `--etcd-servers=${url}`));
}

async function tar(args: string[]) {
  const result = await execa('tar', args, { reject: false, stdin: 'ignore', encoding: 'buffer', stripFinalNewline: false });
  return { exitCode: result.exitCode ?? -1, stdout: Buffer.from(result.stdout as Uint8Array), stderr: Buffer.from(result.stderr as Uint8Array).toString() };
}

/** The manifest inside a (plain) archive, read with GNU tar. */
async function manifestOf(archive: string): Promise<BackupManifest> {
  const result = await tar(['-xzOf', archive, 'rescue-kit/manifest.json']);
  expect(result.exitCode, result.stderr).to.equal(0);
  return JSON.parse(result.stdout.toString()) as BackupManifest;
}

async function openssl(args: string[]) {
  const result = await execa('openssl', args, { reject: false, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function flipByte(source: string, target: string, fraction: number): number {
  const data = readFileSync(source);
  const at = Math.floor(data.length * fraction);
  data[at] = data[at]! ^ 0x01;
  writeFileSync(target, data);
  return at;
}

/** rescue-kit temp files/dirs left in a TMPDIR. */
const strays = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('rescue-kit-'));

// A hostile-archive builder independent of the code under test: python3's tarfile re-packs a
// valid backup, dropping / replacing members and appending extra entries, and writes a manifest
// that lists the extras (unless told not to) with their real sha256, so each archive fails only
// for the one reason under test.
const BUILDER = String.raw`
import base64, copy, hashlib, io, json, sys, tarfile
spec = json.loads(sys.argv[1])
MANIFEST = 'rescue-kit/manifest.json'
src = tarfile.open(spec['base'], 'r:gz')
manifest = None
members = []
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    if m.name == MANIFEST:
        manifest = json.loads(data)
        continue
    members.append((m, data))
drop = spec.get('drop', [])
def dropped(name):
    name = name.rstrip('/')
    return any(name == p or name.startswith(p + '/') for p in drop)
hide = spec.get('hide', [])
members = [(m, d) for (m, d) in members if not dropped(m.name) and m.name.rstrip('/') not in hide]
manifest['entries'] = [e for e in manifest['entries'] if not dropped(e['path'])]
by_path = {e['path']: e for e in manifest['entries']}
replace = spec.get('replace', {})
out = tarfile.open(spec['out'], 'w:gz', format=tarfile.PAX_FORMAT)
for (m, d) in members:
    key = m.name.rstrip('/')
    if key in replace:
        d = base64.b64decode(replace[key]['data'])
        m = copy.copy(m)
        m.size = len(d)
        if replace[key].get('rehash'):
            by_path[key]['sha256'] = hashlib.sha256(d).hexdigest()
            by_path[key]['size'] = len(d)
    out.addfile(m, io.BytesIO(d) if d is not None else None)
types = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE, 'fifo': tarfile.FIFOTYPE, 'chr': tarfile.CHRTYPE}
for x in spec.get('extras', []):
    ti = tarfile.TarInfo(x['name'])
    ti.type = types[x['type']]
    ti.mode = x.get('mode', 0o644)
    ti.mtime = 1700000000
    data = None
    if x['type'] == 'file':
        data = x.get('data', '').encode()
        ti.size = len(data)
    if x['type'] in ('symlink', 'hardlink'):
        ti.linkname = x['linkname']
    if x['type'] == 'chr':
        ti.devmajor, ti.devminor = 1, 3
    out.addfile(ti, io.BytesIO(data) if data is not None else None)
    if x.get('listed', True):
        entry = {'path': x['name'].rstrip('/'), 'type': {'dir': 'directory', 'symlink': 'symlink'}.get(x['type'], 'file'),
                 'mode': ti.mode, 'uid': 0, 'gid': 0, 'size': len(data) if data is not None else 0}
        if data is not None:
            entry['sha256'] = hashlib.sha256(data).hexdigest()
        if x['type'] == 'symlink':
            entry['target'] = x['linkname']
        manifest['entries'].append(entry)
if not spec.get('noManifest'):
    text = json.dumps(manifest, indent=2).encode()
    ti = tarfile.TarInfo(MANIFEST)
    ti.size, ti.mode, ti.mtime = len(text), 0o600, 1700000000
    out.addfile(ti, io.BytesIO(text))
out.close()
`;

interface Extra {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chr';
  data?: string;
  linkname?: string;
  mode?: number;
  listed?: boolean;
}
interface RebuildSpec {
  /** Remove from the archive and the manifest. */
  drop?: string[];
  /** Remove from the archive only (the manifest still lists them). */
  hide?: string[];
  replace?: Record<string, { data: string; rehash?: boolean }>;
  extras?: Extra[];
  noManifest?: boolean;
}

async function rebuild(base: string, out: string, spec: RebuildSpec): Promise<string> {
  const replace = Object.fromEntries(Object.entries(spec.replace ?? {}).map(([path, value]) => [path, { ...value, data: Buffer.from(value.data).toString('base64') }]));
  const result = await execa('python3', ['-c', BUILDER, JSON.stringify({ ...spec, replace, base, out })], { reject: false, stdin: 'ignore' });
  expect(result.exitCode, String(result.stderr)).to.equal(0);
  return out;
}

/** Issue cert files for an existing key with the library (for certs that must already have expired). */
function reissueExpired(root: string, base: string, commonName: string): void {
  const pki = join(root, 'etc/kubernetes/pki');
  const issuer = { certificate: parseCertificate(readFileSync(join(pki, 'etcd/ca.crt'))), key: parsePrivateKey(readFileSync(join(pki, 'etcd/ca.key'))) };
  const { certificate } = issueCertificate({
    template: { subject: { CN: commonName, O: ['system:masters'] }, sans: emptySans(), usages: parseUsages(['signing', 'key encipherment', 'client auth']), isCA: false, durationMs: 30 * DAY },
    subjectKey: parsePrivateKey(readFileSync(join(pki, `${base}.key`))),
    issuer,
    now: new Date(Date.now() - 60 * DAY),
  });
  writeFileSync(join(pki, `${base}.crt`), certificate.pem);
}

/** A valid etcd client cert minted with openssl from etcd/ca.key (for the test's own etcdctl calls). */
async function opensslClientCert(pki: string, dir: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, 'test-client.key');
  const csr = join(dir, 'test-client.csr');
  const cert = join(dir, 'test-client.crt');
  const ext = join(dir, 'ext.cnf');
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  for (const args of [
    ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key],
    ['req', '-new', '-key', key, '-subj', '/O=system:masters/CN=rk-test-client', '-out', csr],
    ['x509', '-req', '-in', csr, '-CA', join(pki, 'etcd/ca.crt'), '-CAkey', join(pki, 'etcd/ca.key'), '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert],
  ]) {
    const result = await openssl(args);
    expect(result.exitCode, `openssl ${args.join(' ')}: ${result.stderr}`).to.equal(0);
  }
  return { cert, key };
}

// ---------------------------------------------------------------- tests

describe('backup / restore', function () {
  this.timeout(120_000);

  describe('with a real etcd (client-cert TLS, valid pki certs)', () => {
    let root: string;
    let etcd: RunningEtcd | undefined;
    let archive: string;
    let tmp: string;
    let created: CliResult & { out: string };
    const KEY = 'rescue-kit-test/greeting';
    const VALUE = `hello-${Date.now()}`;

    before(async () => {
      root = await sandboxRoot({ validDays: 100 });
      etcd = await startEtcd({ pkiDir: join(root, 'etc/kubernetes/pki'), dataDir: join(tempDir('rk-etcd-data-'), 'data') });
      const put = await etcd.etcdctl(['put', KEY, VALUE]);
      expect(put.exitCode, put.stderr).to.equal(0);
      pointEtcdAt(root, etcd.clientUrl);
      tmp = tempDir('rk-tmpdir-');
      archive = join(tempDir('rk-archives-'), 'backup.tar.gz');
      created = await cli(['backup', '--root', root, '--out', archive, '--json'], tmp);
    });
    after(async () => {
      await etcd?.stop();
    });

    it('takes a real snapshot: exit 0, etcd.method "snapshot" in the summary and in the manifest inside', async () => {
      expect(created.exitCode, created.out).to.equal(0);
      const summary = JSON.parse(created.stdout) as { archive: string; etcd: { method: string; endpoint?: string }; encrypted: boolean; warnings: string[] };
      expect(summary.archive).to.equal(archive);
      expect(summary.etcd.method).to.equal('snapshot');
      expect(summary.etcd.endpoint).to.equal(etcd!.clientUrl);
      expect(summary.encrypted).to.equal(false);
      expect(summary.warnings).to.deep.equal([]);
      expect(created.stderr).to.include(`etcd answers at ${etcd!.clientUrl}`).and.not.include('temporary client cert');
      const manifest = await manifestOf(archive);
      expect(manifest.etcd.method).to.equal('snapshot');
      const snapshotEntry = manifest.entries.find((entry) => entry.path === 'rescue-kit/etcd-snapshot.db');
      expect(snapshotEntry, 'snapshot listed in the manifest').to.not.equal(undefined);
      const snapshot = await tar(['-xzOf', archive, 'rescue-kit/etcd-snapshot.db']);
      expect(snapshot.exitCode).to.equal(0);
      expect(snapshot.stdout.length).to.be.greaterThan(4096);
      expect(sha256(snapshot.stdout)).to.equal(snapshotEntry!.sha256);
      // Every archived tree file is listed with the sha256 of the real file.
      const caKey = manifest.entries.find((entry) => entry.path === 'etc/kubernetes/pki/ca.key');
      expect(caKey?.sha256).to.equal(sha256(readFileSync(join(root, 'etc/kubernetes/pki/ca.key'))));
      expect(caKey?.mode).to.equal(0o600);
    });

    it('writes the archive with mode exactly 0600 and leaves no temp files (snapshot, client cert) behind', () => {
      expect(mode(archive)).to.equal(0o600);
      expect(readdirSync(dirname(archive))).to.deep.equal(['backup.tar.gz']);
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('is a plain tar.gz that GNU tar lists: keys, kubeconfigs, manifests, kubelet pki, snapshot, manifest', async () => {
      const listed = await tar(['tzf', archive]);
      expect(listed.exitCode, listed.stderr).to.equal(0);
      const names = listed.stdout.toString().trim().split('\n');
      expect(names).to.include.members([
        'etc/kubernetes/pki/ca.key', 'etc/kubernetes/pki/ca.crt', 'etc/kubernetes/pki/etcd/ca.key', 'etc/kubernetes/pki/sa.key',
        'etc/kubernetes/admin.conf', 'etc/kubernetes/manifests/etcd.yaml', 'var/lib/kubelet/pki/kubelet-client-current.pem',
        'rescue-kit/etcd-snapshot.db', 'rescue-kit/manifest.json',
      ]);
      expect(names[names.length - 1]).to.equal('rescue-kit/manifest.json');
    });

    it('backup verify: exit 0, every file matches, etcdctl snapshot status ok (with the key we put)', async () => {
      const text = await cli(['backup', 'verify', archive], tmp);
      expect(text.exitCode, text.out).to.equal(0);
      expect(text.stderr).to.match(/OK: \d+ files match the manifest/);
      expect(text.stderr).to.match(/OK: etcd snapshot: /);
      const json = await cli(['backup', 'verify', archive, '--json'], tmp);
      expect(json.exitCode, json.out).to.equal(0);
      const summary = JSON.parse(json.stdout) as { ok: boolean; etcd: { method: string; snapshotStatus: string } };
      expect(summary.ok).to.equal(true);
      expect(summary.etcd.method).to.equal('snapshot');
      const status = JSON.parse(summary.etcd.snapshotStatus) as { totalKey: number; revision: number };
      expect(status.totalKey).to.be.at.least(1);
      expect(status.revision).to.be.at.least(2); // our put made revision 2
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('backup verify fails (exit 4, "damaged archive") when one byte is flipped anywhere in the middle', async () => {
      const dir = tempDir('rk-flip-');
      for (const fraction of [0.3, 0.5, 0.7]) {
        const copy = join(dir, `flipped-${fraction}.tar.gz`);
        const at = flipByte(archive, copy, fraction);
        const result = await cli(['backup', 'verify', copy], tmp);
        expect(result.exitCode, `byte ${at}: ${result.out}`).to.equal(4);
        expect(result.stderr, `byte ${at}`).to.match(/damaged archive|does not match its manifest/);
        expect(result.stderr).to.include('hint:');
      }
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('backup verify fails (exit 4, FAILED) when the snapshot is garbage even though the manifest agrees', async () => {
      const bad = await rebuild(archive, join(tempDir('rk-badsnap-'), 'bad.tar.gz'), {
        replace: { 'rescue-kit/etcd-snapshot.db': { data: 'this is not a bolt database'.repeat(200), rehash: true } },
      });
      const result = await cli(['backup', 'verify', bad], tmp);
      expect(result.exitCode, result.out).to.equal(4);
      expect(result.stderr).to.match(/FAILED: etcd snapshot/);
    });

    it('the snapshot is real: etcdctl snapshot restore + a new etcd on it returns the key we put', async () => {
      const dir = tempDir('rk-snaprestore-');
      const extracted = await tar(['-xzf', archive, '-C', dir, 'rescue-kit/etcd-snapshot.db']);
      expect(extracted.exitCode, extracted.stderr).to.equal(0);
      const peerPort = await freePort();
      const peerUrl = `https://127.0.0.1:${peerPort}`;
      const dataDir = join(dir, 'restored');
      const restored = await execa('etcdctl', ['snapshot', 'restore', join(dir, 'rescue-kit/etcd-snapshot.db'), '--data-dir', dataDir, '--name', 'rk-restored', '--initial-cluster', `rk-restored=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl], {
        reject: false, env: { ETCDCTL_API: '3' }, timeout: 60_000,
      });
      expect(restored.exitCode, String(restored.stderr)).to.equal(0);
      const second = await startEtcd({ pkiDir: join(root, 'etc/kubernetes/pki'), dataDir, name: 'rk-restored', peerPort });
      try {
        const got = await second.etcdctl(['get', KEY, '--print-value-only']);
        expect(got.exitCode, got.stderr).to.equal(0);
        expect(got.stdout.trim()).to.equal(VALUE);
      } finally {
        await second.stop();
      }
    });
  });

  describe('with a real etcd whose pki client certs have expired (temporary cert from etcd/ca.key)', () => {
    let root: string;
    let pki: string;
    let etcd: RunningEtcd | undefined;

    before(async () => {
      root = await sandboxRoot({ validDays: 100 });
      pki = join(root, 'etc/kubernetes/pki');
      reissueExpired(root, 'etcd/healthcheck-client', 'kube-etcd-healthcheck-client');
      reissueExpired(root, 'apiserver-etcd-client', 'kube-apiserver-etcd-client');
      const own = await opensslClientCert(pki, tempDir('rk-client-'));
      etcd = await startEtcd({ pkiDir: pki, dataDir: join(tempDir('rk-etcd-data-'), 'data'), clientCert: own.cert, clientKey: own.key });
      const put = await etcd.etcdctl(['put', 'k', 'v']);
      expect(put.exitCode, put.stderr).to.equal(0);
      pointEtcdAt(root, etcd.clientUrl);
    });
    after(async () => {
      await etcd?.stop();
    });

    it('(setup) the tree\'s etcd client certs really are expired and etcd refuses them', async () => {
      for (const base of ['etcd/healthcheck-client', 'apiserver-etcd-client']) {
        const check = await openssl(['x509', '-in', join(pki, `${base}.crt`), '-noout', '-checkend', '0']);
        expect(check.exitCode, `${base} should be expired`).to.not.equal(0);
      }
      const refused = await etcd!.etcdctl(['--dial-timeout=2s', '--command-timeout=3s', 'get', 'k'], { cert: join(pki, 'etcd/healthcheck-client.crt'), key: join(pki, 'etcd/healthcheck-client.key') });
      expect(refused.exitCode).to.not.equal(0);
    });

    it('backup (CLI) mints a temporary client cert, takes a snapshot and removes the cert afterwards', async () => {
      const tmp = tempDir('rk-tmpdir-');
      const archive = join(tempDir('rk-archives-'), 'b.tar.gz');
      const result = await cli(['backup', '--root', root, '--out', archive], tmp);
      expect(result.exitCode, result.out).to.equal(0);
      expect(result.stderr).to.include('with a temporary client cert');
      expect((await manifestOf(archive)).etcd.method).to.equal('snapshot');
      expect(readdirSync(tmp).filter((name) => name.startsWith('rescue-kit-etcd-'))).to.deep.equal([]);
      expect(strays(tmp)).to.deep.equal([]);
      const verify = await cli(['backup', 'verify', archive], tmp);
      expect(verify.exitCode, verify.out).to.equal(0);
    });

    it('createBackup: the temporary cert lives in os.tmpdir()/rescue-kit-etcd-*, is signed by etcd/ca for client auth, and is gone after', async () => {
      const real = createHost({ root });
      const seen: { certFile: string; pem: string; dir: string }[] = [];
      const host: Host = createHost({
        root,
        run: async (command, args, options) => {
          const cert = args.find((arg) => arg.startsWith('--cert='))?.slice('--cert='.length);
          if (command === 'etcdctl' && cert) seen.push({ certFile: cert, pem: existsSync(cert) ? readFileSync(cert, 'utf8') : '', dir: dirname(cert) });
          return real.run(command, args, options);
        },
      });
      const archive = join(tempDir('rk-archives-'), 'lib.tar.gz');
      const result = await createBackup(host, { out: archive, version: 'test', check: null });
      expect(result.manifest.etcd.method).to.equal('snapshot');
      expect(seen.length).to.be.at.least(2); // health, snapshot save
      for (const call of seen) {
        expect(call.dir.startsWith(join(tmpdir(), 'rescue-kit-etcd-')), call.certFile).to.equal(true);
        expect(call.pem).to.include('BEGIN CERTIFICATE');
        expect(existsSync(call.dir), `${call.dir} left behind`).to.equal(false);
      }
      const saved = join(tempDir('rk-tempcert-'), 'client.crt');
      writeFileSync(saved, seen[0]!.pem);
      const verified = await openssl(['verify', '-CAfile', join(pki, 'etcd/ca.crt'), '-purpose', 'sslclient', saved]);
      expect(verified.exitCode, verified.stdout + verified.stderr).to.equal(0);
      const valid = await openssl(['x509', '-in', saved, '-noout', '-checkend', '0']);
      expect(valid.exitCode).to.equal(0);
    });
  });

  describe('when etcd does not answer', () => {
    let root: string;
    let archive: string;
    let tmp: string;
    let result: CliResult & { out: string };
    let dataBefore: string[];

    before(async () => {
      root = await sandboxRoot(); // expired leaves: backup mints a temp cert, then finds nobody listening
      pointEtcdAt(root, `https://127.0.0.1:${await freePort()}`);
      const data = join(root, 'var/lib/etcd/member');
      mkdirSync(join(data, 'snap'), { recursive: true, mode: 0o700 });
      mkdirSync(join(data, 'wal'), { recursive: true, mode: 0o700 });
      chmodSync(join(root, 'var/lib/etcd'), 0o700);
      writeFileSync(join(data, 'snap/db'), Buffer.alloc(300_000, 7), { mode: 0o600 });
      writeFileSync(join(data, 'wal/0000000000000000-0000000000000000.wal'), Buffer.from('wal bytes'), { mode: 0o600 });
      dataBefore = listing(join(root, 'var/lib/etcd'));
      tmp = tempDir('rk-tmpdir-');
      archive = join(tempDir('rk-archives-'), 'datadir.tar.gz');
      result = await cli(['backup', '--root', root, '--out', archive, '--json'], tmp);
    });

    it('falls back to copying the data dir: method "data-dir" with the consistency warning in the manifest', async () => {
      expect(result.exitCode, result.out).to.equal(0);
      const summary = JSON.parse(result.stdout) as { etcd: { method: string; dataDir: string } };
      expect(summary.etcd.method).to.equal('data-dir');
      const manifest = await manifestOf(archive);
      expect(manifest.etcd.method).to.equal('data-dir');
      expect(manifest.etcd.dataDir).to.equal('/var/lib/etcd');
      expect(manifest.etcd.note).to.match(/consistent only if etcd was stopped/);
      expect(manifest.warnings.join('\n')).to.match(/does not answer at https:\/\/127\.0\.0\.1:\d+/);
      expect(manifest.warnings.join('\n')).to.include('the copy of /var/lib/etcd is only consistent if etcd was stopped');
      expect(result.stderr).to.match(/warning: .*only consistent if etcd was stopped/);
      const db = manifest.entries.find((entry) => entry.path === 'var/lib/etcd/member/snap/db');
      expect(db?.sha256).to.equal(sha256(readFileSync(join(root, 'var/lib/etcd/member/snap/db'))));
      expect(manifest.entries.some((entry) => entry.path === 'rescue-kit/etcd-snapshot.db')).to.equal(false);
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('backup verify passes and says it is a data-dir copy', async () => {
      const verify = await cli(['backup', 'verify', archive], tmp);
      expect(verify.exitCode, verify.out).to.equal(0);
      expect(verify.stderr).to.include('etcd: data-dir');
    });

    it('restore leaves the data dir alone without --include-etcd, and puts it back byte for byte with it', async () => {
      rmSync(join(root, 'var/lib/etcd'), { recursive: true });
      const plain = await cli(['restore', archive, '--root', root, '--yes'], tmp);
      expect(plain.exitCode, plain.out).to.equal(0);
      expect(existsSync(join(root, 'var/lib/etcd'))).to.equal(false);
      expect(plain.out).to.not.match(/\/var\/lib\/etcd/);
      const withEtcd = await cli(['restore', archive, '--root', root, '--yes', '--include-etcd'], tmp);
      expect(withEtcd.exitCode, withEtcd.out).to.equal(0);
      expect(withEtcd.stderr).to.match(/create\s+file\s+\/var\/lib\/etcd\/member\/snap\/db/);
      expect(listing(join(root, 'var/lib/etcd'))).to.deep.equal(dataBefore);
    });
  });

  const trees: { title: string; make: () => Promise<string>; link?: string }[] = [
    ...FIXTURES.map((name) => ({
      title: `the real ${name} fixture (keys 0600 as kubeadm writes them)`,
      make: async () => {
        const root = fixtureRoot(name);
        const pki = join(root, 'etc/kubernetes/pki');
        for (const file of [...readdirSync(pki).map((entry) => join(pki, entry)), ...readdirSync(join(pki, 'etcd')).map((entry) => join(pki, 'etcd', entry))]) {
          if (file.endsWith('.key')) chmodSync(file, 0o600);
        }
        return root;
      },
    })),
    { title: 'a sandbox tree with the kubelet\'s absolute symlink', make: () => sandboxRoot(), link: 'var/lib/kubelet/pki/kubelet-client-current.pem' },
  ];
  for (const tree of trees) {
    describe(`round trip on ${tree.title}`, () => {
      let root: string;
      let archive: string;
      let original: string[];
      let tmp: string;

      it('backup --no-etcd, wipe, restore --yes: every file\'s sha256, mode, owner and every link target is back', async () => {
        root = await tree.make();
        tmp = tempDir('rk-tmpdir-');
        original = listing(root, [BACKUPS]);
        expect(original.length).to.be.greaterThan(20);
        expect(original.some((line) => line.startsWith('etc/kubernetes/pki/ca.key file 600 '))).to.equal(true);
        archive = join(tempDir('rk-archives-'), 'rt.tar.gz');
        const made = await cli(['backup', '--root', root, '--out', archive, '--no-etcd'], tmp);
        expect(made.exitCode, made.out).to.equal(0);
        expect(made.stdout.trim()).to.equal(archive);
        rmSync(join(root, 'etc/kubernetes'), { recursive: true, force: true });
        rmSync(join(root, 'var/lib/kubelet'), { recursive: true, force: true });
        expect(listing(root, [BACKUPS])).to.not.deep.equal(original);
        const restored = await cli(['restore', archive, '--root', root, '--yes'], tmp);
        expect(restored.exitCode, restored.out).to.equal(0);
        expect(restored.stderr).to.include('nothing the backup holds exists here yet: nothing to save before restoring');
        expect(listing(root, [BACKUPS])).to.deep.equal(original);
        if (tree.link) {
          const target = readlinkSync(join(root, tree.link));
          expect(target).to.match(/^\/var\/lib\/kubelet\/pki\/kubelet-client-[\d-]+\.pem$/); // absolute, not rewritten under --root
        }
        expect(strays(tmp)).to.deep.equal([]);
      });

      it('after edits (content, mode, extra file and dir, removed file, retargeted link) restore puts it all back and saves a pre-restore backup', async () => {
        const kube = join(root, 'etc/kubernetes');
        writeFileSync(join(kube, 'admin.conf'), 'edited by the test\n');
        chmodSync(join(kube, 'pki/ca.key'), 0o640);
        writeFileSync(join(kube, 'pki/extra.crt'), 'an extra file\n', { mode: 0o600 });
        mkdirSync(join(kube, 'extra-dir/nested'), { recursive: true });
        writeFileSync(join(kube, 'extra-dir/nested/file'), 'x');
        rmSync(join(kube, 'manifests/kube-scheduler.yaml'));
        if (tree.link) {
          unlinkSync(join(root, tree.link));
          symlinkSync('/somewhere/else.pem', join(root, tree.link));
        }
        expect(listing(root, [BACKUPS])).to.not.deep.equal(original);
        const restored = await cli(['restore', archive, '--root', root, '--yes'], tmp);
        expect(restored.exitCode, restored.out).to.equal(0);
        expect(listing(root, [BACKUPS])).to.deep.equal(original);
        // The state just replaced was saved first (0600), and holds the edits.
        const saved = readdirSync(join(root, BACKUPS, 'backups')).filter((name) => name.endsWith('-pre-restore.tar.gz'));
        expect(saved).to.have.length(1);
        const pre = join(root, BACKUPS, 'backups', saved[0]!);
        expect(restored.stderr).to.include(`current state saved: ${pre}`);
        expect(mode(pre)).to.equal(0o600);
        const extra = await tar(['-xzOf', pre, 'etc/kubernetes/pki/extra.crt']);
        expect(extra.exitCode, extra.stderr).to.equal(0);
        expect(extra.stdout.toString()).to.equal('an extra file\n');
        const admin = await tar(['-xzOf', pre, 'etc/kubernetes/admin.conf']);
        expect(admin.stdout.toString()).to.equal('edited by the test\n');
        const verify = await cli(['backup', 'verify', pre], tmp);
        expect(verify.exitCode, verify.out).to.equal(0);
        expect(strays(tmp)).to.deep.equal([]);
      });
    });
  }

  describe('restore --dry-run and confirmation', () => {
    let root: string;
    let archive: string;

    before(async () => {
      root = await sandboxRoot();
      archive = join(tempDir('rk-archives-'), 'dry.tar.gz');
      const made = await cli(['backup', '--root', root, '--out', archive, '--no-etcd']);
      expect(made.exitCode, made.out).to.equal(0);
      writeFileSync(join(root, 'etc/kubernetes/admin.conf'), 'changed\n');
      writeFileSync(join(root, 'etc/kubernetes/pki/extra.crt'), 'extra\n');
      rmSync(join(root, 'etc/kubernetes/manifests/kube-scheduler.yaml'));
    });

    it('--dry-run shows the plan (replace / remove / create) and changes nothing', async () => {
      const before = listing(root);
      const result = await cli(['restore', archive, '--root', root, '--dry-run']);
      expect(result.exitCode, result.out).to.equal(0);
      expect(result.stderr).to.match(/replace\s+file\s+\/etc\/kubernetes\/admin\.conf/);
      expect(result.stderr).to.match(/remove\s+file\s+\/etc\/kubernetes\/pki\/extra\.crt/);
      expect(result.stderr).to.match(/create\s+file\s+\/etc\/kubernetes\/manifests\/kube-scheduler\.yaml/);
      expect(result.stderr).to.match(/create: 1, replace: 1, unchanged: \d+, remove: 1, skip: 0/);
      expect(listing(root)).to.deep.equal(before); // no pre-restore backup either
    });

    it('--dry-run --json prints the same plan as JSON', async () => {
      const before = listing(root);
      const result = await cli(['restore', archive, '--root', root, '--dry-run', '--json']);
      expect(result.exitCode, result.out).to.equal(0);
      const plan = JSON.parse(result.stdout) as { counts: Record<string, number>; changes: { path: string; action: string }[] };
      expect(plan.counts).to.include({ create: 1, replace: 1, remove: 1, skip: 0 });
      expect(plan.changes.map((item) => `${item.action} ${item.path}`).sort()).to.deep.equal([
        'create etc/kubernetes/manifests/kube-scheduler.yaml', 'remove etc/kubernetes/pki/extra.crt', 'replace etc/kubernetes/admin.conf',
      ]);
      expect(listing(root)).to.deep.equal(before);
    });

    it('without --yes and without a terminal: exit 2, nothing changed', async () => {
      const before = listing(root);
      const result = await cli(['restore', archive, '--root', root]);
      expect(result.exitCode, result.out).to.equal(2);
      expect(result.stderr).to.include('--yes');
      expect(listing(root)).to.deep.equal(before);
    });
  });

  describe('hostile archives: refused with exit 4, nothing written, no temp files', () => {
    let container: string;
    let root: string;
    let base: string;
    let dir: string;
    let tmp: string;
    const ABSOLUTE = '/etc/evil-rescue-kit-test';

    before(async () => {
      container = tempDir('rk-hostile-');
      root = join(container, 'root');
      mkdirSync(root);
      writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 } }));
      dir = tempDir('rk-hostile-archives-');
      tmp = tempDir('rk-tmpdir-');
      base = join(dir, 'base.tar.gz');
      const made = await cli(['backup', '--root', root, '--out', base, '--no-etcd']);
      expect(made.exitCode, made.out).to.equal(0);
      expect(existsSync(ABSOLUTE)).to.equal(false);
    });

    /** restore (plan + --yes) and backup verify both refuse with exit 4 and `message`; nothing changes anywhere. */
    async function expectRefused(archive: string, message: RegExp): Promise<void> {
      const before = listing(container);
      const restore = await cli(['restore', archive, '--root', root, '--yes'], tmp);
      expect(restore.exitCode, restore.out).to.equal(4);
      expect(restore.stderr).to.match(message);
      expect(restore.stderr).to.include('hint:');
      const verify = await cli(['backup', 'verify', archive], tmp);
      expect(verify.exitCode, verify.out).to.equal(4);
      expect(verify.stderr).to.match(message);
      expect(listing(container)).to.deep.equal(before);
      expect(existsSync(join(root, BACKUPS)), 'no pre-restore backup').to.equal(false);
      expect(existsSync(ABSOLUTE)).to.equal(false);
      expect(strays(tmp)).to.deep.equal([]);
    }

    it('(control) the python re-pack of the valid backup is accepted: verify 0, restore says nothing to change', async () => {
      const same = await rebuild(base, join(dir, 'control.tar.gz'), {});
      const before = listing(container);
      const verify = await cli(['backup', 'verify', same], tmp);
      expect(verify.exitCode, verify.out).to.equal(0);
      const restore = await cli(['restore', same, '--root', root, '--yes'], tmp);
      expect(restore.exitCode, restore.out).to.equal(0);
      expect(restore.stderr).to.include('nothing to change');
      expect(listing(container)).to.deep.equal(before);
      // ...and one with a listed extra file is accepted too (so the manifest the builder writes is right).
      const extra = await rebuild(base, join(dir, 'control-extra.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/listed-extra.txt', type: 'file', data: 'fine' }] });
      const verifyExtra = await cli(['backup', 'verify', extra], tmp);
      expect(verifyExtra.exitCode, verifyExtra.out).to.equal(0);
    });

    it('(a) an entry path with ../ escaping the root', async () => {
      await expectRefused(await rebuild(base, join(dir, 'a1.tar.gz'), { extras: [{ name: '../rk-escape-dotdot', type: 'file', data: 'pwned' }] }), /".." in archive path: \.\.\/rk-escape-dotdot/);
      await expectRefused(await rebuild(base, join(dir, 'a2.tar.gz'), { extras: [{ name: 'etc/kubernetes/../../../rk-escape-dotdot2', type: 'file', data: 'pwned' }] }), /".." in archive path/);
    });

    it('(b) an absolute path entry', async () => {
      await expectRefused(await rebuild(base, join(dir, 'b.tar.gz'), { extras: [{ name: ABSOLUTE, type: 'file', data: 'pwned' }] }), /absolute path in archive: \/etc\/evil-rescue-kit-test/);
    });

    it('(c) a symlink whose relative target climbs out of the root', async () => {
      await expectRefused(
        await rebuild(base, join(dir, 'c1.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/evil-link', type: 'symlink', linkname: '../../../../rk-escape-link' }] }),
        /symlink etc\/kubernetes\/pki\/evil-link -> \.\.\/\.\.\/\.\.\/\.\.\/rk-escape-link points outside the root/,
      );
      await expectRefused(
        await rebuild(base, join(dir, 'c2.tar.gz'), { extras: [{ name: 'etc/kubernetes/evil-link', type: 'symlink', linkname: 'pki/../../../../..' }] }),
        /points outside the root/,
      );
    });

    it('(d) a FIFO and a character device entry', async () => {
      await expectRefused(await rebuild(base, join(dir, 'd1.tar.gz'), { extras: [{ name: 'etc/kubernetes/evil-fifo', type: 'fifo' }] }), /unsupported entry type FIFO for etc\/kubernetes\/evil-fifo/);
      await expectRefused(await rebuild(base, join(dir, 'd2.tar.gz'), { extras: [{ name: 'etc/kubernetes/evil-null', type: 'chr' }] }), /unsupported entry type CharacterDevice/);
    });

    it('(e) a truncated gzip (the archive cut in half)', async () => {
      const data = readFileSync(base);
      const cut = join(dir, 'e.tar.gz');
      writeFileSync(cut, data.subarray(0, Math.floor(data.length / 2)));
      await expectRefused(cut, /damaged archive/);
    });

    it('(f) a file whose bytes no longer match the manifest\'s sha256', async () => {
      await expectRefused(
        await rebuild(base, join(dir, 'f.tar.gz'), { replace: { 'etc/kubernetes/pki/ca.key': { data: '-----BEGIN PRIVATE KEY-----\nattacker\n-----END PRIVATE KEY-----\n' } } }),
        /etc\/kubernetes\/pki\/ca\.key: sha256 does not match the manifest/,
      );
    });

    it('(g) a file entry the manifest does not list', async () => {
      await expectRefused(
        await rebuild(base, join(dir, 'g.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/backdoor.crt', type: 'file', data: 'x', listed: false }] }),
        /etc\/kubernetes\/pki\/backdoor\.crt is in the archive but not in the manifest/,
      );
    });

    it('(h) a hard link entry (inside and outside the tree)', async () => {
      await expectRefused(await rebuild(base, join(dir, 'h1.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/hard', type: 'hardlink', linkname: 'etc/kubernetes/pki/ca.key' }] }), /unsupported entry type Link for etc\/kubernetes\/pki\/hard/);
      await expectRefused(await rebuild(base, join(dir, 'h2.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/shadow', type: 'hardlink', linkname: '/etc/shadow' }] }), /unsupported entry type Link/);
    });

    it('a duplicate entry, a missing manifest, a file the manifest lists but the archive lacks', async () => {
      await expectRefused(await rebuild(base, join(dir, 'dup.tar.gz'), { extras: [{ name: 'etc/kubernetes/pki/ca.key', type: 'file', data: 'second copy', mode: 0o600 }] }), /duplicate archive entry etc\/kubernetes\/pki\/ca\.key/);
      await expectRefused(await rebuild(base, join(dir, 'nomanifest.tar.gz'), { noManifest: true }), /no rescue-kit\/manifest\.json in the archive/);
      await expectRefused(await rebuild(base, join(dir, 'missing.tar.gz'), { hide: ['etc/kubernetes/pki/sa.key'] }), /etc\/kubernetes\/pki\/sa\.key is in the manifest but missing from the archive/);
    });

    it('a file that is not an archive at all', async () => {
      const junk = join(dir, 'junk.tar.gz');
      writeFileSync(junk, Buffer.alloc(10_000, 0x41));
      await expectRefused(junk, /damaged archive|not a rescue-kit backup/);
    });

    // BUG (lib/ops/archive/restore.ts): the plan walks *into* a host directory whose archive entry is a
    // symlink and lists its children for removal; applyRestore creates the archive's symlinks
    // before the removals, so the removals go through the new link. An archive that turns
    // etc/kubernetes/pki/etcd into a link to an absolute directory (allowed: absolute targets are
    // "re-rooted" by checkLinkTarget, but written verbatim) deletes files of the same names outside
    // --root. Run: unskip; the victim files in OUTSIDE are gone.
    it('(i) a symlink replacing a host directory must not let restore delete files outside the root', async () => {
      const outside = tempDir('rk-outside-');
      for (const name of ['ca.crt', 'ca.key', 'server.crt', 'victim-does-not-matter']) writeFileSync(join(outside, name), `victim ${name}\n`);
      const outsideBefore = listing(outside);
      const archive = await rebuild(base, join(dir, 'i.tar.gz'), {
        drop: ['etc/kubernetes/pki/etcd'],
        extras: [{ name: 'etc/kubernetes/pki/etcd', type: 'symlink', linkname: outside, mode: 0o777 }],
      });
      const own = join(tempDir('rk-hostile-own-'), 'root'); // its own copy: a failure here must not leak into other cases
      cpSync(root, own, { recursive: true, verbatimSymlinks: true });
      const restore = await cli(['restore', archive, '--root', own, '--yes'], tmp);
      expect(listing(outside), `restore exit ${restore.exitCode}: ${restore.out}`).to.deep.equal(outsideBefore);
      // Refusing (4) or restoring without touching OUTSIDE (0) are both acceptable fixes; 1 is not.
      expect([0, 4], restore.out).to.include(restore.exitCode);
    });

    // BUG (lib/ops/archive/archive-reader.ts): entries *beneath* a symlink entry of the same archive
    // (etc/kubernetes/pki/sub -> /x, plus etc/kubernetes/pki/sub/file) pass every check; restore
    // then writes the file into a real directory, replaces that directory with the link, and
    // fails its own post-check with exit 1 (INTERNAL), leaving the tree changed. It should be
    // refused up front (exit 4) like the other hostile shapes.
    it('(j) an entry beneath a symlink entry of the same archive', async () => {
      const outside = tempDir('rk-outside-');
      const archive = await rebuild(base, join(dir, 'j.tar.gz'), {
        extras: [
          { name: 'etc/kubernetes/pki/sub', type: 'symlink', linkname: outside, mode: 0o777 },
          { name: 'etc/kubernetes/pki/sub/planted.key', type: 'file', data: 'planted' },
        ],
      });
      const verify = await cli(['backup', 'verify', archive], tmp);
      expect(verify.exitCode, verify.out).to.equal(4);
      const own = join(tempDir('rk-hostile-own-'), 'root');
      cpSync(root, own, { recursive: true, verbatimSymlinks: true });
      const before = listing(own);
      const restore = await cli(['restore', archive, '--root', own, '--yes'], tmp);
      expect(restore.exitCode, restore.out).to.equal(4);
      expect(listing(own)).to.deep.equal(before);
      expect(readdirSync(outside)).to.deep.equal([]);
    });
  });

  describe('encryption', () => {
    let root: string;
    let treeBefore: string[];
    let archive: string;
    let right: string;
    let wrong: string;
    let tmp: string;

    before(async () => {
      root = await sandboxRoot();
      treeBefore = listing(root, [BACKUPS]);
      const dir = tempDir('rk-enc-');
      tmp = tempDir('rk-tmpdir-');
      right = join(dir, 'right.pass');
      wrong = join(dir, 'wrong.pass');
      writeFileSync(right, 'correct horse battery staple\n', { mode: 0o600 });
      writeFileSync(wrong, 'incorrect horse battery staple\n', { mode: 0o600 });
      archive = join(dir, 'enc.tar.gz.enc');
      const made = await cli(['backup', '--root', root, '--out', archive, '--no-etcd', '--encrypt', '--passphrase-file', right], tmp);
      expect(made.exitCode, made.out).to.equal(0);
    });

    it('starts with the magic, is not gzip, is 0600 and holds no key in clear', async () => {
      const data = readFileSync(archive);
      expect(data.subarray(0, MAGIC.length).toString()).to.equal(MAGIC);
      expect(data[0] === 0x1f && data[1] === 0x8b).to.equal(false);
      expect(mode(archive)).to.equal(0o600);
      const gzip = await execa('gzip', ['-t'], { input: data, reject: false });
      expect(gzip.exitCode).to.not.equal(0);
      const keyBody = readFileSync(join(root, 'etc/kubernetes/pki/ca.key'), 'utf8').split('\n')[1]!;
      expect(data.includes(Buffer.from(keyBody))).to.equal(false);
      const listed = await tar(['tzf', archive]);
      expect(listed.exitCode).to.not.equal(0);
    });

    it('backup verify passes with the right passphrase file', async () => {
      const result = await cli(['backup', 'verify', archive, '--passphrase-file', right], tmp);
      expect(result.exitCode, result.out).to.equal(0);
      expect(result.stderr).to.match(/OK: \d+ files match the manifest/);
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('backup verify without a passphrase (no terminal): exit 2, asks for --passphrase-file', async () => {
      const result = await cli(['backup', 'verify', archive], tmp);
      expect(result.exitCode, result.out).to.equal(2);
      expect(result.stderr).to.include('a passphrase is needed').and.include('--passphrase-file');
    });

    it('a wrong passphrase fails with exit 4 in verify and restore, and restore writes nothing', async () => {
      const verify = await cli(['backup', 'verify', archive, '--passphrase-file', wrong], tmp);
      expect(verify.exitCode, verify.out).to.equal(4);
      writeFileSync(join(root, 'etc/kubernetes/admin.conf'), 'changed\n');
      const changed = listing(root);
      const restore = await cli(['restore', archive, '--root', root, '--yes', '--passphrase-file', wrong], tmp);
      expect(restore.exitCode, restore.out).to.equal(4);
      expect(listing(root)).to.deep.equal(changed);
      expect(strays(tmp)).to.deep.equal([]);
    });

    // BUG (lib/ops/archive/archive-reader.ts + archive-crypto.ts): with a wrong passphrase the message is
    // "damaged archive: invalid base256 encoding" (or another tar parse error), never "wrong
    // passphrase": decryptStream passes unauthenticated plaintext on, and the tar parser chokes on
    // the garbage before flush() checks the GCM tag and raises the clear error.
    it('a wrong passphrase is reported as such (wrong passphrase, or the file was changed)', async () => {
      const verify = await cli(['backup', 'verify', archive, '--passphrase-file', wrong], tmp);
      expect(verify.exitCode, verify.out).to.equal(4);
      expect(verify.stderr).to.match(/wrong passphrase|changed/);
      expect(verify.stderr).to.not.match(/damaged archive/);
    });

    it('a flipped byte in the ciphertext fails verify with exit 4', async () => {
      const flipped = join(tempDir('rk-enc-flip-'), 'flipped.enc');
      flipByte(archive, flipped, 0.5);
      const result = await cli(['backup', 'verify', flipped, '--passphrase-file', right], tmp);
      expect(result.exitCode, result.out).to.equal(4);
      expect(result.stderr).to.match(/cannot be decrypted|damaged archive|does not match/);
    });

    it('restore with the right passphrase round-trips the tree exactly', async () => {
      rmSync(join(root, 'etc/kubernetes'), { recursive: true });
      rmSync(join(root, 'var/lib/kubelet'), { recursive: true });
      const result = await cli(['restore', archive, '--root', root, '--yes', '--passphrase-file', right], tmp);
      expect(result.exitCode, result.out).to.equal(0);
      expect(listing(root, [BACKUPS])).to.deep.equal(treeBefore);
      expect(strays(tmp)).to.deep.equal([]);
    });

    it('refuses a passphrase shorter than 8 characters (exit 2, no archive written)', async () => {
      const dir = tempDir('rk-enc-short-');
      writeFileSync(join(dir, 'short'), 'short\n');
      const out = join(dir, 'short.enc');
      const result = await cli(['backup', '--root', root, '--out', out, '--no-etcd', '--encrypt', '--passphrase-file', join(dir, 'short')], tmp);
      expect(result.exitCode, result.out).to.equal(2);
      expect(result.stderr).to.include('at least 8 characters');
      expect(readdirSync(dir)).to.deep.equal(['short']);
    });
  });

  describe('restore through a symlinked parent directory on the host', () => {
    let root: string;
    let archive: string;

    before(async () => {
      root = await sandboxRoot();
      archive = join(tempDir('rk-archives-'), 'parent.tar.gz');
      const made = await cli(['backup', '--root', root, '--out', archive, '--no-etcd']);
      expect(made.exitCode, made.out).to.equal(0);
    });

    for (const parent of ['etc/kubernetes', 'var/lib/kubelet']) {
      it(`refuses when ROOT/${parent} is a symlink to a directory outside the root: exit 4, nothing written anywhere`, async () => {
        const outside = tempDir('rk-outside-');
        const moved = join(outside, 'moved');
        renameSync(join(root, parent), moved);
        symlinkSync(moved, join(root, parent));
        writeFileSync(join(moved, 'marker'), 'outside\n'); // an extra file a restore would "remove"
        try {
          const beforeRoot = listing(root);
          const beforeOutside = listing(outside);
          const result = await cli(['restore', archive, '--root', root, '--yes']);
          expect(result.exitCode, result.out).to.equal(4);
          expect(result.stderr).to.include(`/${parent} is a symlink on this host`);
          expect(listing(root)).to.deep.equal(beforeRoot);
          expect(listing(outside)).to.deep.equal(beforeOutside);
          expect(existsSync(join(root, BACKUPS))).to.equal(false);
        } finally {
          unlinkSync(join(root, parent));
          rmSync(join(moved, 'marker'));
          renameSync(moved, join(root, parent));
        }
      });
    }
  });

  describe('CLI errors', () => {
    // BUG (lib/cli/commands/backup.ts passphraseFor): readFileSync(file) of the WHOLE archive just to
    // sniff 64 bytes. Past 2 GiB (a big etcd snapshot) Node throws ERR_FS_FILE_TOO_LARGE and
    // `backup verify` / `restore` end in "internal error", exit 1; below that it still loads the
    // whole archive into memory. A sparse 2.2 GB junk file shows it (no disk used): it should
    // be read like any other file and refused as damaged (exit 4).
    it('backup verify of an archive larger than 2 GiB reads it (here: refuses a sparse junk file as damaged)', async () => {
      const big = join(tempDir('rk-big-'), 'big.tar.gz');
      writeFileSync(big, Buffer.alloc(4096, 0x41)); // junk up front: a correct reader refuses it at once
      truncateSync(big, 2_200 * 1024 * 1024);
      const result = await cli(['backup', 'verify', big]);
      expect(result.stderr).to.not.include('internal error');
      expect(result.exitCode, result.out).to.equal(4);
    });

    // BUG (lib/cli/commands/backup.ts passphraseFor): a missing archive is read with a bare
    // readFileSync before any check, so `backup verify /no/such/file` (and `restore`) die with
    // "internal error (a bug in rescue-kit...)" and exit 1 instead of FILE_NOT_FOUND (exit 3).
    it('backup verify / restore of a missing file: exit 3, names the file', async () => {
      const missing = join(tempDir('rk-missing-'), 'nope.tar.gz');
      for (const args of [['backup', 'verify', missing], ['restore', missing, '--root', tempDir(), '--dry-run']]) {
        const result = await cli(args);
        expect(result.exitCode, result.out).to.equal(3);
        expect(result.stderr).to.include(missing).and.not.include('internal error');
      }
    });
  });
});
