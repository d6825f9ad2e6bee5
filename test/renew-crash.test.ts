// Crash safety of `renew`: the process is SIGKILLed at each named failpoint
// (RESCUE_KIT_FAILPOINT) and at random moments. The next renew must refuse;
// then EITHER `rollback` puts back every old byte, OR `renew --resume` finishes
// the run — never a mix of old and new certificates, never a lost key.
import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseCertificate } from '../lib/pki/certificate.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { cliPath, fixtureRoot, FIXTURES, tempDir } from './helpers/env.js';
import { cli, DAY_MS, EMBEDDED_KUBECONFIGS, hostModes, kubectlCredentials, LEAVES, listing, opensslVerifies, pairMatches, show, writeFakes } from './helpers/renew.js';

type Fixture = (typeof FIXTURES)[number];
const VALIDITY_MS = 200 * DAY_MS;
const renewArgs = (root: string, newKey: boolean, restart = 'none') => ['renew', '--all', '--restart', restart, '--yes', '--no-etcd-backup', '--validity', '200d', ...(newKey ? ['--new-key'] : []), '--root', root];

interface Original {
  files: Map<string, Buffer>;
  listing: Record<string, string>;
}

const RENEWED = [...LEAVES.map((leaf) => leaf.crt), ...EMBEDDED_KUBECONFIGS.map((name) => `etc/kubernetes/${name}`)];

function remember(root: string): Original {
  const files = new Map<string, Buffer>();
  for (const leaf of LEAVES) for (const path of [leaf.crt, leaf.key]) files.set(path, readFileSync(join(root, path)));
  for (const name of EMBEDDED_KUBECONFIGS) files.set(`etc/kubernetes/${name}`, readFileSync(join(root, 'etc/kubernetes', name)));
  return { files, listing: listing(root) };
}

interface JournalView {
  runId: string;
  phase: string;
  steps: unknown[];
}

function journals(root: string): JournalView[] {
  const dir = join(root, 'var/lib/rescue-kit/runs');
  let ids: string[] = [];
  try {
    ids = readdirSync(dir);
  } catch {
    return [];
  }
  return ids.flatMap((id) => {
    try {
      return [JSON.parse(readFileSync(join(dir, id, 'journal.json'), 'utf8')) as JournalView];
    } catch {
      return [];
    }
  });
}

/** Right after a crash: every key is there and parses (a half-written key would not). */
function expectNoLostKey(root: string): void {
  for (const leaf of LEAVES) {
    const key = readFileSync(join(root, leaf.key));
    expect(() => parsePrivateKey(key), `${leaf.key} parses`).to.not.throw();
  }
  for (const name of EMBEDDED_KUBECONFIGS) {
    const text = readFileSync(join(root, 'etc/kubernetes', name), 'utf8');
    const keyData = /client-key-data: (\S+)/.exec(text)?.[1];
    expect(keyData, `${name} has its key`).to.be.a('string');
    expect(() => parsePrivateKey(Buffer.from(keyData!, 'base64')), `${name} key parses`).to.not.throw();
  }
}

type State = 'old' | 'new';

/**
 * Each renewed item is EITHER the exact old bytes OR a valid new cert (200 days from the
 * run, verifying against its CA, key present and matching) — and all items agree.
 */
async function expectConsistent(root: string, original: Original, expected: State, newKey: boolean, window: [number, number]): Promise<void> {
  const states: Record<string, State> = {};
  const scratch = tempDir('rk-crash-check-');
  const isNew = (notAfter: Date) => notAfter.getTime() >= window[0] + VALIDITY_MS - 2_000 && notAfter.getTime() <= window[1] + VALIDITY_MS + 1_000;
  for (const leaf of LEAVES) {
    const crt = readFileSync(join(root, leaf.crt));
    const key = readFileSync(join(root, leaf.key));
    expect(pairMatches(crt, key), `${leaf.name}: key present and matching its cert`).to.equal(true);
    if (crt.equals(original.files.get(leaf.crt)!)) {
      expect(key.equals(original.files.get(leaf.key)!), `${leaf.name}: old cert with its old key`).to.equal(true);
      states[leaf.name] = 'old';
      continue;
    }
    const certificate = parseCertificate(crt);
    expect(isNew(certificate.notAfter), `${leaf.name}: neither the old bytes nor a renewed cert (notAfter ${certificate.notAfter.toISOString()})`).to.equal(true);
    const [ok, output] = await opensslVerifies(join(root, leaf.ca), join(root, leaf.crt));
    expect(ok, `${leaf.name}: ${output}`).to.equal(true);
    expect(key.equals(original.files.get(leaf.key)!), `${leaf.name}: key ${newKey ? 'replaced' : 'kept'}`).to.equal(!newKey);
    states[leaf.name] = 'new';
  }
  for (const name of EMBEDDED_KUBECONFIGS) {
    const path = `etc/kubernetes/${name}`;
    const text = readFileSync(join(root, path));
    if (text.equals(original.files.get(path)!)) {
      states[name] = 'old';
      continue;
    }
    const credentials = await kubectlCredentials(join(root, path));
    expect(pairMatches(credentials.certPem, credentials.keyPem), `${name}: embedded key matches embedded cert`).to.equal(true);
    const certificate = parseCertificate(credentials.certPem);
    expect(isNew(certificate.notAfter), `${name}: neither old nor renewed`).to.equal(true);
    writeFileSync(join(scratch, `${name}.crt`), credentials.certPem);
    const [ok, output] = await opensslVerifies(join(root, 'etc/kubernetes/pki/ca.crt'), join(scratch, `${name}.crt`));
    expect(ok, `${name}: ${output}`).to.equal(true);
    states[name] = 'new';
  }
  expect(states, 'all old or all new, never a mix').to.deep.equal(Object.fromEntries(Object.keys(states).map((name) => [name, expected])));
  const now = listing(root);
  if (expected === 'old') {
    expect(now).to.deep.equal(original.listing);
  } else {
    // Same set of paths (no stray temp files, nothing lost); everything not renewed untouched.
    expect(Object.keys(now).sort()).to.deep.equal(Object.keys(original.listing).sort());
    const keys = new Set(newKey ? LEAVES.map((leaf) => leaf.key) : []);
    for (const [path, entry] of Object.entries(original.listing)) if (!RENEWED.includes(path) && !keys.has(path)) expect(now[path], path).to.equal(entry);
  }
  // Nothing is left interrupted.
  for (const journal of journals(root)) expect(['done', 'rolled-back', 'aborted'], `run ${journal.runId}`).to.include(journal.phase);
}

interface Case {
  fixture: Fixture;
  newKey: boolean;
  /** A failpoint name, or "last" for commit:<index of the last step>. */
  point: string;
  branch: 'rollback' | 'resume';
  /** Restart with the fake systemctl (the "restarted:" failpoints are only reached when restarting). */
  systemd?: boolean;
}

const POINTS = ['backed-up', 'staged', 'commit:0', 'commit:3', 'last', 'committed'];
const CASES: Case[] = [
  ...POINTS.flatMap((point) => (['rollback', 'resume'] as const).map((branch) => ({ fixture: 'kubeadm-1.14-expired' as Fixture, newKey: false, point, branch }))),
  // With new keys, commit:0 writes apiserver.crt but not yet apiserver.key: a cert without its key on disk.
  ...(['rollback', 'resume'] as const).map((branch) => ({ fixture: 'kubeadm-1.11-expired' as Fixture, newKey: true, point: 'commit:0', branch })),
  ...(['rollback', 'resume'] as const).map((branch) => ({ fixture: 'kubeadm-1.11-expired' as Fixture, newKey: true, point: 'commit:9', branch })),
  // Killed right after `systemctl restart etcd` (fake), before its health check.
  ...(['rollback', 'resume'] as const).map((branch) => ({ fixture: 'kubeadm-1.14-expired' as Fixture, newKey: false, point: 'restarted:etcd', branch, systemd: true })),
];

describe('renew killed (SIGKILL) at each failpoint: refuse, then rollback (all old) or --resume (all new)', function () {
  this.timeout(120_000);
  const steps = new Map<string, number>();

  before(async () => {
    for (const [fixture, newKey] of [['kubeadm-1.14-expired', false], ['kubeadm-1.11-expired', true]] as const) {
      const run = await cli(['renew', '--all', '--dry-run', '--json', ...(newKey ? ['--new-key'] : []), '--root', fixtureRoot(fixture)]);
      expect(run.exitCode, show(run)).to.equal(0);
      steps.set(`${fixture}/${newKey}`, (JSON.parse(run.stdout) as { changes: unknown[] }).changes.length);
    }
    expect(steps.get('kubeadm-1.14-expired/false')).to.equal(11);
    expect(steps.get('kubeadm-1.11-expired/true')).to.equal(18);
  });

  for (const testCase of CASES) {
    const { fixture, newKey, point, branch, systemd } = testCase;
    // No --restart: a rollback restarts what the run restarted the way the run did (systemd here, from the journal).
    const rollbackArgs = systemd ? ['rollback', '--yes', '--timeout', '5s'] : ['rollback', '--yes'];
    // The resume does not restart (the fake systemctl has no apiserver behind it to health-check).
    const resumeArgs = ['renew', '--resume', '--yes', '--restart', 'none'];
    it(`${fixture}${newKey ? ' --new-key' : ''}${systemd ? ' --restart systemd (fake)' : ''}: killed at ${point === 'last' ? 'commit:<last>' : point}, then ${[...(branch === 'rollback' ? rollbackArgs : resumeArgs)].join(' ')}`, async () => {
      const total = steps.get(`${fixture}/${newKey}`)!;
      const failpoint = point === 'last' ? `commit:${total - 1}` : point;
      const root = fixtureRoot(fixture);
      hostModes(root);
      const original = remember(root);
      const fakes = writeFakes(root);
      const env = systemd ? fakes.env : {};
      const started = Date.now();

      const args = systemd ? [...renewArgs(root, newKey, 'systemd'), '--timeout', '5s'] : renewArgs(root, newKey);
      const crash = await cli(args, { ...env, RESCUE_KIT_FAILPOINT: failpoint });
      expect(crash.signal, show(crash)).to.equal('SIGKILL');
      expect(crash.exitCode).to.not.equal(0);
      const [journal] = journals(root);
      expect(journal, 'a journal was written').to.not.equal(undefined);
      const commitIndex = /^commit:(\d+)$/.exec(failpoint)?.[1];
      const expectedPhase = commitIndex !== undefined ? 'committing' : failpoint.startsWith('restarted:') ? 'restarting' : failpoint;
      expect(journal!.phase).to.equal(expectedPhase);
      // What the crash left: exactly the steps up to the failpoint are in the tree (the tree is a mix
      // here, as the journal's phase says), and no key is lost or half-written. The steps not renamed
      // yet are complete temps beside their targets (prepared before the first rename), nothing else.
      const written = commitIndex !== undefined ? Number(commitIndex) + 1 : ['backed-up', 'staged'].includes(failpoint) ? 0 : total;
      const temp = /\/\.[^/]+\.[0-9a-f]{12}\.rescue-kit$/;
      const crashedListing = listing(root);
      const changed = Object.entries(crashedListing).filter(([path, entry]) => !temp.test(path) && original.listing[path] !== entry).length;
      expect(changed, 'files changed by the killed run').to.equal(written);
      const temps = Object.keys(crashedListing).filter((path) => temp.test(path));
      expect(temps.length, `temps left: ${temps.join(', ')}`).to.equal(commitIndex !== undefined ? total - written : 0);
      expectNoLostKey(root);

      const crashed = listing(root);
      if (['backed-up', 'staged'].includes(failpoint)) {
        // Killed before the first change: nothing to undo, so the next run is not blocked; taking the
        // lock closes the dead run ("aborted") and removes its staged keys.
        const next = await cli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--dry-run', '--root', root]);
        expect(next.exitCode, show(next)).to.equal(0);
        const after = branch === 'rollback' ? await cli([...rollbackArgs, '--root', root], env) : await cli([...resumeArgs, '--root', root]);
        expect(after.exitCode, show(after)).to.equal(0);
        expect(after.stderr).to.match(branch === 'rollback' ? /stopped before changing anything: there is nothing to roll back/ : /nothing to finish/);
        expect(journals(root)[0]!.phase).to.equal('aborted');
        expect(readdirSync(join(root, 'var/lib/rescue-kit/runs', journal!.runId)), 'no staged key material kept').to.deep.equal(['journal.json']);
        await expectConsistent(root, original, 'old', newKey, [started, Date.now()]);
        return;
      }
      const refused = await cli(renewArgs(root, false));
      expect(refused.exitCode, show(refused)).to.equal(3);
      expect(refused.stderr).to.match(/interrupted/);
      expect(refused.stderr).to.include(journal!.runId);
      expect(listing(root), 'the refused run changed nothing').to.deep.equal(crashed);

      if (branch === 'rollback') {
        const rollback = await cli([...rollbackArgs, '--root', root], env);
        expect(rollback.exitCode, show(rollback)).to.equal(0);
        await expectConsistent(root, original, 'old', newKey, [started, Date.now()]);
        // What the killed run had restarted is restarted again with the old certs.
        if (systemd) expect(fakes.restarts()).to.deep.equal(['etcd', 'etcd']);
      } else {
        const resume = await cli([...resumeArgs, '--root', root], env);
        expect(resume.exitCode, show(resume)).to.equal(0);
        expect(resume.stderr).to.include(`finished writing run ${journal!.runId}`);
        await expectConsistent(root, original, 'new', newKey, [started, Date.now()]);
        if (systemd) expect(fakes.restarts()).to.deep.equal(['etcd']);
      }
    });
  }
});

const PHASES = ['planned', 'backed-up', 'staged', 'committing', 'committed', 'restarting', 'done'];

describe('renew killed by a real SIGKILL at a random moment, then rollback: identical to the original', function () {
  this.timeout(120_000);

  it('6 kills spread over the run (the phase each one hit is in the title); each rollback restores every byte, and renew works again', async function () {
    const seen: string[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const root = fixtureRoot('kubeadm-1.14-expired');
      hostModes(root);
      const original = listing(root);
      const child = execa('node', [cliPath, ...renewArgs(root, false)], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' }, timeout: 60_000 });
      // Node's start-up time varies with load, so a fixed delay mostly hits start-up. Attempt 0 is a
      // blind early kill; the others wait until the run's journal reaches a phase (or a later one),
      // then a random 0-25 ms more: kills land in the backup, staging, and commits.
      const spawned = Date.now();
      const target = [undefined, 'planned', 'backed-up', 'staged', 'committing', 'committing'][attempt];
      let delay = Math.floor(Math.random() * 25);
      if (target === undefined) {
        delay += 60;
      } else {
        const reached = () => journals(root).some((entry) => PHASES.indexOf(entry.phase) >= PHASES.indexOf(target));
        while (!reached() && child.exitCode === null && Date.now() - spawned < 30_000) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      const result = await child;
      const [journal] = journals(root);
      const written = Object.entries(listing(root)).filter(([path, entry]) => original[path] !== entry).length;
      const phase = journal ? `${journal.phase}${journal.phase === 'committing' ? `, ${written} files written` : ''}` : 'no journal';
      seen.push(`${target ?? 'spawn'}+${delay}ms: ${result.signal ?? `exit ${result.exitCode}`} (${phase})`);

      const rollback = await cli(['rollback', '--yes', '--root', root]);
      if (journal === undefined || ['planned', 'backed-up', 'staged'].includes(journal.phase)) {
        // Killed before the first change: nothing was changed and there is nothing to roll back.
        expect(rollback.stderr, show(rollback)).to.match(/no run to roll back|nothing to roll back/);
      } else expect(rollback.exitCode, show(rollback)).to.equal(0);
      expect(listing(root), `attempt ${attempt} (${seen[attempt]})`).to.deep.equal(original);
      const again = await cli(renewArgs(root, false));
      expect(again.exitCode, `renew after the rollback: ${show(again)}`).to.equal(0);
    }
    this.test!.title += ` [${seen.join('; ')}]`;
  });
});

describe('a kill between writing a temp file and renaming it into place', function () {
  this.timeout(60_000);

  /**
   * commitSteps() prepares `.<name>.<12 hex>.rescue-kit` beside every target, fsynced, then renames
   * them in order: a SIGKILL in between leaves the temps not renamed yet. To make that state
   * deterministic, kill at commit:7 (admin.conf written), then plant one more temp for step 8
   * (controller-manager.conf) such as an older crash could have left: its staged bytes, 0600.
   */
  async function killedMidRename(): Promise<{ root: string; original: Record<string, string>; temp: string }> {
    const root = fixtureRoot('kubeadm-1.14-expired');
    hostModes(root);
    const original = listing(root);
    const crash = await cli(renewArgs(root, false), { RESCUE_KIT_FAILPOINT: 'commit:7' });
    expect(crash.signal, show(crash)).to.equal('SIGKILL');
    const [journal] = journals(root) as (JournalView & { steps: { hostPath: string; staged?: string }[] })[];
    const step = journal!.steps[8]!;
    expect(step.hostPath).to.equal('/etc/kubernetes/controller-manager.conf');
    expect(readFileSync(join(root, 'etc/kubernetes/controller-manager.conf')).equals(readFileSync(join(root, 'var/lib/rescue-kit/runs', journal!.runId, 'staged', step.staged!))), 'step 8 not written yet').to.equal(false);
    const staged = readFileSync(join(root, 'var/lib/rescue-kit/runs', journal!.runId, 'staged', step.staged!));
    const temp = join(root, 'etc/kubernetes', `.controller-manager.conf.${'a1b2c3d4e5f6'}.rescue-kit`);
    writeFileSync(temp, staged, { mode: 0o600 });
    return { root, original, temp };
  }

  it('rollback --yes removes the stray temp file: the tree is exactly the original', async () => {
    const { root, original } = await killedMidRename();
    const rollback = await cli(['rollback', '--yes', '--root', root]);
    expect(rollback.exitCode, show(rollback)).to.equal(0);
    expect(listing(root)).to.deep.equal(original);
  });

  // resumeRun() and rollbackRun() both sweep the temps a killed commit left (removeStaleTemps).
  it('renew --resume removes a stray temp file (it may hold a private key) left by an interrupted commit', async () => {
    const { root, original, temp } = await killedMidRename();
    const resume = await cli(['renew', '--resume', '--yes', '--root', root]);
    expect(resume.exitCode, show(resume)).to.equal(0);
    expect(Object.keys(listing(root)).sort(), `stray: ${temp}`).to.deep.equal(Object.keys(original).sort());
  });
});
