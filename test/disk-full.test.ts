// Nothing lost on a full disk: the tree and rescue-kit's state dir live on a
// small real tmpfs (mounted here, as root), filled to leave N KiB free, and each
// mutating command runs at every size of a sweep. At every size the tree is
// all-old or all-new by sha256, no partial file is ever in place, no temp file
// (which may hold a key) survives, the exit code is the documented one
// (0, or 5 "nothing changed", or 6 "changed then rolled back"), the message
// names the cause, and a failure that changed nothing never blocks the next run.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa, execaSync } from 'execa';
import { fixturesRoot, tempDir } from './helpers/env.js';
import { cli, hostModes, LEAVES, listing, pairMatches, Run, show } from './helpers/renew.js';

const isRoot = process.getuid?.() === 0;
const KIB = 1024;
/** The issue's range (0-160 KiB) every 16 KiB; each command adds a dense sweep just below the size where it first succeeds. */
const BASE_SWEEP = Array.from({ length: 11 }, (_, index) => index * 16);
const TEMP = /(\.rescue-kit|\.tmp)$/;

interface Mount {
  dir: string;
  root: string;
}
const mounts: string[] = [];

/** A fresh 1 MiB tmpfs holding a copy of `template` (a prepared root: tree and state dir) at ROOT. */
async function mountTmpfs(template: string): Promise<Mount> {
  const dir = tempDir('rk-diskfull-');
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=1024k,mode=0755', 'tmpfs', dir]);
  mounts.push(dir);
  const root = join(dir, 'root');
  await execa('cp', ['-a', template, root]);
  return { dir, root };
}

async function unmount(mount: Mount): Promise<void> {
  await execa('umount', [mount.dir], { reject: false });
  mounts.splice(mounts.indexOf(mount.dir), 1);
}

/** The fixture as a host has it (keys 0600), on the normal disk: copied onto each tmpfs. */
function fixtureTemplate(): string {
  const root = join(tempDir('rk-diskfull-template-'), 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  cpSync(join(fixturesRoot, 'kubeadm-1.14-expired', 'etc-kubernetes'), join(root, 'etc', 'kubernetes'), { recursive: true });
  execaSync('chmod', ['-R', 'u+w', root]);
  hostModes(root);
  return root;
}

/**
 * The free sizes to try for one command: the issue's range, then the smallest size (4 KiB steps, by
 * bisection) at which it succeeds, and every 8 KiB of the 160 KiB below that: there the command gets
 * furthest before the disk fills (staging, temps beside the targets, the journal), the riskiest places.
 */
async function sweepFor(succeedsAt: (freeKiB: number) => Promise<boolean>): Promise<number[]> {
  let low = 0;
  let high = 1024;
  expect(await succeedsAt(high), 'the command succeeds with 1 MiB free').to.equal(true);
  while (high - low > 4) {
    const middle = Math.floor((low + high) / 8) * 4;
    if (await succeedsAt(middle)) high = middle;
    else low = middle;
  }
  const dense = Array.from({ length: 21 }, (_, index) => high - 160 + index * 8).filter((size) => size >= 0);
  return [...new Set([...BASE_SWEEP, ...dense, high, high + 64])].sort((a, b) => a - b);
}

/** Leave exactly `freeKiB` free on the tmpfs (a filler file takes the rest). */
async function fillTo(mount: Mount, freeKiB: number): Promise<void> {
  const filler = join(mount.dir, 'filler');
  rmSync(filler, { force: true });
  const stats = statfsSync(mount.dir);
  const bytes = stats.bavail * stats.bsize - freeKiB * KIB;
  if (bytes > 0) await execa('fallocate', ['-l', String(bytes), filler]);
}
const freeSpace = (mount: Mount) => rmSync(join(mount.dir, 'filler'), { force: true });

/** Temp files anywhere on the mount (the tree, the state dir, the backups dir). */
function tempsOn(mount: Mount): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (TEMP.test(entry.name)) found.push(relative(mount.dir, path));
    }
  };
  walk(mount.dir);
  return found;
}

/** Staged bytes (keys among them) kept by runs that changed nothing: there must be none. */
function stagedOfAbortedRuns(root: string): string[] {
  const runs = join(root, 'var/lib/rescue-kit/runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs).filter((id) => {
    const journal = join(runs, id, 'journal.json');
    const phase = existsSync(journal) ? (JSON.parse(readFileSync(journal, 'utf8')) as { phase: string }).phase : 'none';
    return ['aborted', 'planned', 'backed-up', 'staged'].includes(phase) && existsSync(join(runs, id, 'staged'));
  });
}

type Tree = Record<string, string>;

/**
 * 'old' / 'new' for the whole tree, or a description of the mix. `renewed` is either the exact listing
 * expected (a rollback or restore target) or, for a renewal that makes new keys (other bytes every run),
 * a listing whose changed paths say which files a renewal rewrites: then "new" means every one of those
 * differs from the old bytes, every other path is untouched, and each leaf's cert matches its key.
 */
function stateOf(root: string, old: Tree, renewed: Tree, exact = true): 'old' | 'new' | string {
  const now = listing(root);
  if (JSON.stringify(now) === JSON.stringify(old)) return 'old';
  const paths = [...new Set([...Object.keys(now), ...Object.keys(old), ...Object.keys(renewed)])];
  const rewritten = (path: string) => renewed[path] !== old[path];
  const isNew = (path: string) => (exact ? now[path] === renewed[path] : rewritten(path) ? now[path] !== old[path] && now[path]?.split(' ')[1] === renewed[path]?.split(' ')[1] : now[path] === old[path]);
  const wrong = paths.filter((path) => !isNew(path));
  if (!wrong.length) {
    for (const leaf of LEAVES) {
      if (!pairMatches(readFileSync(join(root, leaf.crt)), readFileSync(join(root, leaf.key)))) return `new but ${leaf.name} key does not match`;
    }
    return 'new';
  }
  const stillOld = paths.filter((path) => rewritten(path) && now[path] === old[path]).length;
  return `mixed: ${stillOld} old, ${wrong.length} not new (${wrong.slice(0, 4).map((path) => `${path}=${now[path] ?? 'absent'}`).join(', ')})`;
}

function expectHonest(run: Run, label: string): void {
  expect([0, 5, 6], `${label}: exit code\n${show(run)}`).to.include(run.exitCode);
  expect(run.signal, label).to.equal(undefined);
  expect(run.stderr, `${label}: no crash`).to.not.match(/internal error|at .*\.js:\d+/);
  if (run.exitCode === 5) {
    expect(run.stderr, `${label}: says why`).to.match(/no space left on the device/);
    expect(run.stderr, `${label}: says what happened`).to.match(/nothing was changed/);
    expect(run.stderr, `${label}: says how much`).to.match(/KiB/);
  }
}

const renewArgs = (root: string, newKey = false) => ['renew', '--all', ...(newKey ? ['--new-key'] : []), '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root];

/** Mount a copy of `template`, leave `free` KiB, run `args(root)`; the mount stays for the caller's checks. */
async function runAt(template: string, free: number, args: (root: string) => string[]): Promise<{ mount: Mount; run: Run }> {
  const mount = await mountTmpfs(template);
  await fillTo(mount, free);
  return { mount, run: await cli(args(mount.root)) };
}

async function succeeds(template: string, free: number, args: (root: string) => string[]): Promise<boolean> {
  const { mount, run } = await runAt(template, free, args);
  await unmount(mount);
  return run.exitCode === 0;
}

(isRoot ? describe : describe.skip)('a full disk (real tmpfs as root, free space swept): all old or all new, nothing partial, no temps', function () {
  this.timeout(600_000);
  let fresh: string;
  let renewedTemplate: string;
  let old: Tree;
  let renewed: Tree;
  /** What `renew --all` (keys kept) rewrites: the paths whose bytes it changes. */
  let renewedKeepingKeys: Tree;
  let archive: string;
  const outcomes: Record<string, string[]> = {};

  before(async () => {
    // Prepared once on the normal disk, copied onto a new tmpfs for every size: the fixture as it is, a
    // backup of it (kept off the full disk), and the tree after `renew --all --new-key` with its journal.
    fresh = fixtureTemplate();
    old = listing(fresh);
    archive = join(tempDir('rk-diskfull-archive-'), 'before.tar.gz');
    const backup = await cli(['backup', '--no-etcd', '--root', fresh, '--out', archive]);
    expect(backup.exitCode, show(backup)).to.equal(0);
    renewedTemplate = fixtureTemplate();
    const renew = await cli(renewArgs(renewedTemplate, true));
    expect(renew.exitCode, show(renew)).to.equal(0);
    renewed = listing(renewedTemplate);
    const reference = fixtureTemplate();
    const renewKeepingKeys = await cli(renewArgs(reference));
    expect(renewKeepingKeys.exitCode, show(renewKeepingKeys)).to.equal(0);
    renewedKeepingKeys = listing(reference);
  });
  after(async () => {
    for (const dir of [...mounts]) await execa('umount', [dir], { reject: false });
    for (const [name, list] of Object.entries(outcomes)) console.log(`      ${name} (free KiB:exit/state): ${list.join(' ')}`);
  });

  it('renew --all: exit 0 and all new, or exit 5 and all old, no temps or staged keys left, and the next run is not blocked', async () => {
    const seen: string[] = (outcomes['renew'] = []);
    for (const free of await sweepFor((size) => succeeds(fresh, size, (root) => renewArgs(root)))) {
      const { mount, run } = await runAt(fresh, free, (root) => renewArgs(root));
      const label = `renew at ${free} KiB free`;
      expectHonest(run, label);
      const state = stateOf(mount.root, old, renewedKeepingKeys, false);
      seen.push(`${free}:${run.exitCode}/${state.slice(0, 3)}`);
      expect(state, `${label}\n${show(run)}`).to.equal(run.exitCode === 0 ? 'new' : 'old');
      expect(tempsOn(mount), label).to.deep.equal([]);
      expect(stagedOfAbortedRuns(mount.root), `${label}: staged keys of a run that changed nothing`).to.deep.equal([]);
      if (run.exitCode !== 0) {
        // Nothing was changed, so nothing blocks the next run: with space back, the same command succeeds.
        freeSpace(mount);
        const again = await cli(renewArgs(mount.root));
        expect(again.exitCode, `${label}, then again with space:\n${show(again)}`).to.equal(0);
        expect(stateOf(mount.root, old, renewedKeepingKeys, false)).to.equal('new');
      }
      await unmount(mount);
    }
    expect(seen.some((entry) => entry.includes(':5/')), 'the sweep reaches sizes where renew fails').to.equal(true);
  });

  it('rollback after renew --new-key: exit 0 and all old, or exit 5 and all new (never emptied files), and it works once space is freed', async () => {
    const seen: string[] = (outcomes['rollback'] = []);
    const rollback = (root: string) => ['rollback', '--yes', '--root', root];
    for (const free of await sweepFor((size) => succeeds(renewedTemplate, size, rollback))) {
      const { mount, run } = await runAt(renewedTemplate, free, rollback);
      const label = `rollback at ${free} KiB free`;
      expectHonest(run, label);
      const state = stateOf(mount.root, old, renewed);
      seen.push(`${free}:${run.exitCode}/${state.slice(0, 3)}`);
      expect(state, `${label}\n${show(run)}`).to.equal(run.exitCode === 0 ? 'old' : 'new');
      if (run.exitCode === 5) expect(run.stderr, label).to.match(/needs about \d+ KiB|\d+ KiB free/);
      expect(tempsOn(mount), label).to.deep.equal([]);
      if (run.exitCode !== 0) {
        freeSpace(mount);
        const again = await cli(rollback(mount.root));
        expect(again.exitCode, `${label}, then again with space:\n${show(again)}`).to.equal(0);
        expect(stateOf(mount.root, old, renewed)).to.equal('old');
      }
      await unmount(mount);
    }
    expect(seen.some((entry) => entry.includes(':5/')), 'the sweep reaches sizes where rollback refuses').to.equal(true);
  });

  it('restore onto a nearly full disk: exit 0 and the backup state, or exit 5 and the state before, never a partial file', async () => {
    const seen: string[] = (outcomes['restore'] = []);
    const restore = (root: string) => ['restore', archive, '--yes', '--root', root];
    for (const free of await sweepFor((size) => succeeds(renewedTemplate, size, restore))) {
      const { mount, run } = await runAt(renewedTemplate, free, restore);
      const label = `restore at ${free} KiB free`;
      expectHonest(run, label);
      const state = stateOf(mount.root, old, renewed);
      seen.push(`${free}:${run.exitCode}/${state.slice(0, 3)}`);
      expect(state, `${label}\n${show(run)}`).to.equal(run.exitCode === 0 ? 'old' : 'new');
      expect(tempsOn(mount), label).to.deep.equal([]);
      await unmount(mount);
    }
    expect(seen.some((entry) => entry.includes(':5/')), 'the sweep reaches sizes where restore refuses').to.equal(true);
  });

  it('backup: exit 0 with a verifiable archive, or exit 5 with no partial archive left (and none from a killed one either)', async () => {
    const seen: string[] = (outcomes['backup'] = []);
    const backup = (root: string) => ['backup', '--no-etcd', '--root', root];
    // A partial archive a killed backup left (its pid is long gone): swept by the next backup.
    const template = fixtureTemplate();
    const backups = join(template, 'var/lib/rescue-kit/backups');
    mkdirSync(backups, { recursive: true });
    writeFileSync(join(backups, '.node-1-20200101T000000Z.tar.gz.4194300.tmp'), 'partial archive with keys', { mode: 0o600 });
    for (const free of await sweepFor((size) => succeeds(template, size, backup))) {
      const { mount, run } = await runAt(template, free, backup);
      const label = `backup at ${free} KiB free`;
      expectHonest(run, label);
      seen.push(`${free}:${run.exitCode}`);
      expect(tempsOn(mount), label).to.deep.equal([]);
      expect(listing(mount.root), `${label}: the tree is untouched`).to.deep.equal(old);
      const written = readdirSync(join(mount.root, 'var/lib/rescue-kit/backups'));
      if (run.exitCode === 0) {
        expect(written, label).to.have.length(1);
        const verify = await cli(['backup', 'verify', join(mount.root, 'var/lib/rescue-kit/backups', written[0]!)]);
        expect(verify.exitCode, show(verify)).to.equal(0);
      } else expect(written, `${label}: no archive`).to.deep.equal([]);
      await unmount(mount);
    }
    expect(seen.some((entry) => entry.endsWith(':5')), 'the sweep reaches sizes where backup fails').to.equal(true);
  });
});
