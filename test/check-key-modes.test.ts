// `check` reports private keys that group or others can read (seed 004's
// checklist: 0600 or 0400): every key it knows — pki and CA keys, sa.key,
// kubeconfig-embedded keys, the kubelet's cert+key pem behind its symlink —
// in the text report, --json and the Prometheus textfile (checked by promtool),
// as a WARN-level problem (exit 10 unless something is worse). The set of key
// files is compared with an independent walk of the tree.
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { writeTree } from '../lib/host/tree.js';
import type { CheckReport } from '../lib/ops/inventory/check.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { fixtureRoot, fixturesRoot, hostKeyModes, repoRoot, runCli, tempDir } from './helpers/env.js';
import { cpSync, writeFileSync } from 'node:fs';

/** Every file under root holding a private key (PEM block or a kubeconfig's client-key-data), as real paths. */
function keyFilesByWalk(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      if (stats.isDirectory()) walk(path);
      else if (stats.isFile() && /PRIVATE KEY-----|client-key-data:/.test(readFileSync(path, 'latin1'))) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}

/** A host path's file under root, following symlinks whose absolute targets are host paths (as the kubelet writes them). */
function underRoot(root: string, hostPath: string): string {
  let path = join(root, hostPath);
  for (let hops = 0; hops < 8 && lstatSync(path).isSymbolicLink(); hops++) {
    const target = readlinkSync(path);
    path = target.startsWith('/') ? join(root, target) : join(dirname(path), target);
  }
  return path;
}

async function check(args: string[]) {
  const result = await runCli(['check', ...args]);
  return { ...result, report: args.includes('--json') ? (JSON.parse(result.stdout) as CheckReport) : undefined };
}

describe('check: group/world-readable private keys', function () {
  this.timeout(60_000);
  let root: string;

  before(async () => {
    root = tempDir('rk-keymodes-');
    // Leaves valid for 100 days, keys 0600 as the sandbox (like kubeadm) writes them.
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
  });

  it('a host whose keys are all 0600 (or 0400): every key file listed, none unsafe, exit 0; the list matches a walk of the tree', async () => {
    chmodSync(join(root, 'etc/kubernetes/pki/sa.key'), 0o400);
    const { exitCode, report, stderr } = await check(['--root', root, '--json']);
    expect(exitCode, stderr).to.equal(0);
    expect(report!.keyFiles.filter((file) => file.unsafe)).to.deep.equal([]);
    // Every key file on the tree, once (kubelet-client-current.pem and its target are one file); nothing else.
    const listed = report!.keyFiles.map((file) => underRoot(root, file.path)).sort();
    expect(listed).to.deep.equal(keyFilesByWalk(root));
    expect(report!.keyFiles.find((file) => file.path === '/etc/kubernetes/pki/sa.key')!.mode).to.equal('0400');
    expect(report!.keyFiles.map((file) => file.path)).to.include.members(['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/etcd/ca.key', '/etc/kubernetes/pki/apiserver.key', '/etc/kubernetes/admin.conf', '/var/lib/kubelet/pki/kubelet-client-current.pem', '/etc/kubernetes/pki/sa.key']);
    expect(report!.keyFiles.find((file) => file.path === '/etc/kubernetes/admin.conf')!.embedded).to.equal(true);
  });

  it('0644, 0640 and 0604 keys: a problem each (file, mode, chmod 600 fix) in text, --json and Prometheus; exit 10; the printed next: command fixes them', async () => {
    const pem = underRoot(root, '/var/lib/kubelet/pki/kubelet-client-current.pem');
    chmodSync(join(root, 'etc/kubernetes/pki/apiserver.key'), 0o644);
    chmodSync(join(root, 'etc/kubernetes/admin.conf'), 0o640);
    chmodSync(pem, 0o604);
    const unsafe = ['/etc/kubernetes/pki/apiserver.key', '/etc/kubernetes/admin.conf', '/var/lib/kubelet/pki/kubelet-client-current.pem'];

    const text = await check(['--root', root]);
    expect(text.exitCode, text.stderr).to.equal(10);
    expect(text.stdout).to.include(`  /etc/kubernetes/pki/apiserver.key: private key readable by group/others (mode 0644; want 0600 or 0400); fix: chmod 600 ${join(root, 'etc/kubernetes/pki/apiserver.key')}`);
    expect(text.stdout).to.include(`  /etc/kubernetes/admin.conf: embeds a private key readable by group/others (mode 0640; want 0600 or 0400); fix: chmod 600 ${join(root, 'etc/kubernetes/admin.conf')}`);
    // Through the kubelet's absolute symlink: the fix names the file itself under --root (chmod on the link would follow it out of the root).
    expect(text.stdout).to.include(`  /var/lib/kubelet/pki/kubelet-client-current.pem: private key readable by group/others (mode 0604; want 0600 or 0400) (symlink -> ${pem.slice(root.length)}); fix: chmod 600 ${pem}`);
    expect(text.stdout).to.not.match(/sa\.key: /); // 0400 is fine

    const out = join(tempDir('rk-prom-'), 'rescue-kit.prom');
    const json = await check(['--root', root, '--json', '--prometheus', out]);
    expect(json.exitCode).to.equal(10);
    const flagged = json.report!.keyFiles.filter((file) => file.unsafe);
    expect(flagged.map((file) => file.path).sort()).to.deep.equal([...unsafe].sort());
    const apiKey = flagged.find((file) => file.path === '/etc/kubernetes/pki/apiserver.key')!;
    expect(apiKey).to.deep.include({ mode: '0644', embedded: false, fix: `chmod 600 ${join(root, 'etc/kubernetes/pki/apiserver.key')}` });
    expect(json.stdout).to.not.include('PRIVATE KEY');
    const prom = readFileSync(out, 'utf8');
    expect(prom).to.include('# TYPE rescue_kit_key_mode_unsafe gauge');
    for (const path of unsafe) expect(prom).to.include(`rescue_kit_key_mode_unsafe{filepath="${path}"} 1`);
    expect(prom).to.include('rescue_kit_key_mode_unsafe{filepath="/etc/kubernetes/pki/sa.key"} 0');
    expect(prom.split('\n').filter((line) => line.startsWith('rescue_kit_key_mode_unsafe{')).length).to.equal(json.report!.keyFiles.length);
    const lint = await execa('promtool', ['check', 'metrics'], { input: prom, reject: false });
    expect(lint.exitCode, `${lint.stdout}${lint.stderr}`).to.equal(0);

    // next: is a command that works: run it as printed, then check is clean again.
    const next = /^next: (chmod 600 .+)$/m.exec(text.stderr)?.[1];
    expect(next, text.stderr).to.be.a('string');
    const fixed = await execa('sh', ['-c', next!], { reject: false });
    expect(fixed.exitCode, String(fixed.stderr)).to.equal(0);
    expect((lstatSync(pem).mode & 0o777).toString(8)).to.equal('600');
    const after = await check(['--root', root]);
    expect(after.exitCode, after.stdout).to.equal(0);
  });

  it('on a real expired fixture with one 0644 key left: exit stays 11 (expired is worse), the key problem is listed beside the expiries', async () => {
    const fixture = fixtureRoot('kubeadm-1.14-expired'); // the helper makes keys 0600 like a host; put one back
    chmodSync(join(fixture, 'etc/kubernetes/pki/front-proxy-client.key'), 0o644);
    const { exitCode, report } = await check(['--root', fixture, '--json']);
    expect(exitCode).to.equal(11);
    expect(report!.keyFiles.filter((file) => file.unsafe).map((file) => file.path)).to.deep.equal(['/etc/kubernetes/pki/front-proxy-client.key']);
    const text = await check(['--root', fixture]);
    expect(text.stdout).to.match(/^ {2}\/etc\/kubernetes\/pki\/front-proxy-client\.key: private key readable by group\/others \(mode 0644;/m);
  });

  it('--path on the hard-way folder: its X-key.pem files are checked too', async () => {
    const dir = tempDir('rk-hardway-keys-');
    cpSync(join(fixturesRoot, 'hardway-1.19-expired'), join(dir, 'pki'), { recursive: true });
    hostKeyModes(join(dir, 'pki'));
    chmodSync(join(dir, 'pki/kube-proxy-key.pem'), 0o644);
    const { report } = await check(['--root', dir, '--path', '/pki', '--json']);
    expect(report!.keyFiles.filter((file) => file.unsafe).map((file) => file.path)).to.deep.equal(['/pki/kube-proxy-key.pem']);
    const listed = report!.keyFiles.map((file) => relative(dir, underRoot(dir, file.path))).sort();
    expect(listed).to.include.members(['pki/ca-key.pem', 'pki/service-account-key.pem', 'pki/admin.kubeconfig']);
  });

  it('conf/prometheus-alerts.yaml fires KubernetesPrivateKeyReadableByOthers on a 1 and not on a 0 (promtool test rules)', async () => {
    const dir = tempDir('rk-promtest-');
    const test = join(dir, 'test.yaml');
    writeFileSync(test, [
      'rule_files:',
      `  - ${join(repoRoot, 'conf/prometheus-alerts.yaml')}`,
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      '      - series: \'rescue_kit_key_mode_unsafe{filepath="/etc/kubernetes/pki/apiserver.key",instance="cp1"}\'',
      '        values: "1x30"',
      '      - series: \'rescue_kit_key_mode_unsafe{filepath="/etc/kubernetes/pki/sa.key",instance="cp1"}\'',
      '        values: "0x30"',
      '    alert_rule_test:',
      '      - eval_time: 15m',
      '        alertname: KubernetesPrivateKeyReadableByOthers',
      '        exp_alerts:',
      '          - exp_labels: { severity: warning, filepath: /etc/kubernetes/pki/apiserver.key, instance: cp1 }',
      '            exp_annotations:',
      '              summary: "Private key /etc/kubernetes/pki/apiserver.key is readable by group or others"',
      '              description: "/etc/kubernetes/pki/apiserver.key on cp1 holds a private key that other users can read. Fix: chmod 600 /etc/kubernetes/pki/apiserver.key (rescue-kit check prints the command)"',
      '',
    ].join('\n'));
    const result = await execa('promtool', ['test', 'rules', test], { reject: false });
    expect(result.exitCode, `${result.stdout}${result.stderr}`).to.equal(0);
  });
});
