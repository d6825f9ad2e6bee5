// scripts/ansible/rotate-ca.yml's worker play for real: ansible-playbook on two local control planes
// and three workers (copied trees, one with its kubelet credentials embedded in kubelet.conf, the kubelet
// restarted through the fake systemctl), the cluster CA through trust, reissue, distrust. After each phase
// every worker's ca.crt and kubelet.conf CA data hold the right bundle, no CA private key is anywhere on a
// worker, and the controller's progress lists the workers. A worker whose kubelet does not come back stops
// the play with that worker byte for byte as before and the next batch untouched; the re-run continues.
import { expect } from 'chai';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxCluster } from '../lib/ops/sandbox/sandbox.js';
import { Certificate, parseCertificates } from '../lib/pki/certificate.js';
import { keysMatch, parsePrivateKey } from '../lib/pki/keys.js';
import { isIssuedBy } from '../lib/pki/verify.js';
import { repoRoot, tempDir } from './helpers/env.js';
import { ansibleEnv, caOf, worker } from './helpers/fleet.js';
import { fullListing, listing, writeFakes } from './helpers/renew.js';

const ANSIBLE = join(repoRoot, 'scripts', 'ansible');
const PLAYBOOK = join(ANSIBLE, 'rotate-ca.yml');
const CPS = ['cp1', 'cp2'];
const WORKERS = ['worker-1', 'worker-2', 'worker-3'];

/** Every PEM private key in a file, and those embedded (base64) in a kubeconfig. */
function privateKeysIn(text: string): string[] {
  const pems = text.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g) ?? [];
  const embedded = [...text.matchAll(/client-key-data:\s*(\S+)/g)].map((match) => Buffer.from(match[1]!, 'base64').toString());
  return [...pems, ...embedded.flatMap(privateKeysIn)];
}

/** Files under dir (symlinks not followed) holding a private key of one of the CAs. */
function caKeysUnder(dir: string, cas: Certificate[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const stats = lstatSync(path);
    if (stats.isDirectory()) return readdirSync(path).forEach((name) => walk(join(path, name)));
    if (!stats.isFile()) return;
    for (const pem of privateKeysIn(readFileSync(path, 'latin1'))) if (cas.some((ca) => keysMatch(parsePrivateKey(pem), ca.publicKey))) found.push(path);
  };
  if (existsSync(dir)) walk(dir);
  return found;
}

const kubeletConfCa = (root: string) => Buffer.from(/certificate-authority-data:\s*(\S+)/.exec(readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8'))![1]!, 'base64').toString();

describe('ansible: rotate-ca.yml carries the cluster CA to workers (certificates only), phase by phase', function () {
  this.timeout(300_000);

  it('trust, reissue, distrust on 2 control planes + 3 workers in batches of 2; a worker that fails stops the play rolled back; the re-run continues', async () => {
    const dir = tempDir('rk-ansible-rotate-workers-');
    const trees = await buildSandboxCluster({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }, CPS.map((nodeName, index) => ({ nodeName, advertiseAddress: `10.0.0.${index + 1}` })));
    const cps = CPS.map((name, index) => {
      const root = join(dir, name);
      writeTree(root, trees[index]!);
      return root;
    });
    const oldCa = parseCertificates(readFileSync(join(cps[0]!, 'etc/kubernetes/pki/ca.crt')))[0]!;
    // Workers whose kubelet client certs are valid (200 days left): a rotation, not a rescue. worker-1 is an older kubeadm's (embedded).
    const workers: Record<string, { root: string; env: Record<string, string> }> = {};
    for (const [index, name] of WORKERS.entries()) {
      const root = await worker(caOf(cps[0]!), name, 'https://127.0.0.1:6443', { embedded: index === 0, expiredDaysAgo: -200 });
      workers[name] = { root, env: writeFakes(root).env };
    }
    const exchange = join(dir, 'exchange');
    const remote = join(dir, 'remote');
    const inventory = join(dir, 'inventory.yml');
    const writeInventory = (brokenKubelet?: string) =>
      writeFileSync(
        inventory,
        JSON.stringify({
          all: {
            vars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', rescue_kit_timeout: '5s' },
            children: {
              control_plane: { hosts: Object.fromEntries(CPS.map((name, index) => [name, { rescue_kit_root: cps[index], rescue_kit_restart: 'none' }])) },
              // No apiserver in this test: the kubelet's new identity is not tried against one (test/ansible.test.ts does).
              workers: { hosts: Object.fromEntries(WORKERS.map((name) => [name, { rescue_kit_root: workers[name]!.root, rescue_kit_restart: 'systemd', rescue_kit_verify_api: false, rescue_kit_env: name === brokenKubelet ? { ...workers[name]!.env, FAKE_INACTIVE: 'kubelet' } : workers[name]!.env }])) },
            },
          },
        }),
      );
    const play = async (phase: string) => {
      const started = Date.now();
      const run = await execa('ansible-playbook', ['-i', inventory, PLAYBOOK, '-e', `rescue_kit_home=${repoRoot}`, '-e', 'rescue_kit_ca=ca', '-e', `rescue_kit_phase=${phase}`, '-e', 'rescue_kit_worker_batch=2', '-e', `rescue_kit_exchange=${exchange}`, '-e', `rescue_kit_remote_dir=${remote}`], {
        reject: false,
        // Pipelining: no module file copied per task (every host is local here); it halves the run.
        env: { ...ansibleEnv(dir), ANSIBLE_PIPELINING: '1' },
        extendEnv: false,
        timeout: 300_000,
        all: true,
      });
      return { exitCode: run.exitCode, output: String(run.all), seconds: (Date.now() - started) / 1000 };
    };
    const failures = (output: string) => output.split('\n').filter((line) => /fatal|FAILED|error|msg/i.test(line)).join('\n').slice(-4000);
    const own = (root: string) => listing(root, ['etc/kubernetes', 'var/lib/kubelet']);

    // worker-2's kubelet never comes back after trust's restart: the play stops in the first batch.
    writeInventory('worker-2');
    const before = Object.fromEntries(WORKERS.map((name) => [name, { own: own(workers[name]!.root), full: fullListing(workers[name]!.root) }]));
    const broken = await play('trust');
    expect(broken.exitCode, broken.output.slice(-3000)).to.not.equal(0);
    expect(broken.output).to.match(/kubelet/);
    expect(own(workers['worker-2']!.root), 'worker-2 rolled back byte for byte').to.deep.equal(before['worker-2']!.own);
    expect(fullListing(workers['worker-3']!.root), 'worker-3 (the next batch) never touched').to.deep.equal(before['worker-3']!.full);
    expect(parseCertificates(readFileSync(join(workers['worker-1']!.root, 'etc/kubernetes/pki/ca.crt'))), 'worker-1 (same batch) trusted').to.have.length(2);

    // Fixed, the same phase again: the nodes that did trust are left as they are, the others catch up.
    writeInventory();
    const seconds: string[] = [`trust (stopped at worker-2) ${broken.seconds.toFixed(1)}s`];
    let newCa: Certificate | undefined;
    for (const phase of ['trust', 'reissue', 'distrust']) {
      const run = await play(phase);
      seconds.push(`${phase} ${run.seconds.toFixed(1)}s`);
      expect(run.exitCode, failures(run.output)).to.equal(0);
      const cpBundle = parseCertificates(readFileSync(join(cps[0]!, 'etc/kubernetes/pki/ca.crt')));
      newCa ??= cpBundle.find((certificate) => !certificate.der.equals(oldCa.der));
      expect(newCa, `${phase}: a new CA`).to.not.equal(undefined);
      const wanted = { trust: [oldCa, newCa!], reissue: [newCa!, oldCa], distrust: [newCa!] }[phase]!.map((certificate) => certificate.pem).join('');
      for (const name of WORKERS) {
        const root = workers[name]!.root;
        expect(readFileSync(join(root, 'etc/kubernetes/pki/ca.crt'), 'utf8'), `${phase} ${name}: ca.crt`).to.equal(wanted);
        expect(kubeletConfCa(root), `${phase} ${name}: kubelet.conf's CA data`).to.equal(wanted);
        expect(caKeysUnder(root, [oldCa, newCa!]), `${phase} ${name}: no CA key in its tree`).to.deep.equal([]);
        expect(caKeysUnder(join(remote, name), [oldCa, newCa!]), `${phase} ${name}: no CA key in its work dir`).to.deep.equal([]);
        expect(existsSync(join(remote, name, 'ca-rotation')), `${phase} ${name}: no exchange copy left`).to.equal(false);
      }
      if (phase !== 'distrust') {
        // The controller's progress lists every worker at this phase (batches of 2 wrote back at once).
        const progress = JSON.parse(readFileSync(join(exchange, 'ca-rotation.json'), 'utf8'));
        const nodes = Object.assign({}, ...readdirSync(exchange).filter((file) => /^ca-rotation.*\.json$/.test(file)).map((file) => JSON.parse(readFileSync(join(exchange, file), 'utf8')).authorities.ca.nodes));
        expect(nodes, `${phase}: every node's progress`).to.deep.equal(Object.fromEntries([...CPS, ...WORKERS].map((name) => [name, phase])));
        expect(progress.knownNodes).to.include.members(CPS);
      }
      if (phase === 'reissue') {
        // The first control plane's own record, merged at its reissue, knows every worker trusted.
        const state = JSON.parse(readFileSync(join(cps[0]!, 'var/lib/rescue-kit/ca-rotation.json'), 'utf8'));
        for (const name of WORKERS) expect(state.authorities.ca.nodes[name], `cp1's state: ${name}`).to.be.oneOf(['trust', 'reissue']);
        // Each worker's kubelet now holds a client cert of the new CA (the new key made on the worker).
        for (const name of WORKERS) {
          const { root } = workers[name]!;
          const conf = readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8');
          const embedded = /client-certificate-data:\s*(\S+)/.exec(conf)?.[1];
          const pem = embedded ? Buffer.from(embedded, 'base64').toString() : readFileSync(join(root, readlinkSync(join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem'))), 'utf8');
          const client = parseCertificates(pem)[0]!;
          expect(client.subjectText, name).to.equal(`O=system:nodes, CN=system:node:${name}`);
          expect(isIssuedBy(client, newCa!), `${name}: signed by the new CA`).to.equal(true);
        }
      }
    }
    expect(existsSync(exchange), 'the exchange directory is gone from the controller after distrust').to.equal(false);
    for (const root of [...cps, ...WORKERS.map((name) => workers[name]!.root)]) expect(existsSync(join(root, 'var/lib/rescue-kit/ca-rotation.json')), `${root}: rotation finished`).to.equal(false);
    console.log(`      rotate-ca.yml on 2 control planes + 3 workers (batches of 2): ${seconds.join(', ')}`);
  });

  it('rotate-ca.yml passes ansible-lint (--offline, production profile)', async () => {
    const lintDir = tempDir('rk-ansible-lint-rotate-');
    const result = await execa('ansible-lint', ['--offline', '--nocolor', '-p', 'rotate-ca.yml'], { cwd: ANSIBLE, reject: false, all: true, env: { ...ansibleEnv(lintDir), NO_COLOR: '1' }, extendEnv: false, timeout: 300_000 });
    expect(result.exitCode, String(result.all)).to.equal(0);
    expect(String(result.all)).to.match(/Passed with production profile: 0 failure/);
  });
});
