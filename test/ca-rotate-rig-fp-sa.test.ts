// front-proxy-ca and sa rotated on the rig (test/helpers/cluster-rig.ts: real 3-member etcd, apiserver
// stand-ins behind a real haproxy): trust, reissue, distrust on cp1, cp2, cp3 in turn with the real CLI
// and --restart static-pod while a client loop runs through haproxy.
//  front-proxy-ca: the loop asks for an aggregated API (metrics.k8s.io); each stand-in proxies it to the
//    extension-apiserver stand-in presenting front-proxy-client.crt, which the extension server verifies
//    against the extension-apiserver-authentication ConfigMap the stand-ins publish (a union, as the real
//    one: the old CA stays there after distrust until the ConfigMap is re-created).
//  sa: the loop presents only a service-account token signed by a node's sa.key as it is now (pods get
//    refreshed tokens); the stand-ins verify it against every key of --service-account-key-file.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parseCertificates } from '../lib/pki/certificate.js';
import { AGGREGATED_PATH, Rig, RigNode, startClusterRig } from './helpers/cluster-rig.js';
import { goCheck, opensslVerify, tempDir } from './helpers/env.js';
import { kubeconfigEnv, kubectl, kubectlJson, writeKubeconfig } from './helpers/kube-api.js';
import { cli, Run, show } from './helpers/renew.js';
import { mintServiceAccountToken } from './helpers/service-account-token.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PHASES = ['trust', 'reissue', 'distrust'] as const;
type Phase = (typeof PHASES)[number];
/** The CLI run under way (named in the loops' failures, so a failure says which restart it met). */
let running = 'none';

/** Each phase on cp1, cp2, cp3 in turn (cp1's trust exports the new material, the others take it); `after` runs once a phase is done everywhere. */
async function rotateEverywhere(rig: Rig, authority: string, after: (phase: Phase, runs: Run[], share: string) => Promise<void>): Promise<string[]> {
  const share = join(tempDir(`rk-rotate-${authority}-`), 'new-ca');
  const timings: string[] = [];
  for (const phase of PHASES) {
    const runs: Run[] = [];
    for (const [index, node] of rig.nodes.entries()) {
      const exchange = phase === 'trust' && index === 0 ? ['--export-new', share] : ['--new-ca', share];
      const started = Date.now();
      running = `${phase}@${node.name}`;
      // The token loop re-reads sa.key every request (as pods get refreshed tokens): no 24 h wait needed here.
      const grace = authority === 'sa' && phase === 'distrust' ? ['--token-grace', '0'] : [];
      const run = await cli(['ca', 'rotate', authority, '--phase', phase, ...exchange, ...grace, '--yes', '--root', node.root, '--restart', 'static-pod', '--timeout', '30s'], node.fakes.env, 90_000);
      expect(run.exitCode, `${phase} on ${node.name}: ${show(run)}`).to.equal(0);
      timings.push(`${phase}@${node.name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
      runs.push(run);
      running = 'none';
    }
    await after(phase, runs, share);
  }
  return timings;
}

/** GET through haproxy in a loop until stop(); a request fails unless it answers 200 and `ok(body)`. */
function requestLoop(rig: Rig, path: string, auth: () => Parameters<Rig['fetch']>[1], ok: (body: string) => boolean) {
  const stats = { requests: 0, failures: 0, errors: [] as string[] };
  let looping = true;
  const loop = (async () => {
    while (looping) {
      stats.requests++;
      const started = Date.now();
      try {
        const { status, body } = await rig.fetch(path, auth());
        if (status !== 200 || !ok(body)) throw new Error(`HTTP ${status} ${body.slice(0, 200)}`);
      } catch (error) {
        stats.failures++;
        if (stats.errors.length < 10) stats.errors.push(`${new Date().toISOString()} during ${running}, after ${Date.now() - started} ms: ${(error as Error).message}`);
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      looping = false;
      await loop;
      return stats;
    },
  };
}

interface Pair {
  cert: Buffer;
  key: Buffer;
}
const pairOf = (node: RigNode, base: string): Pair => ({ cert: readFileSync(join(node.pki, `${base}.crt`)), key: readFileSync(join(node.pki, `${base}.key`)) });

/** What the extension server answers a front proxy presenting this pair (as the stand-ins do: username header set). */
function extensionStatus(rig: Rig, proxy: Pair): Promise<number> {
  const url = new URL(rig.extension!.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: Number(url.port), path: AGGREGATED_PATH, headers: { 'X-Remote-User': 'probe' }, ca: rig.extension!.servingCa, servername: 'metrics-server.kube-system.svc', cert: proxy.cert, key: proxy.key, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const certificatesIn = (pem: string) => parseCertificates(pem).map((certificate) => certificate.der.toString('base64'));

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch((error: Error) => error as unknown as T);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${String(value)} after ${ms} ms`);
    await sleep(100);
  }
}

describe('front-proxy-ca rotation on the rig: aggregated requests through trust, reissue, distrust; the old front-proxy CA refused at the end', function () {
  this.timeout(150_000);
  let rig: Rig;

  before(async () => {
    rig = await startClusterRig({ aggregation: true });
  });
  after(async () => {
    await rig?.stop();
  });

  it('three phases x three nodes: 0 failed aggregated requests; old- and new-signed front-proxy clients accepted in the overlap; after distrust and the ConfigMap re-created, only the new', async () => {
    const cp1 = rig.nodes[0]!;
    const oldCa = parseCertificates(readFileSync(join(cp1.pki, 'front-proxy-ca.crt')))[0]!;
    const oldProxy = pairOf(cp1, 'front-proxy-client');
    expect(await extensionStatus(rig, oldProxy), 'the extension server takes the front proxy at the start').to.equal(200);
    // Served by the extension server, for the user the stand-in authenticated: the request went through the aggregation layer.
    const loop = requestLoop(rig, AGGREGATED_PATH, () => rig.client, (body) => JSON.parse(body).servedFor?.user === 'rig-client');
    let timings: string[] = [];
    let distrustRuns: Run[] = [];
    try {
      timings = await rotateEverywhere(rig, 'front-proxy-ca', async (phase, runs) => {
        if (phase === 'reissue') {
          const newProxy = pairOf(cp1, 'front-proxy-client');
          expect(newProxy.cert.equals(oldProxy.cert), 'front-proxy-client.crt was re-signed').to.equal(false);
          expect(await extensionStatus(rig, oldProxy), 'the old-signed front proxy in the overlap').to.equal(200);
          expect(await extensionStatus(rig, newProxy), 'the new-signed front proxy in the overlap').to.equal(200);
        }
        if (phase === 'distrust') distrustRuns = runs;
      });
      const finalCa = readFileSync(join(cp1.pki, 'front-proxy-ca.crt'));
      expect(parseCertificates(finalCa)).to.have.length(1);
      expect(parseCertificates(finalCa)[0]!.spkiDer.equals(oldCa.spkiDer), 'a new key').to.equal(false);
      for (const node of rig.nodes) {
        expect(readFileSync(join(node.pki, 'front-proxy-ca.crt')).equals(finalCa), `${node.name} has the same final CA`).to.equal(true);
        const [ok, output] = await opensslVerify(join(node.pki, 'front-proxy-ca.crt'), join(node.pki, 'front-proxy-client.crt'));
        expect(ok, `${node.name} front-proxy-client: ${output}`).to.equal(true);
        expect((await goCheck(['-roots', join(node.pki, 'front-proxy-ca.crt'), '-leaf', join(node.pki, 'front-proxy-client.crt')])).ok, `${node.name} front-proxy-client (Go)`).to.equal(true);
      }
      // As on a real cluster: the apiservers only ever ADD to the ConfigMap, so the old CA is still trusted there, and distrust says so.
      const configMap = () => JSON.parse(readFileSync(rig.extension!.configMapFile, 'utf8')).data['requestheader-client-ca-file'] as string;
      expect(certificatesIn(configMap())).to.include(oldCa.der.toString('base64'));
      expect(await extensionStatus(rig, oldProxy), 'the old CA lingers in the ConfigMap until it is re-created').to.equal(200);
      for (const run of distrustRuns) expect(run.stdout + run.stderr).to.include('kubectl -n kube-system delete configmap extension-apiserver-authentication');
      // What the warning says to do; the apiservers re-create it from their --requestheader-client-ca-file, now the new CA alone.
      rmSync(rig.extension!.configMapFile);
      await until('the ConfigMap re-created', async () => existsSync(rig.extension!.configMapFile), Boolean);
      expect(certificatesIn(configMap())).to.deep.equal(certificatesIn(finalCa.toString()));
      await until('the extension server refusing the old-signed front proxy', () => extensionStatus(rig, oldProxy), (status) => status === 401);
      expect(await extensionStatus(rig, pairOf(cp1, 'front-proxy-client')), 'the new-signed front proxy').to.equal(200);
      await sleep(500); // the loop keeps going across the re-created ConfigMap
    } finally {
      const stats = await loop.stop();
      console.log(`      front-proxy-ca rotation: ${timings.join(', ')}; aggregated ${AGGREGATED_PATH} through haproxy: ${stats.requests} requests ${stats.failures} failed`);
      expect(stats.failures, stats.errors.join('\n')).to.equal(0);
    }
  });
});

describe('sa rotation on the rig: service-account tokens through trust, reissue, distrust; old-key tokens refused (401) at the end', function () {
  this.timeout(150_000);
  let rig: Rig;

  before(async () => {
    rig = await startClusterRig();
  });
  after(async () => {
    await rig?.stop();
  });

  it('three phases x three nodes: 0 failed requests with tokens of the current sa.key; old-key token accepted until distrust, new-key token from trust on', async () => {
    const cp1 = rig.nodes[0]!;
    const oldKey = readFileSync(join(cp1.pki, 'sa.key'));
    const oldToken = mintServiceAccountToken(oldKey);
    const status = async (node: RigNode, token: string) => (await rig.fetch('/api/v1/namespaces/default', { token }, node.apiUrl)).status;
    // No client cert, only a token: signed by each node's sa.key in turn, re-read every time (the apiserver that serves a TokenRequest signs it).
    // A 200 is the token's doing: without credentials the stand-in answers 403 (anonymous), with a token it cannot verify 401.
    let turn = 0;
    const loop = requestLoop(rig, '/api/v1/namespaces/default', () => ({ token: mintServiceAccountToken(readFileSync(join(rig.nodes[turn++ % rig.nodes.length]!.pki, 'sa.key'))) }), () => true);
    expect((await rig.fetch('/api/v1/namespaces/default', {})).status, 'no credentials: anonymous, forbidden').to.equal(403);
    // A legacy token Secret (what every pod used before 1.22), its token signed by the old key, in the rig's API.
    const admin = writeKubeconfig(rig);
    const legacySecret = (token: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { namespace: 'default', name: 'builder-token-legacy', annotations: { 'kubernetes.io/service-account.name': 'builder' } }, data: { token: Buffer.from(token).toString('base64') } });
    const created = await kubectl(admin, ['create', '-f', '-'], legacySecret(oldToken));
    expect(created.exitCode, created.stderr).to.equal(0);
    let timings: string[] = [];
    try {
      timings = await rotateEverywhere(rig, 'sa', async (phase, _runs, share) => {
        if (phase === 'reissue') {
          // Distrust reads the token Secrets live through cp1's admin.conf: refused, naming the Secret and the line to run.
          const refused = await cli(['ca', 'rotate', 'sa', '--phase', 'distrust', '--new-ca', share, '--token-grace', '0', '--yes', '--root', cp1.root, '--restart', 'static-pod'], cp1.fakes.env, 60_000);
          expect(refused.exitCode, show(refused)).to.equal(3);
          expect(refused.stderr).to.include('1 legacy token Secret(s) in the live cluster, signed by the old key only: default/builder-token-legacy');
          const line = /kubectl -n default patch secret builder-token-legacy .*'$/m.exec(refused.stderr)?.[0];
          expect(line, refused.stderr).to.be.a('string');
          // The printed line, run as printed; then what kube-controller-manager's token controller does with a
          // Secret whose token is gone: a token signed with the key it signs with now (sa.key after reissue).
          const patched = await execa('sh', ['-c', line!], { env: { ...process.env, ...kubeconfigEnv(admin) }, reject: false });
          expect(patched.exitCode, String(patched.stderr)).to.equal(0);
          expect((await kubectlJson(admin, ['-n', 'default', 'get', 'secret', 'builder-token-legacy'])).data?.token, 'the token removed').to.equal(undefined);
          const resigned = await kubectl(admin, ['replace', '-f', '-'], legacySecret(mintServiceAccountToken(readFileSync(join(cp1.pki, 'sa.key')))));
          expect(resigned.exitCode, resigned.stderr).to.equal(0);
        }
        const newKey = readFileSync(join(cp1.pki, phase === 'trust' ? 'sa.new.key' : 'sa.key'));
        expect(newKey.equals(oldKey), 'a new key').to.equal(false);
        const newToken = mintServiceAccountToken(newKey);
        for (const node of rig.nodes) {
          expect(readFileSync(join(node.pki, 'sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g), `${node.name} sa.pub after ${phase}`).to.have.length(phase === 'distrust' ? 1 : 2);
          expect(await status(node, newToken), `${node.name} after ${phase}: a new-key token`).to.equal(200);
          expect(await status(node, oldToken), `${node.name} after ${phase}: an old-key token`).to.equal(phase === 'distrust' ? 401 : 200);
        }
      });
    } finally {
      const stats = await loop.stop();
      console.log(`      sa rotation: ${timings.join(', ')}; token-only client through haproxy: ${stats.requests} requests ${stats.failures} failed`);
      expect(stats.failures, stats.errors.join('\n')).to.equal(0);
    }
    for (const node of rig.nodes) expect(readFileSync(join(node.pki, 'sa.key')).equals(readFileSync(join(cp1.pki, 'sa.key'))), `${node.name} signs with the same new key`).to.equal(true);
  });
});
