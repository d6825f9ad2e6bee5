// The whole control plane on the rig (test/helpers/cluster-rig.ts): three nodes
// renewed one after another with the real CLI while a client loop goes through
// a real haproxy; real etcd x3, apiserver stand-ins, restarts through the fakes.
// Then the gate's negative: a node whose apiserver keeps serving the old cert
// fails the served-cert proof and is rolled back, the cluster untouched.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { servedCertificate } from '../lib/ops/renewal/served-cert.js';
import { etcdMembers, Rig, RigNode, serialOf, startClusterRig } from './helpers/cluster-rig.js';
import { cli, listing, opensslVerifies, readCert, show } from './helpers/renew.js';

interface Report {
  ok: boolean;
  rolledBack: boolean;
  steps: { component: string; restart: { ok: boolean; detail: string }; health?: { ok: boolean; detail: string; pending?: string } }[];
}

const SERVED = ['etcd/server.crt', 'etcd/peer.crt', 'apiserver.crt'] as const;

/** What each of a node's TLS ports presents now (etcd client, etcd peer, apiserver). */
async function servedSerials(rig: Rig, node: RigNode): Promise<Record<string, string>> {
  const etcdClient = { cert: readFileSync(join(node.pki, 'etcd/healthcheck-client.crt')), key: readFileSync(join(node.pki, 'etcd/healthcheck-client.key')) };
  return {
    'etcd/server.crt': (await servedCertificate(node.address, rig.ports.client, { client: etcdClient })).serialHex,
    'etcd/peer.crt': (await servedCertificate(node.address, rig.ports.peer, { client: etcdClient })).serialHex,
    'apiserver.crt': (await servedCertificate(node.address, rig.ports.api, { client: { cert: rig.client.cert, key: rig.client.key }, servername: 'kubernetes' })).serialHex,
  };
}

const fileSerials = (node: RigNode) => Object.fromEntries(SERVED.map((file) => [file, serialOf(join(node.pki, file))]));

describe('the whole cluster: 3 control planes renewed one at a time behind haproxy (real etcd x3, apiserver stand-ins)', function () {
  this.timeout(150_000);
  let rig: Rig;
  const original: Record<string, Record<string, string>> = {};

  before(async () => {
    rig = await startClusterRig();
    for (const node of rig.nodes) {
      original[node.name] = fileSerials(node);
      expect(await servedSerials(rig, node), `${node.name} serves its files before`).to.deep.equal(original[node.name]);
    }
  });

  after(async () => {
    await rig?.stop();
  });

  it('the rig: CAs and sa key byte-identical on the three nodes; each node\'s leaves carry its own name and address and verify (openssl) against cp1\'s CA', async () => {
    const shared = ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub'];
    for (const file of shared) {
      const bytes = rig.nodes.map((node) => readFileSync(join(node.pki, file), 'utf8'));
      expect(new Set(bytes).size, file).to.equal(1);
    }
    for (const node of rig.nodes) {
      expect((await opensslVerifies(join(rig.nodes[0]!.pki, 'ca.crt'), join(node.pki, 'apiserver.crt')))[0], node.name).to.equal(true);
      expect((await opensslVerifies(join(rig.nodes[0]!.pki, 'etcd/ca.crt'), join(node.pki, 'etcd/peer.crt')))[0], node.name).to.equal(true);
      const apiserver = readCert(join(node.pki, 'apiserver.crt'));
      expect(apiserver.sans.ips, node.name).to.include(node.address);
      expect(apiserver.sans.dns, node.name).to.include(node.name);
      expect(readCert(join(node.pki, 'etcd/peer.crt')).sans.ips, node.name).to.include(node.address);
      expect(readCert(join(node.pki, 'etcd/server.crt')).subjectText, node.name).to.equal(`CN=${node.name}`);
    }
  });

  it('renew --all --restart static-pod on cp1, cp2, cp3 in turn: 0 failed requests through haproxy, every gate passes', async () => {
    const loop = rig.clientLoop();
    const runs: { node: string; exitCode?: number; ms: number; report: Report }[] = [];
    try {
      for (const node of rig.nodes) {
        const started = Date.now();
        const run = await cli(['renew', '--all', '--yes', '--root', node.root, '--restart', 'static-pod', '--timeout', '30s', '--json'], node.fakes.env, 90_000);
        expect(run.exitCode, `${node.name}: ${show(run)}`).to.equal(0);
        runs.push({ node: node.name, exitCode: run.exitCode, ms: Date.now() - started, report: JSON.parse(run.stdout) as Report });
        expect(node.fakes.restarts(), node.name).to.deep.equal(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet']);
      }
    } finally {
      const stats = await loop.stop();
      // Printed for the reader of the test log; scripts/bench measures the same run as a figure.
      console.log(`      client loop: ${stats.requests} requests, ${stats.failures} failed, ${(stats.elapsedMs / 1000).toFixed(1)} s; per node ${runs.map((run) => `${run.node} ${(run.ms / 1000).toFixed(1)} s`).join(', ')}`);
      expect(stats.failures, `failed requests through haproxy:\n${stats.errors.join('\n')}\n${rig.haproxyLog().slice(-3000)}`).to.equal(0);
      expect(stats.requests, 'the loop really ran during the renewal').to.be.above(100);
    }
    for (const { node, report } of runs) {
      const etcd = report.steps.find((step) => step.component === 'etcd')!;
      expect(etcd.health?.detail, node).to.match(/etcd client 127\.0\.0\.\d:\d+ serves serial [0-9A-F]+; etcd peer 127\.0\.0\.\d:\d+ serves serial/);
      expect(etcd.health?.detail, node).to.include('quorum 3/3, every member healthy');
      expect(etcd.health?.pending, node).to.equal(undefined);
      const api = report.steps.find((step) => step.component === 'kube-apiserver')!;
      expect(api.health?.detail, node).to.match(/kube-apiserver 127\.0\.0\.\d:\d+ serves serial [0-9A-F]+; .*\/livez: 200/);
    }
  });

  it('afterwards: 3 members healthy, every node serving its renewed files (new serials on the wire)', async () => {
    const health = await rig.etcdctl(rig.nodes[2]!, ['endpoint', 'health', '--cluster']);
    expect(health.exitCode, health.stderr).to.equal(0);
    expect(`${health.stdout}${health.stderr}`.match(/is healthy/g)).to.have.length(3);
    expect(await etcdMembers(rig, rig.nodes[0]!)).to.deep.equal(['cp1', 'cp2', 'cp3']);
    for (const node of rig.nodes) {
      const files = fileSerials(node);
      for (const file of SERVED) expect(files[file], `${node.name} ${file} renewed`).to.not.equal(original[node.name]![file]);
      expect(await servedSerials(rig, node), `${node.name} serves the renewed files`).to.deep.equal(files);
    }
    expect(await rig.get()).to.equal(200);
  });

  it("negative: cp2's apiserver keeps serving the old cert after its restart: the served-cert proof fails, cp2 is rolled back (exit 6), the cluster keeps answering", async () => {
    const cp2 = rig.nodes[1]!;
    const tree = listing(cp2.root);
    const old = fileSerials(cp2);
    const loop = rig.clientLoop();
    const run = await cli(['renew', '--all', '--force', '--yes', '--root', cp2.root, '--restart', 'crictl', '--timeout', '4s', '--json'], { ...cp2.fakes.env, FAKE_NO_RELOAD: 'kube-apiserver' }, 90_000);
    const stats = await loop.stop();
    expect(run.exitCode, show(run)).to.equal(6);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.rolledBack).to.equal(true);
    const api = report.steps.find((step) => step.component === 'kube-apiserver')!;
    expect(api.health?.ok).to.equal(false);
    expect(api.health?.detail).to.match(new RegExp(`kube-apiserver 127\\.0\\.0\\.2:${rig.ports.api} is still serving the old cert \\(serial ${old['apiserver.crt']}\\), expected [0-9A-F]+ from /etc/kubernetes/pki/apiserver\\.crt`));
    expect(run.stderr).to.match(/still serving the old cert/);
    // Rolled back byte for byte; etcd (really restarted twice) and the apiserver serve the old files again.
    expect(listing(cp2.root)).to.deep.equal(tree);
    expect(await servedSerials(rig, cp2)).to.deep.equal(old);
    expect(stats.failures, stats.errors.join('\n')).to.equal(0);
    const health = await rig.etcdctl(cp2, ['endpoint', 'health', '--cluster']);
    expect(health.exitCode, health.stderr).to.equal(0);
  });

  it("etcd re-reads its cert files on every TLS handshake: even when cp3's etcd is not really restarted, its ports serve the renewed files and the gate passes (no false alarm)", async () => {
    const cp3 = rig.nodes[2]!;
    const old = fileSerials(cp3);
    const run = await cli(['renew', '--all', '--force', '--yes', '--root', cp3.root, '--restart', 'crictl', '--timeout', '10s', '--json'], { ...cp3.fakes.env, FAKE_NO_RELOAD: 'etcd' }, 90_000);
    expect(run.exitCode, show(run)).to.equal(0);
    const files = fileSerials(cp3);
    expect(files['etcd/peer.crt']).to.not.equal(old['etcd/peer.crt']);
    expect(await servedSerials(rig, cp3)).to.deep.equal(files);
    const etcd = (JSON.parse(run.stdout) as Report).steps.find((step) => step.component === 'etcd')!;
    expect(etcd.health?.detail).to.include(`etcd peer 127.0.0.3:${rig.ports.peer} serves serial ${files['etcd/peer.crt']}`);
  });

  it('pre-flight: with cp3\'s etcd down, renewing cp1 would take etcd below quorum: exit 3, nothing changed, the operator told to bring cp3 back first', async () => {
    const [cp1, , cp3] = rig.nodes as [RigNode, RigNode, RigNode];
    const tree = listing(cp1.root);
    const restartsBefore = cp1.fakes.restarts().length;
    process.kill(Number(readFileSync(join(cp3.fakes.state, 'etcd.pid'), 'utf8')), 'SIGKILL');
    const run = await cli(['renew', '--all', '--force', '--yes', '--root', cp1.root, '--restart', 'static-pod', '--timeout', '10s'], cp1.fakes.env, 60_000);
    expect(run.exitCode, show(run)).to.equal(3);
    expect(run.stderr).to.match(/restarting etcd on cp1 now would leave 1 of 3 members healthy, below quorum \(2\): cp3 not healthy; nothing was changed/);
    expect(run.stderr).to.match(/bring the other members back first/);
    expect(listing(cp1.root)).to.deep.equal(tree);
    expect(cp1.fakes.restarts().slice(restartsBefore), 'nothing restarted').to.deep.equal([]);
  });
});
