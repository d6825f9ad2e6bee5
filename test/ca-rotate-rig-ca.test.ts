// The cluster CA (`ca`) rotated on the rig: trust, reissue, distrust on cp1, cp2, cp3 in turn with the
// real CLI and --restart static-pod. A client that follows cp1's admin.conf (its CA data and client cert,
// read afresh for every request, as kubectl would) goes round the three apiserver stand-ins and counts
// failures; the stand-ins (which verify client certs against --client-ca-file = pki/ca.crt, and answer 401
// to one that does not verify, as the real apiserver does) accept old- and new-signed client certs during
// the overlap and only new-signed ones after distrust.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCertificates } from '../lib/pki/certificate.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../lib/pki/keys.js';
import { classifyHosts } from '../lib/pki/san.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { mintClient, Rig, RigNode, startClusterRig } from './helpers/cluster-rig.js';
import { goCheck, opensslVerify, tempDir } from './helpers/env.js';
import { kubectl, writeKubeconfig } from './helpers/kube-api.js';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cli, show } from './helpers/renew.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
interface Credentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function get(node: RigNode, credentials: Credentials): Promise<number> {
  const url = new URL(node.apiUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: Number(url.port), path: '/api/v1/namespaces/default', ca: credentials.ca, cert: credentials.cert, key: credentials.key, servername: 'kubernetes', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The HTTP status, or the transport error's message (a refusal must be the apiserver's 401, not a TLS failure). */
const statusOf = (node: RigNode, credentials: Credentials) => get(node, credentials).catch((error: Error) => error.message);

/** What kubectl on cp1 would use right now: admin.conf's CA data and client cert. */
function adminConf(node: RigNode): Credentials {
  const doc = parse(readFileSync(join(node.root, 'etc/kubernetes/admin.conf'), 'utf8'));
  const data = (value: string) => Buffer.from(value, 'base64');
  return { ca: data(doc.clusters[0].cluster['certificate-authority-data']), cert: data(doc.users[0].user['client-certificate-data']), key: data(doc.users[0].user['client-key-data']) };
}

/** A client cert (CN rig-client, system:masters) signed by the CA pair in pki/ca.{crt,key} of a node now. */
const mintFrom = (node: RigNode, ca: Buffer): Promise<Credentials> => mintClient(node.pki, ca);

function adminLoop(rig: Rig) {
  const stats = { requests: 0, failures: 0, retried: 0, errors: [] as string[] };
  let running = true;
  const loop = (async () => {
    for (let turn = 0; running; turn++) {
      const node = rig.nodes[turn % rig.nodes.length]!;
      stats.requests++;
      try {
        const status = await get(node, adminConf(rig.nodes[0]!));
        if (status !== 200) throw new Error(`HTTP ${status}`);
      } catch (error) {
        // A stand-in being restarted refuses connections for a moment: the client tries the next one, as a
        // client behind a load balancer would; only a request that no apiserver serves counts as failed.
        stats.retried++;
        try {
          const status = await get(rig.nodes[(turn + 1) % rig.nodes.length]!, adminConf(rig.nodes[0]!));
          if (status !== 200) throw new Error(`HTTP ${status}`);
        } catch (second) {
          stats.failures++;
          if (stats.errors.length < 10) stats.errors.push(`${new Date().toISOString()} ${node.name}: ${(error as Error).message}; then ${(second as Error).message}`);
        }
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}

/** A webhook's serving pair for its Services' names, signed by the CA pair in a node's pki/ca.{crt,key} now. */
async function servingPairFrom(node: RigNode): Promise<{ cert: string; key: string }> {
  const issuer = { certificate: parseCertificates(readFileSync(join(node.pki, 'ca.crt')))[0]!, key: parsePrivateKey(readFileSync(join(node.pki, 'ca.key'))) };
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({
    template: { subject: { CN: 'ours.default.svc' }, sans: classifyHosts(['ours.default.svc', 'widgets.default.svc']), usages: parseUsages(['digital signature', 'server auth']), isCA: false, durationMs: 30 * 86_400_000 },
    subjectKey: key,
    issuer,
    now: new Date(Date.now() - 60_000),
  });
  return { cert: certificate.pem, key: exportPrivateKeyPem(key) };
}

const b64 = (pem: string | Buffer) => Buffer.from(pem).toString('base64');
const ders = (base64: string) => parseCertificates(Buffer.from(base64, 'base64')).map((certificate) => certificate.der.toString('base64'));

/** The in-cluster copies of the cluster CA an operator's cluster has: cluster-info, a webhook of ours and one of another CA, an APIService. */
/** The Services behind the webhook and the APIService, with Endpoints at the test's TLS server (as pod addresses are). */
const servicesAt = (port: number) =>
  ['ours', 'widgets'].flatMap((name) => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ name: 'https', port: 443, targetPort: 'https' }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port }] }] },
  ]);

function inClusterObjects(oldCaPem: string, otherCaPem: string, server: string): string {
  const kubeconfig = `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(oldCaPem)}\n    server: ${server}\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public' }, data: { kubeconfig, 'jws-kubeconfig-abcdef': 'eyJhbGciOiJIUzI1NiJ9..c2ln' } },
      { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'policy' }, webhooks: [
        { name: 'ours.example.com', clientConfig: { caBundle: b64(oldCaPem), service: { name: 'ours', namespace: 'default' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' },
        { name: 'theirs.example.com', clientConfig: { caBundle: b64(otherCaPem), service: { name: 'theirs', namespace: 'default' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' },
      ] },
      { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1.widgets.example.com' }, spec: { caBundle: b64(oldCaPem), group: 'widgets.example.com', version: 'v1', groupPriorityMinimum: 100, versionPriority: 10, service: { name: 'widgets', namespace: 'default' } } },
    ],
  });
}

describe('ca (cluster CA) rotation on the rig: the stand-ins take old- and new-signed client certs in the overlap, only new after distrust', function () {
  this.timeout(180_000);
  let rig: Rig;

  before(async () => {
    rig = await startClusterRig();
  });
  after(async () => {
    await rig?.stop();
  });

  it('trust, reissue, distrust on cp1..cp3: 0 failed requests for a client that follows admin.conf', async () => {
    const work = tempDir('rk-rotate-ca-');
    const share = join(work, 'new-ca');
    const oldCa = parseCertificates(readFileSync(join(rig.nodes[0]!.pki, 'ca.crt')))[0]!;
    const otherCa = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=another-ca', '-days', '30'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const seeder = writeKubeconfig(rig);
    // The webhook's and the APIService's server: serving a cert of the OLD cluster CA until the test re-issues it.
    const webhookServer: TlsServer = createTlsServer({ ...(await servingPairFrom(rig.nodes[0]!)) }, (socket) => socket.end());
    await new Promise<void>((resolve) => webhookServer.listen(0, '127.0.0.1', resolve));
    const webhookAt = `127.0.0.1:${(webhookServer.address() as AddressInfo).port}`;
    for (const object of [...JSON.parse(inClusterObjects(oldCa.pem, otherCa, rig.lbUrl)).items, ...servicesAt((webhookServer.address() as AddressInfo).port)]) {
      const seeded = await kubectl(seeder, ['create', '-f', '-'], JSON.stringify(object));
      expect(seeded.exitCode, seeded.stderr).to.equal(0);
    }
    // Reads as cp1's own kubectl would (its admin.conf), with a discovery cache outside the tree.
    const asCp1 = async (args: string[]) => {
      const result = await execa('kubectl', ['--kubeconfig', join(rig.nodes[0]!.root, 'etc/kubernetes/admin.conf'), ...args, '-o', 'json'], { env: { KUBECACHEDIR: join(work, 'kube-cache') }, reject: false });
      if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
      return JSON.parse(String(result.stdout));
    };
    const copies = async () => {
      const info = await asCp1(['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
      const policy = await asCp1(['get', 'validatingwebhookconfiguration', 'policy']);
      const service = await asCp1(['get', 'apiservice', 'v1.widgets.example.com']);
      return {
        versions: [info, policy, service].map((object) => object.metadata.resourceVersion).join(','),
        clusterInfo: ders(parse(info.data.kubeconfig).clusters[0].cluster['certificate-authority-data']),
        jws: info.data['jws-kubeconfig-abcdef'],
        ours: ders(policy.webhooks[0].clientConfig.caBundle),
        theirs: ders(policy.webhooks[1].clientConfig.caBundle),
        apiService: ders(service.spec.caBundle),
        clusterInfoPem: Buffer.from(parse(info.data.kubeconfig).clusters[0].cluster['certificate-authority-data'], 'base64'),
      };
    };
    const [oldDer] = ders(b64(oldCa.pem));
    const [otherDer] = ders(b64(otherCa));
    const inClusterOutput: string[] = [];
    const loop = adminLoop(rig);
    const timings: string[] = [];
    let oldClient: Credentials | undefined;
    let versionsAfterFirst = '';
    try {
      for (const phase of ['trust', 'reissue', 'distrust']) {
        for (const [index, node] of rig.nodes.entries()) {
          const exchange = phase === 'trust' && index === 0 ? ['--export-new', share] : ['--new-ca', share];
          const started = Date.now();
          const run = await cli(['ca', 'rotate', 'ca', '--phase', phase, ...exchange, '--yes', '--root', node.root, '--restart', 'static-pod', '--timeout', '30s'], node.fakes.env, 90_000);
          expect(run.exitCode, `${phase} on ${node.name}: ${show(run)}`).to.equal(0);
          timings.push(`${phase}@${node.name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
          inClusterOutput.push(`${phase}@${node.name}: ${/in-cluster copies: \S+ \((.*)\)$/m.exec(run.stdout + run.stderr)?.[1] ?? '?'}`);
          if (index === 0) {
            // The first control plane's run updated the cluster's copies (and read them back); the next ones find nothing to do.
            const now = await copies();
            const newDer = ders(b64(readFileSync(join(rig.nodes[0]!.pki, phase === 'trust' ? 'ca.new.crt' : 'ca.crt'))))[0]!;
            const expected = phase === 'distrust' ? [newDer] : [oldDer!, newDer];
            expect(now.clusterInfo, `cluster-info after ${phase}`).to.deep.equal(expected);
            // Their server still presents an old-CA cert at cp1's distrust: the old CA stays in their caBundles, said as a warning.
            expect(now.ours, `our webhook's caBundle after ${phase}`).to.deep.equal([oldDer!, newDer]);
            expect(now.apiService, `the APIService's caBundle after ${phase}`).to.deep.equal([oldDer!, newDer]);
            if (phase !== 'trust') {
              const said = run.stdout + run.stderr;
              expect(said, `${phase}: the webhook named: ${said.slice(-2500)}`).to.include(`ValidatingWebhookConfiguration policy webhooks[0] (ours.example.com).clientConfig.caBundle (service default/ours:443): its server at ${webhookAt} still presents a cert of the old CA`);
              expect(said, `${phase}: the APIService named`).to.include(`APIService v1.widgets.example.com spec.caBundle (service default/widgets:443): its server at ${webhookAt} still presents a cert of the old CA`);
              if (phase === 'distrust') expect(said).to.include('kept the old CA in ValidatingWebhookConfiguration policy');
            }
            expect(now.theirs, 'a webhook of another CA is left alone').to.deep.equal([otherDer]);
            expect(now.jws).to.equal('eyJhbGciOiJIUzI1NiJ9..c2ln');
            versionsAfterFirst = now.versions;
          }
          if (phase === 'distrust' && index === 0) {
            // The operator re-issues the webhook's serving cert from the new CA; cp2's run then finds its server on
            // the new CA and takes the old CA out of both caBundles.
            webhookServer.setSecureContext(await servingPairFrom(rig.nodes[0]!));
          }
          if (phase === 'distrust' && index === 1) {
            expect(inClusterOutput.at(-1), 'cp2 finishes the caBundles').to.match(/2 object\(s\) replaced and read back/);
            const now = await copies();
            expect(now.ours).to.deep.equal([now.clusterInfo[0]]);
            expect(now.apiService).to.deep.equal([now.clusterInfo[0]]);
            expect(now.theirs, 'a webhook of another CA is left alone').to.deep.equal([otherDer]);
            versionsAfterFirst = now.versions;
          } else if (index > 0) expect(inClusterOutput.at(-1)).to.match(/nothing to change/);
          if (index === 2) expect((await copies()).versions, `${phase}: cp3 changed no object`).to.equal(versionsAfterFirst);
        }
        if (phase === 'trust') {
          // apply.sh again: its objects carry the resourceVersion they were read at, so a change made since then
          // (someone's label; and the run's own replace) is a Conflict, never overwritten.
          const base = join(rig.nodes[0]!.root, 'var/lib/rescue-kit/ca-rotation');
          const dir = join(base, readdirSync(base).find((name) => name.startsWith('in-cluster-trust-'))!);
          const admin = join(rig.nodes[0]!.root, 'etc/kubernetes/admin.conf');
          expect((await execa('kubectl', ['--kubeconfig', admin, 'label', 'validatingwebhookconfiguration', 'policy', 'owner=someone'], { reject: false })).exitCode).to.equal(0);
          const again = await execa('sh', [join(dir, 'apply.sh')], { env: { KUBECONFIG: admin, KUBECACHEDIR: join(work, 'kube-cache') }, reject: false });
          expect(again.exitCode).to.not.equal(0);
          expect(String(again.stderr)).to.match(/Conflict|the object has been modified/);
          expect((await asCp1(['get', 'validatingwebhookconfiguration', 'policy'])).metadata.labels).to.deep.equal({ owner: 'someone' });
          versionsAfterFirst = (await copies()).versions;
        }
        if (phase === 'trust') oldClient = { ...rig.client, ca: readFileSync(join(rig.nodes[0]!.pki, 'ca.crt')) };
        if (phase === 'reissue') {
          const bundle = readFileSync(join(rig.nodes[0]!.pki, 'ca.crt'));
          const newClient = await mintFrom(rig.nodes[0]!, bundle);
          for (const node of rig.nodes) {
            expect(await statusOf(node, { ...oldClient!, ca: bundle }), `${node.name} accepts the old-signed client cert in the overlap`).to.equal(200);
            expect(await statusOf(node, newClient), `${node.name} accepts a new-signed client cert`).to.equal(200);
          }
        }
      }
    } finally {
      webhookServer.close();
      const stats = await loop.stop();
      console.log(`      ca rotation: ${timings.join(', ')}; admin.conf client ${stats.requests} requests ${stats.failures} failed (${stats.retried} retried on the next apiserver); in-cluster: ${inClusterOutput.join('; ')}`);
      expect(stats.failures, stats.errors.join('\n')).to.equal(0);
    }
    const finalCa = readFileSync(join(rig.nodes[0]!.pki, 'ca.crt'));
    expect(parseCertificates(finalCa)).to.have.length(1);
    // What a joining node learns from cluster-info verifies every apiserver's (new-signed) serving cert.
    const joinerCa = (await copies()).clusterInfoPem;
    for (const node of rig.nodes) expect(await statusOf(node, { ...(await mintFrom(rig.nodes[0]!, finalCa)), ca: joinerCa }), `cluster-info's CA verifies ${node.name}`).to.equal(200);
    const newClient = await mintFrom(rig.nodes[0]!, finalCa);
    for (const node of rig.nodes) {
      expect(readFileSync(join(node.pki, 'ca.crt')).equals(finalCa), node.name).to.equal(true);
      expect(await statusOf(node, { ...oldClient!, ca: finalCa }), `${node.name} refuses the old-signed client cert: 401 Unauthorized`).to.equal(401);
      expect(await statusOf(node, newClient), `${node.name} accepts a new-signed client cert`).to.equal(200);
      for (const leaf of ['apiserver.crt', 'apiserver-kubelet-client.crt']) {
        const [ok, output] = await opensslVerify(join(node.pki, 'ca.crt'), join(node.pki, leaf));
        expect(ok, `${node.name} ${leaf}: ${output}`).to.equal(true);
        expect((await goCheck(['-roots', join(node.pki, 'ca.crt'), '-leaf', join(node.pki, leaf)])).ok, `${node.name} ${leaf} (Go)`).to.equal(true);
      }
      const admin = join(work, `${node.name}-admin.crt`);
      writeFileSync(admin, adminConf(node).cert);
      expect((await opensslVerify(join(node.pki, 'ca.crt'), admin))[0], `${node.name} admin.conf`).to.equal(true);
      expect(adminConf(node).ca.toString()).to.not.include(oldCa.pem.split('\n')[1]);
    }
  });
});
