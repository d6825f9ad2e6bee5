// The fleet through Ansible, for real: ansible-playbook (Debian's ansible-core,
// no Galaxy, no network) runs scripts/ansible/rescue.yml on an inventory of
// local hosts, each with its own copied tree: control planes sharing one CA and
// workers whose kubelet client certs expired, behind an apiserver stand-in
// (openssl s_server demanding a client cert from the CA); the kubelet restarts
// through the fake systemctl. A second run with a worker whose kubelet never
// comes back must stop the play, exit non-zero and leave that worker rolled back.
import { expect } from 'chai';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { parseCertificate } from '../lib/pki/certificate.js';
import { version } from '../lib/cli/version.js';
import { repoRoot, tempDir } from './helpers/env.js';
import { ansibleEnv, apiserverStandIn, caOf, controlPlanes, worker } from './helpers/fleet.js';
import { cli, listing, writeFakes } from './helpers/renew.js';
import type { SServer } from './helpers/tls.js';

const ANSIBLE = join(repoRoot, 'scripts', 'ansible');
const PENDING = 'var/lib/kubelet/pki/rescue-kit-pending.key';

interface Fleet {
  dir: string;
  inventory: string;
  report: string;
  roots: Record<string, string>;
}


async function playbook(fleet: Fleet, extra: string[] = [], source = ['-e', `rescue_kit_home=${repoRoot}`]) {
  const started = Date.now();
  const result = await execa('ansible-playbook', ['-i', fleet.inventory, join(ANSIBLE, 'rescue.yml'), ...source, '-e', `rescue_kit_report=${fleet.report}`, '-e', `rescue_kit_remote_dir=${join(fleet.dir, 'remote')}`, ...extra], {
    reject: false,
    env: ansibleEnv(fleet.dir),
    extendEnv: false,
    timeout: 600_000,
    all: true,
  });
  return { exitCode: result.exitCode ?? -1, output: String(result.all), seconds: (Date.now() - started) / 1000 };
}

/** An inventory (YAML; JSON is YAML) of local hosts, each with its own rescue_kit_root. */
function writeInventory(dir: string, controlPlane: Record<string, string>, workers: Record<string, { root: string; env: Record<string, string> }>): string {
  const file = join(dir, 'inventory.yml');
  const hosts = (entries: Record<string, object>) => ({ hosts: entries });
  writeFileSync(
    file,
    JSON.stringify({
      all: {
        vars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', rescue_kit_timeout: '10s' },
        children: {
          control_plane: hosts(Object.fromEntries(Object.entries(controlPlane).map(([name, root]) => [name, { rescue_kit_root: root, rescue_kit_restart: 'none' }]))),
          workers: hosts(Object.fromEntries(Object.entries(workers).map(([name, entry]) => [name, { rescue_kit_root: entry.root, rescue_kit_restart: 'systemd', rescue_kit_env: entry.env }]))),
        },
      },
    }),
  );
  return file;
}

const validateReport = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(readFileSync(join(ANSIBLE, 'fleet-report.schema.json'), 'utf8')));
})();

function readReport(file: string) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  expect(validateReport(report), JSON.stringify(validateReport.errors)).to.equal(true);
  return report as { ok: boolean; summary: Record<string, number>; nodes: { name: string; status: string; runId: string | null; durationSeconds: number | null; failed: { step: string; message: string } | null; before: { exit: number } | null; after: { exit: number } | null }[] };
}

async function expectKubeletRenewed(root: string, node: string): Promise<void> {
  const link = readlinkSync(join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem'));
  const file = join(root, link);
  const verify = await execa('openssl', ['verify', '-CAfile', join(root, 'etc/kubernetes/pki/ca.crt'), '-purpose', 'sslclient', file], { reject: false, all: true });
  expect(verify.exitCode, String(verify.all)).to.equal(0);
  const certificate = parseCertificate(readFileSync(file));
  expect(certificate.subjectText).to.equal(`O=system:nodes, CN=system:node:${node}`);
  expect(certificate.notAfter.getTime()).to.be.greaterThan(Date.now() + 300 * 86_400_000);
}

describe('the fleet through Ansible (ansible-playbook, local hosts, copied trees)', function () {
  this.timeout(600_000);
  let server: SServer;

  after(async () => server?.stop());

  it('rescue.yml passes ansible-playbook --syntax-check', async () => {
    const dir = tempDir('rk-ansible-syntax-');
    const result = await execa('ansible-playbook', ['--syntax-check', '-i', join(ANSIBLE, 'inventory.example.ini'), join(ANSIBLE, 'rescue.yml')], { reject: false, all: true, env: ansibleEnv(dir), extendEnv: false });
    expect(result.exitCode, String(result.all)).to.equal(0);
  });

  it('rescue.yml and the role pass ansible-lint (Debian\'s, --offline, production profile)', async () => {
    const dir = tempDir('rk-ansible-lint-');
    const result = await execa('ansible-lint', ['--offline', '--nocolor', '-p', 'rescue.yml'], { cwd: ANSIBLE, reject: false, all: true, env: { ...ansibleEnv(dir), NO_COLOR: '1' }, extendEnv: false, timeout: 300_000 });
    expect(result.exitCode, String(result.all)).to.equal(0);
    expect(String(result.all)).to.match(/Passed with production profile: 0 failure/);
  });

  it('renews 2 control planes one at a time and 4 workers in batches of 2 (CSR flow, kubelet restarted, apiserver accepts); the fleet report validates', async () => {
    const cps = await controlPlanes(2);
    server = await apiserverStandIn(caOf(cps[0]!));
    const url = `https://127.0.0.1:${server.port}`;
    const dir = tempDir('rk-fleet-');
    const workerRoots: Record<string, { root: string; env: Record<string, string> }> = {};
    const fakes: Record<string, ReturnType<typeof writeFakes>> = {};
    for (const name of ['worker-1', 'worker-2', 'worker-3', 'worker-4']) {
      const root = await worker(caOf(cps[0]!), name, url);
      fakes[name] = writeFakes(root);
      workerRoots[name] = { root, env: fakes[name]!.env };
    }
    const fleet: Fleet = { dir, report: join(dir, 'report.json'), inventory: writeInventory(dir, { 'cp-1': cps[0]!, 'cp-2': cps[1]! }, workerRoots), roots: {} };
    const run = await playbook(fleet, ['-e', 'rescue_kit_worker_batch=2']);
    expect(run.exitCode, run.output.slice(-6000)).to.equal(0);
    const report = readReport(fleet.report);
    expect(report.ok).to.equal(true);
    expect(report.summary).to.deep.equal({ renewed: 6 });
    for (const node of report.nodes) {
      expect(node.before?.exit, node.name).to.equal(11);
      expect(node.after?.exit, node.name).to.equal(0);
      expect(node.runId, node.name).to.be.a('string');
      expect(node.durationSeconds, node.name).to.be.a('number');
    }
    for (const root of cps) expect((await cli(['check', '--root', root])).exitCode, root).to.equal(0);
    for (const [name, { root }] of Object.entries(workerRoots)) {
      await expectKubeletRenewed(root, name);
      expect(fakes[name]!.restarts(), `${name}: the kubelet restarted once`).to.deep.equal(['kubelet']);
    }
    // The play's order: both control planes, one at a time, before any worker; workers two by two.
    const order = [...run.output.matchAll(/^TASK \[rescue_kit : Run (rescue-kit renew --all|rescue-kit kubelet install)[^\]]*\]/gm)].map((match) => match[1]);
    expect(order).to.deep.equal(['rescue-kit renew --all', 'rescue-kit renew --all', 'rescue-kit kubelet install', 'rescue-kit kubelet install']);
    const workers = report.nodes.filter((node) => node.name.startsWith('worker-'));
    const perWorker = workers.reduce((sum, node) => sum + node.durationSeconds!, 0) / workers.length;
    process.stderr.write(`      fleet: ${run.seconds.toFixed(1)} s for 2 control planes + 4 workers; ${perWorker.toFixed(2)} s per worker (csr -> sign -> install, batch of 2)\n`);
    // A second run finds nothing to do and changes nothing.
    const again = await playbook(fleet, ['-e', 'rescue_kit_worker_batch=2']);
    expect(again.exitCode, again.output.slice(-4000)).to.equal(0);
    expect(readReport(fleet.report).summary).to.deep.equal({ 'already-ok': 6 });
  });

  it('a worker whose kubelet does not come back stops the play (non-zero exit): that worker rolled back byte for byte, the next batch never touched', async () => {
    const [cp] = await controlPlanes(1);
    const stop = await apiserverStandIn(caOf(cp!));
    try {
      const url = `https://127.0.0.1:${stop.port}`;
      const dir = tempDir('rk-fleet-broken-');
      const workerRoots: Record<string, { root: string; env: Record<string, string> }> = {};
      for (const name of ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5']) {
        const root = await worker(caOf(cp!), name, url);
        // worker-3: the kubelet unit never becomes active again after the restart.
        workerRoots[name] = { root, env: writeFakes(root, name === 'worker-3' ? { FAKE_INACTIVE: 'kubelet' } : {}).env };
      }
      const own = (root: string) => {
        const files = listing(root, ['etc/kubernetes', 'var/lib/kubelet/pki']);
        delete files[PENDING];
        return files;
      };
      const before = Object.fromEntries(Object.entries(workerRoots).map(([name, { root }]) => [name, own(root)]));
      const fleet: Fleet = { dir, report: join(dir, 'report.json'), inventory: writeInventory(dir, { 'cp-1': cp! }, workerRoots), roots: {} };
      const run = await playbook(fleet, ['-e', 'rescue_kit_worker_batch=2']);
      expect(run.exitCode, run.output.slice(-6000)).to.not.equal(0);
      const report = readReport(fleet.report);
      expect(report.ok).to.equal(false);
      const status = Object.fromEntries(report.nodes.map((node) => [node.name, node.status]));
      expect(status).to.deep.equal({ 'cp-1': 'renewed', 'worker-1': 'renewed', 'worker-2': 'renewed', 'worker-3': 'rolled-back', 'worker-4': 'renewed', 'worker-5': 'not-reached' });
      const broken = report.nodes.find((node) => node.name === 'worker-3')!;
      expect(broken.failed?.step).to.equal('kubelet install');
      expect(broken.failed?.message).to.match(/kubelet/);
      expect(own(workerRoots['worker-3']!.root), 'worker-3 byte for byte as before').to.deep.equal(before['worker-3']);
      expect(own(workerRoots['worker-5']!.root), 'worker-5 untouched').to.deep.equal(before['worker-5']);
      expect((await cli(['check', '--root', workerRoots['worker-3']!.root])).exitCode).to.equal(11);
      await expectKubeletRenewed(workerRoots['worker-4']!.root, 'worker-4');
    } finally {
      await stop.stop();
    }
  });

  it('with rescue_kit_bundle: the offline bundle is copied, verified (signature required) and used on every node', async () => {
    const out = tempDir('rk-fleet-dist-');
    const build = await execa(join(repoRoot, 'scripts', 'build-bundle'), ['--arch', 'x64', '--out', out], { cwd: repoRoot, reject: false, all: true });
    expect(build.exitCode, String(build.all)).to.equal(0);
    const tarball = join(out, `rescue-kit-${version()}-linux-x64.tar.gz`);
    const [cp] = await controlPlanes(1);
    const stand = await apiserverStandIn(caOf(cp!));
    try {
      const root = await worker(caOf(cp!), 'worker-1', `https://127.0.0.1:${stand.port}`);
      const dir = tempDir('rk-fleet-bundle-');
      const fleet: Fleet = { dir, report: join(dir, 'report.json'), inventory: writeInventory(dir, { 'cp-1': cp! }, { 'worker-1': { root, env: writeFakes(root).env } }), roots: {} };
      const run = await playbook(fleet, [], ['-e', `rescue_kit_bundle=${tarball}`, '-e', `rescue_kit_allowed_signers=${join(out, 'allowed_signers')}`]);
      expect(run.exitCode, run.output.slice(-6000)).to.equal(0);
      expect(run.output).to.match(/TASK \[rescue_kit : Verify the bundle/);
      expect(readReport(fleet.report).summary).to.deep.equal({ renewed: 2 });
      await expectKubeletRenewed(root, 'worker-1');
      // A bundle signed by someone else is refused on the node before anything runs.
      const strangers = join(dir, 'other_signers');
      writeFileSync(strangers, readFileSync(join(out, 'allowed_signers'), 'utf8').replace(/ssh-ed25519 \S+/, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvWUWyQZ9aRSPoTTnUDwE+cuqlVR7oT+9H2E6A3ebNn'));
      const refused = await playbook(fleet, [], ['-e', `rescue_kit_bundle=${tarball}`, '-e', `rescue_kit_allowed_signers=${strangers}`]);
      expect(refused.exitCode).to.not.equal(0);
      expect(refused.output).to.match(/Verify the bundle[\s\S]*FAILED/);
      expect(readReport(fleet.report).nodes.map((node) => node.failed?.step)).to.include('pre-flight');
    } finally {
      await stand.stop();
    }
  });
});
