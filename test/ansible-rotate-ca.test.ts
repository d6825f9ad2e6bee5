// scripts/ansible/rotate-ca.yml for real: ansible-playbook (ansible-core, no Galaxy, no network) on an
// inventory of three local control planes sharing their CAs (sandbox trees): etcd-ca and the sa key
// through trust, reissue, distrust, one playbook run per phase. The new CA travels through the
// controller's exchange directory; every node ends with the same single new CA, every etcd leaf
// verifies against it alone, and the exchange directory (keys in transit) is deleted after distrust.
import { expect } from 'chai';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxCluster } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificates } from '../lib/pki/certificate.js';
import { opensslVerify, repoRoot, tempDir } from './helpers/env.js';
import { ansibleEnv } from './helpers/fleet.js';

const PLAYBOOK = join(repoRoot, 'scripts', 'ansible', 'rotate-ca.yml');
const NAMES = ['cp1', 'cp2', 'cp3'];


describe('ansible: rotate-ca.yml rotates etcd-ca and sa across three control planes, phase by phase', function () {
  this.timeout(180_000);

  it('trust, reissue, distrust: one CA on every node, the leaves verify against it alone, no key left in transit', async () => {
    const dir = tempDir('rk-ansible-rotate-');
    const trees = await buildSandboxCluster({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }, NAMES.map((nodeName, index) => ({ nodeName, advertiseAddress: `10.0.0.${index + 1}` })));
    const roots = NAMES.map((name, index) => {
      const root = join(dir, name);
      writeTree(root, trees[index]!);
      return root;
    });
    const pki = (index: number, file: string) => join(roots[index]!, 'etc/kubernetes/pki', file);
    const oldCa = readFileSync(pki(0, 'etcd/ca.crt'));
    const exchange = join(dir, 'exchange');
    const inventory = join(dir, 'inventory.yml');
    writeFileSync(
      inventory,
      JSON.stringify({
        all: {
          vars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', rescue_kit_timeout: '10s' },
          children: { control_plane: { hosts: Object.fromEntries(NAMES.map((name, index) => [name, { rescue_kit_root: roots[index], rescue_kit_restart: 'none' }])) } },
        },
      }),
    );
    // The sandbox's API does not answer: sa's distrust reads the legacy token Secrets from an export on the
    // controller (here: none), which the play copies to each control plane for the run only.
    const tokenSecrets = join(dir, 'token-secrets.json');
    writeFileSync(tokenSecrets, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    const play = (phase: string) =>
      execa('ansible-playbook', ['-i', inventory, PLAYBOOK, '-e', `rescue_kit_home=${repoRoot}`, '-e', 'rescue_kit_ca=etcd-ca,sa', '-e', `rescue_kit_phase=${phase}`, '-e', 'rescue_kit_token_grace=0', '-e', `rescue_kit_token_secrets_from=${tokenSecrets}`, '-e', `rescue_kit_exchange=${exchange}`, '-e', `rescue_kit_remote_dir=${join(dir, 'remote')}`, '-e', `rescue_kit_report=${join(dir, 'report.json')}`], {
        reject: false,
        env: ansibleEnv(dir),
        extendEnv: false,
        timeout: 300_000,
        all: true,
      });

    // Reissue before any trust: the playbook refuses (nothing to carry), no node touched.
    const early = await play('reissue');
    expect(early.exitCode, String(early.all)).to.not.equal(0);
    expect(String(early.all)).to.include('run -e rescue_kit_phase=trust through this playbook first');
    expect(readFileSync(pki(0, 'etcd/ca.crt')).equals(oldCa)).to.equal(true);

    const seconds: string[] = [];
    for (const phase of ['trust', 'reissue', 'distrust']) {
      const started = Date.now();
      const run = await play(phase);
      seconds.push(`${phase} ${((Date.now() - started) / 1000).toFixed(1)}s`);
      expect(run.exitCode, String(run.all).split('\n').filter((line) => /fatal|FAILED|error|msg/i.test(line)).join('\n').slice(-3000)).to.equal(0);
      const bundles = roots.map((_, index) => readFileSync(pki(index, 'etcd/ca.crt')));
      expect(new Set(bundles.map((bundle) => bundle.toString())).size, `${phase}: the same etcd/ca.crt on every node`).to.equal(1);
      expect(parseCertificates(bundles[0]!), phase).to.have.length(phase === 'distrust' ? 1 : 2);
      expect(new Set(roots.map((_, index) => readFileSync(pki(index, 'sa.pub'), 'utf8'))).size, `${phase}: the same sa.pub`).to.equal(1);
      if (phase !== 'distrust') expect(statSync(join(exchange, 'etcd-ca.key')).mode & 0o777, 'a key in transit is owner-only').to.equal(0o600);
      if (phase === 'reissue') expect(JSON.parse(readFileSync(join(exchange, 'ca-rotation.json'), 'utf8')).authorities['etcd-ca'].nodes).to.deep.equal({ cp1: 'reissue', cp2: 'reissue', cp3: 'reissue' });
      // No copy of the exchange stays on a node.
      for (const name of NAMES) expect(existsSync(join(dir, 'remote', name, 'ca-rotation')), name).to.equal(false);
      for (const name of NAMES) expect(existsSync(join(dir, 'remote', name, 'token-secrets.json')), `${name}: no token export left`).to.equal(false);
    }
    console.log(`      rotate-ca.yml on 3 control planes: ${seconds.join(', ')}`);
    const finalCa = pki(0, 'etcd/ca.crt');
    expect(parseCertificates(readFileSync(finalCa))[0]!.der.equals(parseCertificates(oldCa)[0]!.der)).to.equal(false);
    for (const [index, name] of NAMES.entries()) {
      for (const leaf of ['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt']) {
        const [ok, output] = await opensslVerify(finalCa, pki(index, leaf));
        expect(ok, `${name} ${leaf}: ${output}`).to.equal(true);
      }
      expect(readFileSync(pki(index, 'sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g), name).to.have.length(1);
      expect(existsSync(join(roots[index]!, 'var/lib/rescue-kit/ca-rotation.json')), `${name}: rotation finished`).to.equal(false);
    }
    // Every node finished: the exchange directory (keys in transit, progress) is gone from the controller.
    expect(existsSync(exchange), 'no key left on the controller').to.equal(false);
  });
});
