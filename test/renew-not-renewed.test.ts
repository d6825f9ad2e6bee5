// Nothing silently skipped (issue 11): on copies of the real expired trees with
// one thing broken at a time, `renew` says what is wrong with each certificate
// it cannot renew, and `renew --all` renews the rest, lists the others with the
// reason, and exits 3 (NOT_ALL_RENEWED) instead of 0.
import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { CheckReport } from '../lib/ops/inventory/check.js';
import { fixtureRoot } from './helpers/env.js';
import { cli, fullListing, namelessKubeletTree, show } from './helpers/renew.js';

const conf = (root: string, name: string) => join(root, 'etc/kubernetes', name);

describe('renew names what is wrong instead of calling it missing', function () {
  this.timeout(60_000);

  it('renew admin.conf when admin.conf has no users section: an error about the file, never "missing on this host"', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const admin = readFileSync(conf(root, 'admin.conf'), 'utf8');
    writeFileSync(conf(root, 'admin.conf'), admin.slice(0, admin.indexOf('users:')));
    const run = await cli(['renew', 'admin.conf', '--dry-run', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(4);
    expect(run.stderr).to.include('/etc/kubernetes/admin.conf: admin.conf: has no user with a client certificate');
    expect(run.stderr).to.not.match(/missing/);
  });
});

describe('renew without --new-key says what is wrong with the private key', function () {
  this.timeout(60_000);
  const keyFile = (root: string) => join(root, 'etc/kubernetes/pki/apiserver.key');
  const damage: Record<string, { reason: RegExp; make: (root: string) => Promise<void> }> = {
    empty: { reason: /the file is empty/, make: async (root) => writeFileSync(keyFile(root), '') },
    truncated: { reason: /damaged or truncated/, make: async (root) => writeFileSync(keyFile(root), readFileSync(keyFile(root)).subarray(0, 600)) },
    encrypted: {
      reason: /the private key is encrypted/,
      make: async (root) => {
        const { stdout } = await execa('openssl', ['pkey', '-in', keyFile(root), '-aes256', '-passout', 'pass:secret']);
        writeFileSync(keyFile(root), `${stdout}\n`);
        expect(readFileSync(keyFile(root), 'utf8')).to.include('BEGIN ENCRYPTED PRIVATE KEY');
      },
    },
  };

  for (const [kind, { reason, make }] of Object.entries(damage)) {
    it(`apiserver.key ${kind}: exit 4 naming the key file and why, with the hint to restore it or use --new-key; nothing written`, async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      await make(root);
      const before = fullListing(root);
      const run = await cli(['renew', 'apiserver', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root]);
      expect(run.exitCode, show(run)).to.equal(4);
      expect(run.stderr).to.include('error: /etc/kubernetes/pki/apiserver.key: apiserver: its private key cannot be used:');
      expect(run.stderr).to.match(reason);
      expect(run.stderr).to.match(/hint: restore the key from a backup \(rescue-kit restore\), or renew with --new-key/);
      expect(run.stderr).to.not.include('is missing');
      expect(fullListing(root)).to.deep.equal(before);
    });
  }

  it('a missing apiserver.key: "missing" with its path; and the hint works: --new-key plans a new key at that path', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    rmSync(keyFile(root));
    const reuse = await cli(['renew', 'apiserver', '--dry-run', '--root', root]);
    expect(reuse.exitCode, show(reuse)).to.equal(3);
    expect(reuse.stderr).to.include('error: /etc/kubernetes/pki/apiserver.key: apiserver: its private key is missing');
    expect(reuse.stderr).to.include('--new-key');
    const fresh = await cli(['renew', 'apiserver', '--new-key', '--dry-run', '--json', '--root', root]);
    expect(fresh.exitCode, show(fresh)).to.equal(0);
    const plan = JSON.parse(fresh.stdout) as { items: { name: string; keyAction: string }[]; changes: { hostPath: string; holdsPrivateKey: boolean; mode: number }[] };
    expect(plan.items.map((item) => [item.name, item.keyAction])).to.deep.equal([['apiserver', 'new']]);
    expect(plan.changes.map((change) => [change.hostPath, change.holdsPrivateKey, change.mode])).to.deep.equal([
      ['/etc/kubernetes/pki/apiserver.crt', false, 0o644],
      ['/etc/kubernetes/pki/apiserver.key', true, 0o600],
    ]);
  });
});

interface PlanJson {
  items: { name: string }[];
  notRenewed: { name: string; file: string | null; reason: string; hint: string | null }[];
  changes: { hostPath: string }[];
}

/**
 * A copy of the 1.14 tree with one problem of each kind: a cert that is a directory, a truncated key, a CA key
 * that is not on the host, a missing key, a missing kubeconfig. What renew --all must list, in catalogue order.
 */
function brokenTree(): string {
  const root = fixtureRoot('kubeadm-1.14-expired');
  const pki = (name: string) => join(root, 'etc/kubernetes/pki', name);
  rmSync(pki('apiserver.crt'));
  mkdirSync(pki('apiserver.crt'));
  writeFileSync(pki('apiserver-kubelet-client.key'), readFileSync(pki('apiserver-kubelet-client.key')).subarray(0, 600));
  rmSync(pki('front-proxy-ca.key'));
  rmSync(pki('etcd/peer.key'));
  rmSync(conf(root, 'scheduler.conf'));
  return root;
}

const EXPECTED_NOT_RENEWED = [
  { name: 'apiserver', file: '/etc/kubernetes/pki/apiserver.crt', reason: /^is a directory$/, hint: /restore the file/ },
  { name: 'apiserver-kubelet-client', file: '/etc/kubernetes/pki/apiserver-kubelet-client.key', reason: /^its private key cannot be used: .*damaged or truncated$/, hint: /--new-key/ },
  { name: 'front-proxy-client', file: '/etc/kubernetes/pki/front-proxy-ca.key', reason: /^the front-proxy-ca CA key is not on this host/, hint: /rescue-kit sign/ },
  { name: 'etcd-peer', file: '/etc/kubernetes/pki/etcd/peer.key', reason: /^its private key is missing$/, hint: /--new-key/ },
  { name: 'scheduler.conf', file: null, reason: /^scheduler\.conf is missing on this host/, hint: /restore/ },
];
const RENEWABLE = ['etcd-server', 'etcd-healthcheck-client', 'apiserver-etcd-client', 'admin.conf', 'controller-manager.conf', 'kubelet.conf'];

function expectNamesEach(stderr: string) {
  expect(stderr).to.include('error: 5 certificates NOT renewed: apiserver (/etc/kubernetes/pki/apiserver.crt: is a directory); apiserver-kubelet-client (');
  for (const { name } of EXPECTED_NOT_RENEWED) expect(stderr).to.match(new RegExp(`[:;] ${name.replace('.', '\\.')} \\(`));
  expect(stderr).to.include('hint: fix each as its hint in the plan says, then renew those: rescue-kit renew apiserver apiserver-kubelet-client front-proxy-client etcd-peer scheduler.conf');
}

describe('renew --all renews what it can and lists, with why, every certificate it cannot (exit 3, NOT_ALL_RENEWED)', function () {
  this.timeout(60_000);

  it('--dry-run --json: notRenewed [{name, file, reason, hint}] for exactly the broken ones (no non-expected extras such as super-admin.conf), the plan for the rest, exit 3, nothing written', async () => {
    const root = brokenTree();
    const before = fullListing(root);
    const run = await cli(['renew', '--all', '--dry-run', '--json', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(3);
    const plan = JSON.parse(run.stdout) as PlanJson;
    expect(plan.notRenewed.map((entry) => entry.name)).to.deep.equal(EXPECTED_NOT_RENEWED.map((entry) => entry.name));
    EXPECTED_NOT_RENEWED.forEach((expected, index) => {
      const entry = plan.notRenewed[index]!;
      expect(entry).to.have.all.keys('name', 'file', 'reason', 'hint');
      expect(entry.file, expected.name).to.equal(expected.file);
      expect(entry.reason, expected.name).to.match(expected.reason);
      expect(entry.hint, expected.name).to.match(expected.hint);
    });
    expect(plan.items.map((item) => item.name)).to.deep.equal(RENEWABLE);
    expect(plan.changes.map((change) => change.hostPath)).to.not.include.members(['/etc/kubernetes/pki/apiserver.crt', '/etc/kubernetes/pki/etcd/peer.crt']);
    expectNamesEach(run.stderr);
    expect(fullListing(root)).to.deep.equal(before);
  });

  it('--dry-run (text): the plan on stdout ends with the NOT renewed list (name, file, reason, hint), exit 3', async () => {
    const root = brokenTree();
    const run = await cli(['renew', '--all', '--dry-run', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(3);
    expect(run.stdout).to.include('NOT renewed (5): the run ends with exit 3 until these are fixed');
    expect(run.stdout).to.include('  apiserver: /etc/kubernetes/pki/apiserver.crt: is a directory\n    hint: restore the file from a backup (rescue-kit restore)');
    expect(run.stdout).to.include('  etcd-peer: /etc/kubernetes/pki/etcd/peer.key: its private key is missing\n    hint: restore the key from a backup (rescue-kit restore), or renew with --new-key');
    expect(run.stdout).to.include('  front-proxy-client: /etc/kubernetes/pki/front-proxy-ca.key: the front-proxy-ca CA key is not on this host (externally managed CA)');
    expect(run.stdout).to.include('  scheduler.conf: scheduler.conf is missing on this host');
    expect(run.stdout).to.include('write  /etc/kubernetes/pki/etcd/server.crt');
    expectNamesEach(run.stderr); // the error line names each one too
  });

  it('the real run renews every other certificate (check: OK), leaves the broken ones byte for byte, and exits 3 naming each', async () => {
    const root = brokenTree();
    const untouched = ['etc/kubernetes/pki/etcd/peer.crt', 'etc/kubernetes/pki/front-proxy-client.crt', 'etc/kubernetes/pki/apiserver-kubelet-client.crt'];
    const before = untouched.map((path) => readFileSync(join(root, path)));
    const run = await cli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--json', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(3);
    const report = JSON.parse(run.stdout) as { ok: boolean; plan: PlanJson };
    expect(report.ok).to.equal(true);
    expect(report.plan.notRenewed.map((entry) => entry.name)).to.deep.equal(EXPECTED_NOT_RENEWED.map((entry) => entry.name));
    expect(run.stderr).to.include('renewed 6; NOT renewed: apiserver, apiserver-kubelet-client, front-proxy-client, etcd-peer, scheduler.conf');
    expect(run.stderr).to.not.include('the control plane certificates are renewed');
    expectNamesEach(run.stderr);
    untouched.forEach((path, index) => expect(readFileSync(join(root, path)).equals(before[index]!), path).to.equal(true));
    const check = await cli(['check', '--root', root, '--json']);
    const statuses = Object.fromEntries((JSON.parse(check.stdout) as CheckReport).certificates.map((entry) => [entry.name, entry.status]));
    for (const name of RENEWABLE) expect(statuses[name], name).to.equal('OK');
    for (const { name } of EXPECTED_NOT_RENEWED) expect(statuses[name], name).to.not.equal('OK');
  });

  it('a tree missing only scheduler.conf: the dry run (which used to exit 0 with it silently left out) exits 3 and lists it', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    rmSync(conf(root, 'scheduler.conf'));
    const run = await cli(['renew', '--all', '--dry-run', '--json', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(3);
    const plan = JSON.parse(run.stdout) as PlanJson;
    expect(plan.notRenewed.map((entry) => entry.name)).to.deep.equal(['scheduler.conf']);
    expect(plan.items).to.have.length(10);
  });

  it('named certificates keep failing on the first problem, for that name (not NOT_ALL_RENEWED)', async () => {
    const root = brokenTree();
    const run = await cli(['renew', 'etcd-server', 'apiserver', 'etcd-peer', '--dry-run', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(4);
    expect(run.stderr).to.include('error: /etc/kubernetes/pki/apiserver.crt: apiserver: is a directory');
    expect(run.stdout + run.stderr).to.not.include('NOT renewed');
    expect(run.stderr).to.not.include('etcd-peer');
  });

  it('on the real 1.25 tree with no node name anywhere (kubelet.conf cannot be re-minted): renews the other 10, exits 3 naming kubelet.conf and --node-name', async () => {
    const root = namelessKubeletTree();
    const run = await cli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root]);
    expect(run.exitCode, show(run)).to.equal(3);
    expect(run.stderr).to.match(/error: 1 certificate NOT renewed: kubelet\.conf \(.*no node name was found/);
    expect(run.stdout, 'the plan gives the hint').to.match(/--node-name NAME/);
    const check = await cli(['check', '--root', root, '--json']);
    const entries = (JSON.parse(check.stdout) as CheckReport).certificates;
    expect(entries.filter((entry) => entry.status !== 'OK').map((entry) => [entry.name, entry.status])).to.deep.equal([['kubelet.conf', 'UNREADABLE']]);
    expect(entries).to.have.length(11);
  });
});
