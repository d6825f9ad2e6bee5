// The cluster rig: three kubeadm control-plane trees (cp1..cp3 on 127.0.0.1..3)
// sharing CAs and the service-account key, each with its own leaves; a REAL
// 3-member etcd (Debian etcd-server, peer + client TLS, client-cert auth on
// both) and three apiserver stand-ins (test/fakes/apiserver-standin.mjs: real
// TLS servers that need etcd), every process started from the flags of the
// node's own static pod manifests, behind the fake systemctl/crictl of that
// node; and a REAL haproxy in TCP mode with TLS health checks in front of the
// three apiservers. The client cert the tests use is minted fresh from the
// shared CA, so it stays valid whatever the rescue does to admin.conf. With `aggregation`, an
// extension-apiserver stand-in (test/fakes/extension-apiserver.mjs) serves metrics.k8s.io behind the
// stand-ins' aggregation layer, trusting what they publish in the extension-apiserver-authentication
// ConfigMap model (test/fakes/standin-aggregator.mjs).
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeTree } from '../../lib/host/tree.js';
import { createHost } from '../../lib/host/host.js';
import { readManifests } from '../../lib/ops/inventory/manifests.js';
import { buildSandboxCluster } from '../../lib/ops/sandbox/sandbox.js';
import { parseCertificate } from '../../lib/pki/certificate.js';
import { parseUsages } from '../../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../../lib/pki/keys.js';
import { emptySans } from '../../lib/pki/san.js';
import { issueCertificate } from '../../lib/pki/sign.js';
import { repoRoot, tempDir } from './env.js';
import { etcdctlAt } from './etcd.js';
import { Fakes, writeFakes } from './renew.js';
import { SERVICE_ACCOUNT_ISSUER } from './service-account-token.js';

export const NODES = [
  { nodeName: 'cp1', advertiseAddress: '127.0.0.1' },
  { nodeName: 'cp2', advertiseAddress: '127.0.0.2' },
  { nodeName: 'cp3', advertiseAddress: '127.0.0.3' },
] as const;

export const STANDIN = join(repoRoot, 'test', 'fakes', 'apiserver-standin.mjs');
export const EXTENSION_APISERVER = join(repoRoot, 'test', 'fakes', 'extension-apiserver.mjs');
/** The aggregated group the extension server serves, and a path in it. */
export const AGGREGATED_PATH = '/apis/metrics.k8s.io/v1beta1/nodes';
const EXTENSION_SERVER_NAME = 'metrics-server.kube-system.svc';

export interface RigNode {
  name: string;
  address: string;
  root: string;
  pki: string;
  fakes: Fakes;
  clientUrl: string;
  peerUrl: string;
  apiUrl: string;
}

export interface ClientStats {
  requests: number;
  failures: number;
  errors: string[];
  elapsedMs: number;
}

/** How a request authenticates: a client cert pair, a bearer token, both, or nothing (anonymous). */
export interface RequestAuth {
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export interface Rig {
  nodes: RigNode[];
  ports: { client: number; peer: number; api: number; lb: number };
  lbUrl: string;
  /** A fresh client cert (CN rig-client, system:masters) from the shared CA, and that CA. */
  client: { cert: Buffer; key: Buffer; ca: Buffer };
  /** One GET through haproxy with the fresh client cert; resolves to the status, rejects on a transport error. */
  get(path?: string): Promise<number>;
  /** GET in a loop until stop(); counts every request and every failure (non-200 or transport error). */
  clientLoop(): { stop(): Promise<ClientStats> };
  /** One GET to `url` (default: haproxy) trusting the cluster CA bundle of cp1 now; resolves to status and body, rejects on a transport error. */
  fetch(path: string, auth: RequestAuth, url?: string): Promise<{ status: number; body: string }>;
  /** With `aggregation`: the extension server, the CA of its serving cert (the APIService caBundle) and the ConfigMap model. */
  extension?: { url: string; servingCa: Buffer; configMapFile: string; log(): string };
  /** etcdctl against one node's client URL with that node's healthcheck-client pair. */
  etcdctl(node: RigNode, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  haproxyLog(): string;
  /** haproxy's server state changes as they were printed, with the time they arrived (Date.now()). */
  haproxyEvents(): { at: number; server: string; state: 'UP' | 'DOWN' }[];
  stop(): Promise<void>;
}

/** Can this port be bound on every rig address right now? */
async function freeOnAll(port: number): Promise<boolean> {
  for (const { advertiseAddress } of NODES) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, advertiseAddress, () => resolve(true));
    });
    if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
    else return false;
  }
  return true;
}

/** Distinct high ports, free on 127.0.0.1..3 (2379/2380/6443 are often taken on a shared machine). */
async function rigPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 12_000); // below the ephemeral range (32768+)
    if (!ports.includes(port) && (await freeOnAll(port))) ports.push(port);
  }
  return ports;
}

/** Set (or add) `--name=value` in a static pod manifest's command list, keeping kubeadm's layout. */
function setFlag(text: string, name: string, value: string): string {
  const line = new RegExp(`^(\\s*- --${name})=.*$`, 'm');
  if (line.test(text)) return text.replace(line, `$1=${value}`);
  return text.replace(/^(\s*- )(etcd|kube-apiserver)$/m, `$1$2\n$1--${name}=${value}`);
}

function editManifest(root: string, file: string, flags: Record<string, string>): void {
  const path = join(root, 'etc/kubernetes/manifests', file);
  let text = readFileSync(path, 'utf8');
  for (const [name, value] of Object.entries(flags)) text = setFlag(text, name, value);
  writeFileSync(path, text);
}

/** The command line a component's manifest describes, with host paths under the node's root. */
function commandFromManifest(root: string, component: 'etcd' | 'kube-apiserver', program: string): string {
  const manifest = readManifests(createHost({ root })).components.find((entry) => entry.component === component)!;
  const args = [...manifest.flags].map(([name, value]) => `--${name}=${/^\/(etc|var)\//.test(value) ? join(root, value) : value}`);
  return [program, ...args].join(' ');
}

/** A client cert (CN rig-client, system:masters) from the CA pair now in PKI/ca.{crt,key}; `ca` is what the client trusts (default: ca.crt). */
export async function mintClient(pki: string, trust?: Buffer) {
  const issuer = { certificate: parseCertificate(readFileSync(join(pki, 'ca.crt'))), key: parsePrivateKey(readFileSync(join(pki, 'ca.key'))) };
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({
    template: { subject: { CN: 'rig-client', O: ['system:masters'] }, sans: emptySans(), usages: parseUsages(['signing', 'client auth']), isCA: false, durationMs: 86_400_000 },
    subjectKey: key,
    issuer,
    now: new Date(Date.now() - 60_000),
  });
  return { cert: Buffer.from(certificate.pem), key: Buffer.from(exportPrivateKeyPem(key)), ca: trust ?? readFileSync(join(pki, 'ca.crt')) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RigOptions {
  /** Days since the leaves expired; negative: they expire in that many days (default -10: valid, due). */
  expiredDaysAgo?: number;
  /** Wait until etcd has quorum and haproxy answers (default: true; false for an all-expired cluster). */
  waitHealthy?: boolean;
  /** Run an extension apiserver behind the stand-ins' aggregation layer (default: false). */
  aggregation?: boolean;
}

/** A self-signed CA and a serving cert for the extension server (its APIService caBundle), in DIR. */
async function extensionServing(dir: string) {
  const caKey = await generateKey({ algo: 'ecdsa', size: 256 });
  const now = new Date(Date.now() - 60_000);
  const ca = issueCertificate({ template: { subject: { CN: 'metrics-server-ca' }, sans: emptySans(), usages: parseUsages(['cert sign', 'crl sign']), isCA: true, durationMs: 86_400_000 }, subjectKey: caKey, now }).certificate;
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const serving = issueCertificate({
    template: { subject: { CN: EXTENSION_SERVER_NAME }, sans: { ...emptySans(), dns: [EXTENSION_SERVER_NAME] }, usages: parseUsages(['signing', 'key encipherment', 'server auth']), isCA: false, durationMs: 86_400_000 },
    subjectKey: key,
    issuer: { certificate: ca, key: caKey },
    now,
  }).certificate;
  const files = { ca: join(dir, 'metrics-server-ca.crt'), cert: join(dir, 'metrics-server.crt'), key: join(dir, 'metrics-server.key') };
  writeFileSync(files.ca, ca.pem);
  writeFileSync(files.cert, serving.pem);
  writeFileSync(files.key, exportPrivateKeyPem(key), { mode: 0o600 });
  return files;
}

export async function startClusterRig(options: RigOptions = {}): Promise<Rig> {
  const [client, peer, api, lb, extensionPort] = await rigPorts(5);
  const work = tempDir('rk-rig-');
  const configMapFile = join(work, 'extension-apiserver-authentication.json');
  const apiServicesFile = join(work, 'apiservices.json');
  const serving = options.aggregation ? await extensionServing(work) : undefined;
  const extensionUrl = `https://127.0.0.1:${extensionPort}`;
  if (serving) writeFileSync(apiServicesFile, JSON.stringify({ apiServices: [{ group: 'metrics.k8s.io', url: extensionUrl, serverName: EXTENSION_SERVER_NAME, caBundleFile: serving.ca }] }));
  // Stand-in-only flags (what the real apiserver keeps in etcd: the APIServices and the ConfigMap).
  const aggregationFlags = serving ? ` --aggregated-apis-file=${apiServicesFile} --authentication-configmap-file=${configMapFile}` : '';
  const trees = await buildSandboxCluster({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: options.expiredDaysAgo ?? -10 }, [...NODES]);
  const url = (address: string, port: number) => `https://${address}:${port}`;
  const initialCluster = NODES.map((node) => `${node.nodeName}=${url(node.advertiseAddress, peer!)}`).join(',');
  const nodes: RigNode[] = [];
  for (const [index, facts] of NODES.entries()) {
    const root = tempDir(`rk-${facts.nodeName}-`);
    writeTree(root, trees[index]!);
    const ip = facts.advertiseAddress;
    editManifest(root, 'etcd.yaml', {
      'advertise-client-urls': url(ip, client!),
      'listen-client-urls': url(ip, client!),
      'listen-peer-urls': url(ip, peer!),
      'initial-advertise-peer-urls': url(ip, peer!),
      'initial-cluster': initialCluster,
      'initial-cluster-state': 'new',
      'initial-cluster-token': 'rk-rig',
    });
    // Its own etcd first, then the others: the stand-in (like the apiserver's etcd client) fails over.
    const etcdServers = [ip, ...NODES.map((node) => node.advertiseAddress).filter((other) => other !== ip)].map((address) => url(address, client!)).join(',');
    // kubeadm (1.20+) sets the issuer; the stand-in then checks a token's iss and aud as the real one does.
    editManifest(root, 'kube-apiserver.yaml', { 'bind-address': ip, 'secure-port': String(api), 'etcd-servers': etcdServers, 'service-account-issuer': SERVICE_ACCOUNT_ISSUER });
    // The node's kubeconfigs reach its own apiserver (kubeadm's default without a controlPlaneEndpoint), on the rig's port.
    for (const conf of readdirSync(join(root, 'etc/kubernetes')).filter((name) => name.endsWith('.conf'))) {
      const file = join(root, 'etc/kubernetes', conf);
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll(`https://${ip}:6443`, url(ip, api!)));
    }
    const fakes = writeFakes(root);
    fakes.realProcess('etcd', commandFromManifest(root, 'etcd', 'etcd'));
    fakes.realProcess('kube-apiserver', commandFromManifest(root, 'kube-apiserver', `node ${STANDIN} --shutdown-delay-ms=700${aggregationFlags}`));
    nodes.push({ name: facts.nodeName, address: ip, root, pki: join(root, 'etc/kubernetes/pki'), fakes, clientUrl: url(ip, client!), peerUrl: url(ip, peer!), apiUrl: url(ip, api!) });
  }
  const credentials = await mintClient(nodes[0]!.pki);
  const config = join(work, 'haproxy.cfg');
  // TCP passthrough (the apiservers see the client's own cert); the health check is an anonymous TLS GET
  // /readyz (kubeadm's RBAC lets system:anonymous read it, as kubeadm's HA guide's haproxy does), never a
  // client cert: one of the cluster CA would mark every apiserver down once a CA rotation distrusts the
  // old CA. Every 100 ms: two failures take a server out (well within the stand-in's 700 ms shutdown
  // delay, during which it still serves), two successes bring it back. A refused connection is retried on
  // another server (redispatch), so a server that just stopped costs no request.
  writeFileSync(
    config,
    `global
  maxconn 500
defaults
  mode tcp
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch
  timeout check 1s
listen apiserver
  bind 127.0.0.1:${lb}
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check check-ssl verify none inter 100 fall 2 rise 2
${nodes.map((node) => `  server ${node.name} ${node.address}:${api}`).join('\n')}
`,
  );
  let haproxyOutput = '';
  const events: { at: number; server: string; state: 'UP' | 'DOWN' }[] = [];
  const haproxy: ChildProcess = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const onOutput = (chunk: Buffer) => {
    haproxyOutput += chunk;
    for (const match of chunk.toString().matchAll(/Server apiserver\/(\S+) is (UP|DOWN)/g)) events.push({ at: Date.now(), server: match[1]!, state: match[2] as 'UP' | 'DOWN' });
  };
  haproxy.stdout!.on('data', onOutput);
  haproxy.stderr!.on('data', onOutput);
  const haproxyExit = once(haproxy, 'exit');
  process.on('exit', () => haproxy.kill('SIGKILL'));
  for (const node of nodes) await node.fakes.startAll();
  let extensionOutput = '';
  const extension = serving
    ? spawn('node', [EXTENSION_APISERVER, `--secure-port=${extensionPort}`, `--tls-cert-file=${serving.cert}`, `--tls-private-key-file=${serving.key}`, `--authentication-configmap-file=${configMapFile}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    : undefined;
  extension?.stdout!.on('data', (chunk: Buffer) => (extensionOutput += chunk));
  extension?.stderr!.on('data', (chunk: Buffer) => (extensionOutput += chunk));
  if (extension) process.on('exit', () => extension.kill('SIGKILL'));

  const get = (path = '/api/v1/namespaces/default') =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: lb, path, method: 'GET', ca: credentials.ca, cert: credentials.cert, key: credentials.key, servername: 'kubernetes', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  const fetch = (path: string, auth: RequestAuth, url = `https://127.0.0.1:${lb}`) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const target = new URL(url);
      const headers = auth.token ? { authorization: `Bearer ${auth.token}` } : {};
      const ca = readFileSync(join(nodes[0]!.pki, 'ca.crt'));
      const req = request({ host: target.hostname, port: Number(target.port), path, method: 'GET', headers, ca, cert: auth.cert, key: auth.key, servername: 'kubernetes', agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  const etcdctl = (node: RigNode, args: string[]) => etcdctlAt(node.clientUrl, join(node.pki, 'etcd/ca.crt'), join(node.pki, 'etcd/healthcheck-client.crt'), join(node.pki, 'etcd/healthcheck-client.key'), args, 20_000);
  const rig: Rig = {
    nodes,
    ports: { client: client!, peer: peer!, api: api!, lb: lb! },
    lbUrl: `https://127.0.0.1:${lb}`,
    client: credentials,
    get,
    fetch,
    etcdctl,
    extension: serving && { url: extensionUrl, servingCa: readFileSync(serving.ca), configMapFile, log: () => extensionOutput },
    haproxyLog: () => haproxyOutput,
    haproxyEvents: () => [...events],
    clientLoop() {
      const stats: ClientStats = { requests: 0, failures: 0, errors: [], elapsedMs: 0 };
      let running = true;
      const started = Date.now();
      const loop = (async () => {
        while (running) {
          stats.requests++;
          try {
            const status = await get();
            if (status !== 200) throw new Error(`HTTP ${status}`);
          } catch (error) {
            stats.failures++;
            if (stats.errors.length < 20) stats.errors.push(`${new Date().toISOString()} ${(error as Error).message}`);
          }
          await sleep(5);
        }
      })();
      return {
        async stop() {
          running = false;
          await loop;
          stats.elapsedMs = Date.now() - started;
          return stats;
        },
      };
    },
    async stop() {
      haproxy.kill('SIGTERM');
      await Promise.race([haproxyExit, sleep(3000)]);
      extension?.kill('SIGTERM');
      await Promise.all(nodes.map((node) => node.fakes.killAll()));
    },
  };
  if (options.waitHealthy ?? true) {
    const deadline = Date.now() + 30_000;
    let last = '';
    for (;;) {
      const health = await etcdctl(nodes[0]!, ['--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health', '--cluster']);
      let status = health.exitCode === 0 ? await get().catch((error: Error) => error.message) : 'etcd not healthy';
      if (status === 200 && serving) status = await get(AGGREGATED_PATH).catch((error: Error) => error.message);
      if (status === 200) break;
      last = `${health.stdout}${health.stderr} / ${status}`;
      if (Date.now() > deadline) {
        await rig.stop();
        throw new Error(`the rig did not come up in 30 s: ${last}\nhaproxy: ${haproxyOutput.slice(-2000)}${serving ? `\nextension apiserver: ${extensionOutput.slice(-1000)}` : ''}`);
      }
      await sleep(200);
    }
  }
  return rig;
}

/** The serial (uppercase hex, no leading zeros) of a certificate file. */
export const serialOf = (file: string) => parseCertificate(readFileSync(file)).serialHex.replace(/^0+/, '').toUpperCase();

/** Member names as etcd lists them. */
export async function etcdMembers(rig: Rig, node: RigNode): Promise<string[]> {
  const list = await rig.etcdctl(node, ['member', 'list', '-w', 'json']);
  return ((JSON.parse(list.stdout) as { members: { name: string }[] }).members ?? []).map((member) => member.name).sort();
}
