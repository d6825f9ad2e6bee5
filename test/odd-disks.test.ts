// Disks and trees as outages leave them: a read-only or immutable state dir, a
// read-only root, not root, a cert that cannot be replaced; odd input
// (--validity 1000000y); backups that must never be overwritten; two runs at
// once; modes whatever the umask; a cert that is a relative symlink. Each ends
// with the documented exit code, a message with the path, cause and fix, and a
// tree that is all old (exit 5, or 6 after a rollback) or all new (exit 0).
import { expect } from 'chai';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { createHost } from '../lib/host/host.js';
import { applyRenewPlan } from '../lib/ops/renewal/apply.js';
import { discover } from '../lib/ops/inventory/discover.js';
import { buildRenewPlan } from '../lib/ops/renewal/renew-plan.js';
import { cliPath, fixtureRoot, runCliAs, tempDir } from './helpers/env.js';
import { cli, hostModes, LEAVES, listing, pairMatches, Run, show } from './helpers/renew.js';

const isRoot = process.getuid?.() === 0;
const renewArgs = (root: string, ...extra: string[]) => ['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', ...extra, '--root', root];
const mounts: string[] = [];

function tree(): string {
  const root = fixtureRoot('kubeadm-1.14-expired');
  hostModes(root);
  return root;
}

function expectNoCrash(run: Run): void {
  expect(run.stderr, show(run)).to.not.match(/internal error|at .*\.js:\d+/);
}

async function tmpfsAt(dir: string, options = 'size=4m'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}

after(async () => {
  for (const dir of mounts.reverse()) {
    await execa('chattr', ['-R', '-i', dir], { reject: false });
    await execa('umount', [dir], { reject: false });
  }
});

(isRoot ? describe : describe.skip)('read-only, immutable and not-root state: exit 5, the path, the cause, the fix, nothing changed', function () {
  this.timeout(120_000);

  it('a read-only state dir (var/lib/rescue-kit mounted ro): renew exits 5 saying read-only, and the tree is untouched', async () => {
    const root = tree();
    const before = listing(root);
    const state = join(root, 'var/lib/rescue-kit');
    await tmpfsAt(state, 'size=1m,ro');
    const run = await cli(renewArgs(root));
    expect(run.exitCode, show(run)).to.equal(5);
    expectNoCrash(run);
    expect(run.stderr).to.include(state);
    expect(run.stderr).to.match(/read-only/);
    expect(run.stderr).to.match(/nothing was changed/);
    expect(run.stderr).to.match(/remount it read-write/);
    expect(listing(root)).to.deep.equal(before);
  });

  it('a read-only root filesystem: renew, backup and rollback exit 5 (never a stack trace), and nothing changes', async () => {
    const mount = join(tempDir('rk-ro-'), 'mnt');
    await tmpfsAt(mount);
    const root = join(mount, 'root');
    await execa('cp', ['-a', tree(), root]);
    // A run to roll back (and certificates fresh enough that renewing again needs --force).
    const first = await cli(renewArgs(root));
    expect(first.exitCode, show(first)).to.equal(0);
    await execa('mount', ['-o', 'remount,ro', mount]);
    const before = listing(root);
    for (const args of [renewArgs(root, '--force'), ['backup', '--no-etcd', '--root', root], ['rollback', '--yes', '--root', root]]) {
      const run = await cli(args);
      expect(run.exitCode, `${args[0]}: ${show(run)}`).to.equal(5);
      expectNoCrash(run);
      expect(run.stderr, args[0]).to.match(/read-only/);
    }
    expect(listing(root)).to.deep.equal(before);
  });

  it('an immutable state dir (chattr +i): renew exits 5 naming chattr -i, the tree is untouched', async () => {
    const mount = join(tempDir('rk-immutable-'), 'mnt');
    await tmpfsAt(mount);
    const root = join(mount, 'root');
    await execa('cp', ['-a', tree(), root]);
    const state = join(root, 'var/lib/rescue-kit');
    mkdirSync(state, { recursive: true });
    await execa('chattr', ['+i', state]);
    const before = listing(root);
    const run = await cli(renewArgs(root));
    await execa('chattr', ['-i', state]);
    expect(run.exitCode, show(run)).to.equal(5);
    expectNoCrash(run);
    expect(run.stderr).to.match(/operation not permitted/);
    expect(run.stderr).to.match(/chattr -i/);
    expect(listing(root)).to.deep.equal(before);
  });

  it('an immutable certificate: the rename fails half-way, everything already renamed is put back (exit 6, all old, says it was rolled back)', async () => {
    const mount = join(tempDir('rk-immutable-cert-'), 'mnt');
    await tmpfsAt(mount);
    const root = join(mount, 'root');
    await execa('cp', ['-a', tree(), root]);
    const before = listing(root);
    // Late in the commit order, so earlier files are already renamed when it fails.
    const locked = join(root, 'etc/kubernetes/pki/etcd/peer.crt');
    await execa('chattr', ['+i', locked]);
    const run = await cli(renewArgs(root));
    await execa('chattr', ['-i', locked]);
    expect(run.exitCode, show(run)).to.equal(6);
    expectNoCrash(run);
    expect(run.stderr).to.match(/rolled back/);
    expect(run.stdout + run.stderr).to.not.match(/undo: rescue-kit rollback/);
    const now = listing(root);
    for (const [path, entry] of Object.entries(before)) expect(now[path], path).to.equal(entry);
    expect(Object.keys(now).filter((path) => /\.rescue-kit$/.test(path)), 'no temps').to.deep.equal([]);
  });

  it('not root: a state dir it cannot write is "permission denied: run as root" (exit 5), not a stack trace', async () => {
    const root = tree();
    await execa('chmod', ['-R', 'a+rX', root]);
    chmodSync(root, 0o755);
    const before = listing(root);
    const result = await runCliAs(renewArgs(root));
    expect(result.exitCode, show(result)).to.equal(5);
    expectNoCrash(result);
    expect(result.stderr).to.match(/permission denied/);
    expect(result.stderr).to.match(/run as root/);
    expect(listing(root)).to.deep.equal(before);
  });

  it('not root: rollback --list over runs it cannot read is "permission denied" (exit 5), never an empty list with exit 0', async () => {
    const root = tree();
    const renew = await cli([...renewArgs(root)]);
    expect(renew.exitCode, show(renew)).to.equal(0);
    // What a root-run leaves: the state dir 0700, the journals root's. Everything else readable.
    await execa('chmod', ['-R', 'a+rX', join(root, 'etc')]);
    chmodSync(root, 0o755);
    chmodSync(join(root, 'var/lib/rescue-kit/runs'), 0o700);
    const list = await runCliAs(['rollback', '--list', '--root', root]);
    expect(list.exitCode, show(list)).to.equal(5);
    expectNoCrash(list);
    expect(list.stderr).to.match(/permission denied/);
    expect(list.stdout, 'no empty table passed off as "no runs"').to.not.match(/RUN\s+COMMAND/);
  });
});

describe('odd input and never-overwritten backups', function () {
  this.timeout(120_000);

  it('--validity 1000000y is refused (exit 4, names the flag), not a RangeError', async () => {
    const root = tree();
    const run = await cli(renewArgs(root, '--validity', '1000000y', '--dry-run'));
    expect(run.exitCode, show(run)).to.equal(4);
    expectNoCrash(run);
    expect(run.stderr).to.match(/--validity "1000000y" is longer than 1000 years/);
  });

  it('backup --out FILE that exists is refused (exit 3, file untouched); --force replaces it', async () => {
    const root = tree();
    const out = join(tempDir('rk-backup-out-'), 'backup.tar.gz');
    writeFileSync(out, 'an older backup');
    const refused = await cli(['backup', '--no-etcd', '--root', root, '--out', out]);
    expect(refused.exitCode, show(refused)).to.equal(3);
    expect(refused.stderr).to.match(/never overwritten/);
    expect(readFileSync(out, 'utf8')).to.equal('an older backup');
    expect(readdirSync(join(out, '..')), 'no temp left').to.deep.equal(['backup.tar.gz']);
    const forced = await cli(['backup', '--no-etcd', '--root', root, '--out', out, '--force']);
    expect(forced.exitCode, show(forced)).to.equal(0);
    const verify = await cli(['backup', 'verify', out]);
    expect(verify.exitCode, show(verify)).to.equal(0);
  });

  it('two backups in the same second (the clock frozen with faketime) get two archives, neither overwritten', async () => {
    const root = tree();
    // -f: an absolute FAKETIME is a stopped clock (without it, faketime starts there and ticks).
    const frozen = (args: string[]) => execa('faketime', ['-f', '2026-06-01 12:00:00', 'node', cliPath, ...args], { reject: false, stdin: 'ignore', timeout: 60_000, env: { NO_COLOR: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
    const [first, second] = await Promise.all([frozen(['backup', '--no-etcd', '--root', root]), frozen(['backup', '--no-etcd', '--root', root])]);
    expect(first.exitCode, String(first.stderr)).to.equal(0);
    expect(second.exitCode, String(second.stderr)).to.equal(0);
    const archives = readdirSync(join(root, 'var/lib/rescue-kit/backups')).sort();
    expect(archives).to.have.length(2);
    // The same second for both: one keeps the name, the other gets -2.
    expect(archives[1]).to.match(/-20260601T120000Z\.tar\.gz$/);
    expect(archives[0]).to.equal(archives[1]!.replace(/\.tar\.gz$/, '-2.tar.gz'));
    expect(new Set([String(first.stdout).trim(), String(second.stdout).trim()]).size, 'two different paths printed').to.equal(2);
    for (const archive of archives) expect((await cli(['backup', 'verify', join(root, 'var/lib/rescue-kit/backups', archive)])).exitCode).to.equal(0);
  });
});

describe('two runs at once: a stale plan is never applied, a live run is "in progress"', function () {
  this.timeout(120_000);

  it('a plan made before another run changed the files is refused under the lock (TREE_CHANGED, exit 5): no KEY-MISMATCH', async () => {
    const root = tree();
    const host = createHost({ root });
    // The plan waiting at "(y/N)": keys kept, as read now.
    const stale = await buildRenewPlan(host, discover(host), { names: ['apiserver'], all: false, durationMs: 365 * 86_400_000, newKey: false });
    // Meanwhile another operator renews apiserver with a new key.
    const other = await cli(['renew', 'apiserver', '--new-key', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root]);
    expect(other.exitCode, show(other)).to.equal(0);
    const between = listing(root);
    let error: Error | undefined;
    try {
      await applyRenewPlan(host, stale, { command: 'renew apiserver', version: 'test', restart: 'none', timeoutMs: 1000, etcdBackup: 'skip', log: () => {} });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).to.match(/the tree changed since the plan was made/);
    expect((error as { exitCode?: number }).exitCode).to.equal(5);
    expect(listing(root), 'nothing written by the stale plan').to.deep.equal(between);
    expect(pairMatches(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt')), readFileSync(join(root, 'etc/kubernetes/pki/apiserver.key')))).to.equal(true);
  });

  it('two renews started together (one with --new-key): every cert still matches its key afterwards, and a loser is told why', async () => {
    const root = tree();
    const start = (extra: string[]) => execa('node', [cliPath, ...renewArgs(root, ...extra)], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
    const [plain, fresh] = await Promise.all([start([]), start(['--new-key'])]);
    for (const run of [plain, fresh]) {
      expect([0, 3, 5], String(run.stderr)).to.include(run.exitCode);
      // The loser overlapped the winner (in progress / stale plan), or came after it (all fresh: renewing again needs --force).
      if (run.exitCode !== 0) expect(String(run.stderr)).to.match(/in progress|the tree changed since the plan was made|nothing needs renewing/);
    }
    expect([plain.exitCode, fresh.exitCode]).to.include(0);
    for (const leaf of LEAVES) expect(pairMatches(readFileSync(join(root, leaf.crt)), readFileSync(join(root, leaf.key))), leaf.name).to.equal(true);
  });

  it('a second renew while a live run holds the lock hears "another run (pid N) is in progress", never "interrupted" or "roll it back"', async () => {
    const root = tree();
    const live = execa('sleep', ['30']);
    try {
      // What a live run in its restart step leaves on disk: the lock with its pid, and its journal.
      const state = join(root, 'var/lib/rescue-kit');
      mkdirSync(join(state, 'runs/20260101T000000000Z-1'), { recursive: true });
      writeFileSync(join(state, 'lock'), String(live.pid));
      writeFileSync(join(state, 'runs/20260101T000000000Z-1/journal.json'), JSON.stringify({ schemaVersion: 1, runId: '20260101T000000000Z-1', pid: live.pid, command: 'renew --all', startedAt: '', updatedAt: '', phase: 'restarting', steps: [], restart: [], restarted: [], paused: [] }));
      const run = await cli(renewArgs(root));
      expect(run.exitCode, show(run)).to.equal(3);
      expect(run.stderr).to.match(new RegExp(`another rescue-kit run \\(pid ${live.pid}, renew --all, phase "restarting"\\) is in progress`));
      expect(run.stderr).to.not.match(/interrupted|rollback/);
    } finally {
      live.kill();
    }
  });
});

describe('modes whatever the umask, and a cert that is a relative symlink', function () {
  this.timeout(120_000);
  const withUmask = (umask: string, args: string[]) => execa('sh', ['-c', `umask ${umask}; exec node "$0" "$@"`, cliPath, ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
  const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');

  it('umask 000: a 0777 cert comes out 0644, a key 0600; umask 077: certs keep 0644; a 0400 key stays 0400 with --new-key', async () => {
    const root = tree();
    const pki = join(root, 'etc/kubernetes/pki');
    chmodSync(join(pki, 'apiserver.crt'), 0o777);
    chmodSync(join(pki, 'front-proxy-client.key'), 0o400);
    const open = await withUmask('000', renewArgs(root, '--new-key'));
    expect(open.exitCode, String(open.stderr)).to.equal(0);
    expect(String(open.stdout)).to.match(/apiserver\.crt \(0644\)/);
    expect(String(open.stdout)).to.not.match(/\(0777\)/);
    expect(mode(join(pki, 'apiserver.crt'))).to.equal('0644');
    expect(mode(join(pki, 'apiserver.key'))).to.equal('0600');
    expect(mode(join(pki, 'front-proxy-client.key')), 'a 0400 key is never widened').to.equal('0400');
    const closed = await withUmask('077', renewArgs(root, '--force'));
    expect(closed.exitCode, String(closed.stderr)).to.equal(0);
    for (const leaf of LEAVES) expect(mode(join(root, leaf.crt)), leaf.crt).to.equal('0644');
  });

  it('apiserver.crt -> apiserver-2020.crt (relative): renewed through the link, which stays a link', async () => {
    const root = tree();
    const pki = join(root, 'etc/kubernetes/pki');
    renameSync(join(pki, 'apiserver.crt'), join(pki, 'apiserver-2020.crt'));
    symlinkSync('apiserver-2020.crt', join(pki, 'apiserver.crt'));
    const old = readFileSync(join(pki, 'apiserver-2020.crt'));
    const run = await cli(renewArgs(root));
    expect(run.exitCode, show(run)).to.equal(0);
    expect(run.stdout).to.match(/written through the symlink \/etc\/kubernetes\/pki\/apiserver\.crt/);
    expect(lstatSync(join(pki, 'apiserver.crt')).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(join(pki, 'apiserver.crt'))).to.equal('apiserver-2020.crt');
    expect(readFileSync(join(pki, 'apiserver-2020.crt')).equals(old), 'the target has the new cert').to.equal(false);
    expect(pairMatches(readFileSync(join(pki, 'apiserver.crt')), readFileSync(join(pki, 'apiserver.key')))).to.equal(true);
    expect(existsSync(join(pki, 'apiserver-2020.crt'))).to.equal(true);
  });
});

describe('the sweep of partial backups never takes a live writer\'s file', () => {
  it('removes the temps of dead writers (old and new names) and keeps a live one, even when its random suffix is all digits', async () => {
    const { removeDeadBackupTemps } = await import('../lib/ops/archive/backup.js');
    const dir = tempDir('rk-sweep-');
    const live = execa('sleep', ['30']);
    try {
      const names = {
        liveAllDigits: `.vm-20260601T120000Z.tar.gz.pid-${live.pid}.89526929.tmp`,
        deadNew: '.vm-20260601T120000Z.tar.gz.pid-4194301.0a1b2c3d.tmp',
        deadLegacy: '.vm-20200101T000000Z.tar.gz.4194300.tmp',
        archive: 'vm-20260601T120000Z.tar.gz',
      };
      for (const name of Object.values(names)) writeFileSync(join(dir, name), 'x', { mode: 0o600 });
      expect(removeDeadBackupTemps(dir).sort()).to.deep.equal([names.deadNew, names.deadLegacy].sort());
      expect(readdirSync(dir).sort()).to.deep.equal([names.liveAllDigits, names.archive].sort());
    } finally {
      live.kill();
    }
  });
});
