// Every peer cert of the 3-member etcd expired at once (seed 004's outage): the
// members run but cannot talk, there is no quorum, no apiserver is live. The
// first renewed member cannot reach quorum until a second one is renewed; its
// gate must accept "serves the new certs, the peers answer with expired ones"
// and say to go on, not roll it back. The second node's gate then needs quorum,
// the third's the whole cluster. A member that does not answer at all is not
// excused: that node is rolled back, nothing else changed.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { servedCertificate } from '../lib/ops/renewal/served-cert.js';
import { etcdMembers, Rig, RigNode, serialOf, startClusterRig } from './helpers/cluster-rig.js';
import { cli, listing, show } from './helpers/renew.js';

interface Report {
  ok: boolean;
  rolledBack: boolean;
  steps: { component: string; health?: { ok: boolean; detail: string; pending?: string } }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const listens = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, host, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

/** An all-expired rig, once every etcd listens on its peer port (they run; they just cannot talk). */
async function expiredRig(): Promise<Rig> {
  const rig = await startClusterRig({ expiredDaysAgo: 20, waitHealthy: false });
  const deadline = Date.now() + 20_000;
  while (!(await Promise.all(rig.nodes.map((node) => listens(node.address, rig.ports.peer)))).every(Boolean)) {
    if (Date.now() > deadline) throw new Error('the etcd members did not listen');
    await sleep(100);
  }
  return rig;
}

// --no-etcd-backup: the backup's wait on an etcd without quorum (its own tests cover it) is not what is tested here.
const renew = (node: RigNode, timeout = '20s') => cli(['renew', '--all', '--yes', '--no-etcd-backup', '--root', node.root, '--restart', 'static-pod', '--timeout', timeout, '--json'], node.fakes.env, 90_000);
const step = (report: Report, component: string) => report.steps.find((entry) => entry.component === component)!;

describe('all etcd peer certs expired at once: cp1 passes as "first member, waiting for quorum", cp2 brings quorum, cp3 the whole cluster', function () {
  this.timeout(150_000);
  let rig: Rig;

  before(async () => {
    rig = await expiredRig();
    const health = await rig.etcdctl(rig.nodes[0]!, ['--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'health']);
    expect(health.exitCode, 'no etcd answers with the expired certs').to.not.equal(0);
    await rig.get().then(
      (status) => expect(status, 'haproxy has no live apiserver').to.not.equal(200),
      () => undefined,
    );
  });

  after(async () => {
    await rig?.stop();
  });

  it('cp1: exit 0, etcd serves the new certs, the gate says it waits for 2 of 3 renewed members and names cp2, cp3; the apiserver serves its new cert, /livez waits for quorum', async () => {
    const cp1 = rig.nodes[0]!;
    const run = await renew(cp1);
    expect(run.exitCode, show(run)).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    const etcd = step(report, 'etcd');
    expect(etcd.health?.detail).to.match(/no quorum yet \(cp1 unhealthy, cp2 expired, cp3 expired\)/);
    expect(etcd.health?.pending).to.match(new RegExp(`etcd cannot have quorum until 2 of 3 members hold renewed peer certs \\(1 do now\\): go on and renew cp2 \\(https://127\\.0\\.0\\.2:${rig.ports.peer}\\), cp3`));
    expect(step(report, 'kube-apiserver').health?.pending).to.match(/kube-apiserver becomes live when etcd has quorum/);
    expect(run.stderr).to.match(/etcd: passed, not whole yet: etcd cannot have quorum/);
    expect(run.stderr).to.match(/etcd +ok \(.*\) static pod etcd restarted +ok, PENDING etcd peer 127\.0\.0\.1:\d+ serves serial/);
    expect(run.stderr).to.match(/not whole yet: kube-apiserver: kube-apiserver becomes live when etcd has quorum/);
    const peer = await servedCertificate(cp1.address, rig.ports.peer, { client: { cert: readFileSync(join(cp1.pki, 'etcd/healthcheck-client.crt')), key: readFileSync(join(cp1.pki, 'etcd/healthcheck-client.key')) } });
    expect(peer.serialHex).to.equal(serialOf(join(cp1.pki, 'etcd/peer.crt')));
    expect(peer.notAfter.getTime()).to.be.above(Date.now());
  });

  it('cp2: exit 0 with quorum 2/3; the gate names cp3 as the one still expired; the cluster answers through haproxy', async () => {
    const run = await renew(rig.nodes[1]!);
    expect(run.exitCode, show(run)).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(step(report, 'etcd').health?.detail).to.match(/quorum 2\/3/);
    expect(step(report, 'etcd').health?.pending).to.match(new RegExp(`1 member\\(s\\) still present expired peer certs: renew cp3 \\(https://127\\.0\\.0\\.3:${rig.ports.peer}\\) next`));
    expect(step(report, 'kube-apiserver').health?.detail).to.match(/\/livez: 200/);
    expect(step(report, 'kube-apiserver').health?.pending).to.equal(undefined);
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = await rig.get().catch(() => 0);
      if (status !== 200) await sleep(200);
    }
    expect(status, 'a request through haproxy reaches a live apiserver and etcd').to.equal(200);
  });

  it('cp3: exit 0 with the whole cluster: every member healthy, nothing pending', async () => {
    const run = await renew(rig.nodes[2]!);
    expect(run.exitCode, show(run)).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(step(report, 'etcd').health?.detail).to.include('quorum 3/3, every member healthy');
    expect(step(report, 'etcd').health?.pending).to.equal(undefined);
    const health = await rig.etcdctl(rig.nodes[0]!, ['endpoint', 'health', '--cluster']);
    expect(health.exitCode, health.stderr).to.equal(0);
    expect(await etcdMembers(rig, rig.nodes[1]!)).to.deep.equal(['cp1', 'cp2', 'cp3']);
  });
});

describe('all peer certs expired and one member DOWN: the first node is not excused, it is rolled back', function () {
  this.timeout(120_000);
  let rig: Rig;

  before(async () => {
    rig = await expiredRig();
  });

  after(async () => {
    await rig?.stop();
  });

  it('cp3 etcd stopped: cp1 renew exits 6, the gate names cp3 "down", cp1 byte for byte as before', async () => {
    const [cp1, , cp3] = rig.nodes as [RigNode, RigNode, RigNode];
    process.kill(Number(readFileSync(join(cp3.fakes.state, 'etcd.pid'), 'utf8')), 'SIGKILL');
    while (await listens(cp3.address, rig.ports.peer)) await sleep(50);
    const tree = listing(cp1.root);
    const run = await renew(cp1, '4s');
    expect(run.exitCode, show(run)).to.equal(6);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.rolledBack).to.equal(true);
    expect(step(report, 'etcd').health?.detail).to.match(/etcd cluster not healthy: cp3 down \(peer port does not answer/);
    expect(listing(cp1.root)).to.deep.equal(tree);
  });

  it('a first node whose manifest lists only itself (kubeadm init): the first-member state cannot be proven; exit 6 says to start from the node that lists every member', async () => {
    const cp1 = rig.nodes[0]!;
    const manifest = join(cp1.root, 'etc/kubernetes/manifests/etcd.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/--initial-cluster=\S+/, `--initial-cluster=cp1=${cp1.peerUrl}`));
    const tree = listing(cp1.root);
    const run = await renew(cp1, '3s');
    expect(run.exitCode, show(run)).to.equal(6);
    expect(step(JSON.parse(run.stdout) as Report, 'etcd').health?.detail).to.match(/etcd serves no clients yet and no other member is known .*renew first the node whose --initial-cluster lists every member/);
    expect(listing(cp1.root)).to.deep.equal(tree);
  });
});
