// Shared by the renew / rollback tests: the kubeadm leaves and kubeconfigs a
// renewal touches, full tree listings (sha256, mode, symlink target), the CLI
// run with its signal, kubeconfig credentials as kubectl reads them, sandbox
// trees, and fake systemctl / crictl / docker scripts (the only fakes allowed)
// that drive REAL etcd and openssl s_server processes.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { caSpec, LEAF_CERTIFICATES } from '../../lib/catalogue/kubeadm.js';
import { writeTree } from '../../lib/host/tree.js';
import { buildSandboxTree, SandboxOptions } from '../../lib/ops/sandbox/sandbox.js';
import { Certificate, parseCertificate } from '../../lib/pki/certificate.js';
import { parsePrivateKey } from '../../lib/pki/keys.js';
import { keyMatchesCertificate } from '../../lib/pki/verify.js';
import { cliPath, fixtureRoot, repoRoot, tempDir } from './env.js';

export const DAY_MS = 86_400_000;

/** The seven pki leaves: cert, key and the CA that signs them (paths relative to the root). */
export const LEAVES = LEAF_CERTIFICATES.map((spec) => ({
  name: spec.name,
  crt: `etc/kubernetes/pki/${spec.baseName}.crt`,
  key: `etc/kubernetes/pki/${spec.baseName}.key`,
  ca: `etc/kubernetes/pki/${caSpec(spec.ca).baseName}.crt`,
}));

/** The kubeconfigs of the shared fixtures (all four embed their client cert and key). */
export const EMBEDDED_KUBECONFIGS = ['admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf'];

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Every entry under ROOT/<dir> for each dir: "file <mode> <sha256>", "link <target>", "dir <mode>".
 * Paths are relative to root; a missing dir lists as nothing.
 */
export function listing(root: string, dirs: string[] = ['etc/kubernetes', 'var/lib/kubelet']): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    const stats = lstatSync(path);
    const key = relative(root, path);
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
    if (stats.isSymbolicLink()) out[key] = `link ${readlinkSync(path)}`;
    else if (stats.isDirectory()) {
      out[key] = `dir ${mode}`;
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (stats.isFile()) out[key] = `file ${mode} ${sha256(readFileSync(path))}`;
    else out[key] = `other ${stats.mode.toString(8)}`;
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(join(root, dir));
  return out;
}

/** Everything under root (rescue-kit's own dirs included): for "changes nothing at all". */
export const fullListing = (root: string) => listing(root, ['.']);

export interface Run {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** The built CLI, with its signal (failpoints die by SIGKILL) and a hard bound on its runtime. */
export async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const result = await execa('node', [cliPath, ...args], { reject: false, stdin: 'ignore', timeout: timeoutMs, env: { NO_COLOR: '1', ...env } });
  return { exitCode: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export const show = (run: Run) => `exit ${run.exitCode} signal ${run.signal}\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`;

export const readCert = (path: string): Certificate => parseCertificate(readFileSync(path));

/** `openssl verify -CAfile ca cert`. */
export async function opensslVerifies(caFile: string, certFile: string): Promise<[boolean, string]> {
  const result = await execa('openssl', ['verify', '-CAfile', caFile, certFile], { reject: false, all: true });
  return [result.exitCode === 0, String(result.all)];
}

/** Public key PEM of a certificate and of a private key, both as openssl prints them. */
export async function opensslPairMatches(certFile: string, keyFile: string): Promise<boolean> {
  const a = await execa('openssl', ['x509', '-in', certFile, '-noout', '-pubkey'], { reject: false });
  const b = await execa('openssl', ['pkey', '-in', keyFile, '-pubout'], { reject: false });
  return a.exitCode === 0 && b.exitCode === 0 && String(a.stdout).trim() === String(b.stdout).trim() && String(a.stdout).includes('PUBLIC KEY');
}

export interface KubeconfigCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** The current user's embedded credentials as `kubectl config view --raw` reads the file. */
export async function kubectlCredentials(file: string): Promise<KubeconfigCredentials> {
  const result = await execa('kubectl', ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file], { reject: false, timeout: 30_000, env: { HOME: tempDir('rk-kubectl-home-') } });
  expect(result.exitCode, `kubectl config view ${file}: ${result.stderr}`).to.equal(0);
  const config = JSON.parse(String(result.stdout)) as {
    'current-context': string;
    contexts: { name: string; context: { user: string; cluster: string } }[];
    users: { name: string; user: Record<string, string> }[];
    clusters: { name: string; cluster: Record<string, string> }[];
  };
  const context = config.contexts.find((entry) => entry.name === config['current-context'])!.context;
  const user = config.users.find((entry) => entry.name === context.user)!.user;
  const cluster = config.clusters.find((entry) => entry.name === context.cluster)!.cluster;
  const decode = (value: string | undefined) => (value ? Buffer.from(value, 'base64').toString() : '');
  return { certPem: decode(user['client-certificate-data']), keyPem: decode(user['client-key-data']), caPem: decode(cluster['certificate-authority-data']) };
}

export const pairMatches = (certPem: string | Buffer, keyPem: string | Buffer) => keyMatchesCertificate(parsePrivateKey(keyPem), parseCertificate(certPem));

/** A kubeadm-shaped sandbox root (ECDSA P-256 for speed) written to a new temp dir. */
export async function sandboxRoot(options: Partial<SandboxOptions> = {}): Promise<string> {
  const root = tempDir('rk-sandbox-');
  writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, ...options }));
  return root;
}

/**
 * Point the manifests at a test etcd: etcd's client URLs and the apiserver's --etcd-servers, and with
 * peerUrl its peer URLs too (the served-cert proof connects to every URL etcd's manifest says it listens on).
 */
export function pointManifestsAtEtcd(root: string, clientUrl: string, peerUrl?: string): void {
  const etcdYaml = join(root, 'etc/kubernetes/manifests/etcd.yaml');
  const apiYaml = join(root, 'etc/kubernetes/manifests/kube-apiserver.yaml');
  let etcdText = readFileSync(etcdYaml, 'utf8')
    .replace(/--listen-client-urls=\S+/, `--listen-client-urls=${clientUrl}`)
    .replace(/--advertise-client-urls=\S+/, `--advertise-client-urls=${clientUrl}`);
  if (peerUrl) {
    etcdText = etcdText
      .replace(/--listen-peer-urls=\S+/, `--listen-peer-urls=${peerUrl}`)
      .replace(/--initial-advertise-peer-urls=\S+/, `--initial-advertise-peer-urls=${peerUrl}`)
      .replace(/--initial-cluster=([^=\s]+)=\S+/, `--initial-cluster=$1=${peerUrl}`);
  }
  const apiText = readFileSync(apiYaml, 'utf8').replace(/--etcd-servers=\S+/, `--etcd-servers=${clientUrl}`);
  expect(etcdText).to.include(`--listen-client-urls=${clientUrl}`);
  expect(apiText).to.include(`--etcd-servers=${clientUrl}`);
  writeFileSync(etcdYaml, etcdText);
  writeFileSync(apiYaml, apiText);
}

/** The fixture as a real host has it: private keys 0600 (the shared copy is read-only 0444). */
export function hostModes(root: string): void {
  for (const leaf of LEAVES) chmodSync(join(root, leaf.key), 0o600);
  for (const name of ['ca', 'front-proxy-ca', 'etcd/ca', 'sa']) chmodSync(join(root, `etc/kubernetes/pki/${name}.key`), 0o600);
  for (const name of EMBEDDED_KUBECONFIGS) chmodSync(join(root, 'etc/kubernetes', name), 0o600);
}

/** Fake systemctl / crictl / docker (one script, see its header): the only fakes these tests use. */
export const FAKE_RUNTIME = join(repoRoot, 'test', 'fakes', 'runtime.sh');

export interface Fakes {
  bin: string;
  state: string;
  log: string;
  env: Record<string, string>;
  /** The log lines so far. */
  lines(): string[];
  /** Components in the order they were restarted (by any mechanism). */
  restarts(): string[];
  /** Register a real process the fakes (re)start for a component: a bash command line. */
  realProcess(component: string, command: string): void;
  /** Start every registered real process now (the cluster as it runs before the rescue). */
  startAll(): Promise<void>;
  /** Kill every real process the fakes started (idempotent). */
  killAll(): Promise<void>;
}

const liveFakes = new Set<Fakes>();
process.on('exit', () => {
  for (const fakes of liveFakes) killPids(fakes.state, 'SIGKILL');
});

function killPids(state: string, signal: NodeJS.Signals): number[] {
  const pids: number[] = [];
  if (!existsSync(state)) return pids;
  for (const name of readdirSync(state).filter((file) => file.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(state, name), 'utf8'));
    if (!pid) continue;
    try {
      process.kill(pid, signal);
      pids.push(pid);
    } catch {}
  }
  return pids;
}

/** Running and not a zombie (the processes the fakes start are reparented; their reaper may be slow). */
const isAlive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

export function writeFakes(root: string, extraEnv: Record<string, string> = {}): Fakes {
  const dir = tempDir('rk-fakes-');
  const bin = join(dir, 'bin');
  const state = join(dir, 'state');
  const log = join(dir, 'calls.log');
  mkdirSync(bin);
  mkdirSync(state);
  writeFileSync(log, '');
  for (const name of ['systemctl', 'crictl', 'docker']) {
    copyFileSync(FAKE_RUNTIME, join(bin, name));
    chmodSync(join(bin, name), 0o755);
  }
  const baseEnv = { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_STATE: state, FAKE_ROOT: root };
  const env = { ...baseEnv, ...extraEnv };
  const fakes: Fakes = {
    bin,
    state,
    log,
    env,
    lines: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    restarts: () => fakes.lines().flatMap((line) => (line.startsWith('event restart ') ? [line.slice('event restart '.length)] : [])),
    realProcess(component, command) {
      writeFileSync(join(state, `${component}.cmd`), `exec ${command}\n`);
    },
    async startAll() {
      for (const name of readdirSync(state).filter((file) => file.endsWith('.cmd'))) {
        const component = name.replace(/\.cmd$/, '');
        // Healthy to begin with (FAKE_STUCK / FAKE_INACTIVE apply to the runs under test only).
        await execa(join(bin, 'systemctl'), ['restart', component], { env: baseEnv });
      }
      writeFileSync(log, '');
    },
    async killAll() {
      const pids = killPids(state, 'SIGTERM');
      const deadline = Date.now() + 5_000;
      while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      killPids(state, 'SIGKILL');
      liveFakes.delete(fakes);
    },
  };
  liveFakes.add(fakes);
  return fakes;
}

/** The real 1.25 tree with no node name anywhere (kubelet.conf's user renamed, the manifests' --name removed). */
export function namelessKubeletTree(): string {
  const root = fixtureRoot('kubeadm-1.25-expired');
  const conf = join(root, 'etc/kubernetes/kubelet.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replaceAll('system:node:ip-172-31-33-71', 'kubelet'));
  for (const manifest of ['etcd.yaml', 'kube-apiserver.yaml']) {
    const path = join(root, 'etc/kubernetes/manifests', manifest);
    if (existsSync(path)) writeFileSync(path, readFileSync(path, 'utf8').replace(/--name=\S+/g, '--name-removed'));
  }
  return root;
}
