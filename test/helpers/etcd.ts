// A real etcd (the Debian etcd-server 3.4 binary) for tests: client and peer
// TLS with the tree's own etcd pki, free loopback ports, a bounded wait until
// `etcdctl endpoint health` answers, and a stop() that waits for the exit.
// Reusable: backup tests snapshot it, renew tests restart it on new certs.
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

export interface StartEtcdOptions {
  /** The pki dir (ROOT/etc/kubernetes/pki): etcd/ca.crt, etcd/server.*, etcd/peer.* are used. */
  pkiDir: string;
  /** Data dir (created when missing; an existing one, e.g. from `etcdctl snapshot restore`, is reused). */
  dataDir: string;
  /** Client cert/key for the health wait (default: pkiDir/etcd/healthcheck-client.*). */
  clientCert?: string;
  clientKey?: string;
  /** Member name (default "rk-test"); must match the one a restored data dir was made with. */
  name?: string;
  /** Fixed ports (default: free ones). */
  clientPort?: number;
  peerPort?: number;
  /** Bounded wait for health (default 20 s). */
  timeoutMs?: number;
  /** Extra etcd flags. */
  extraArgs?: string[];
  /**
   * The test's OWN etcdctl calls (the health wait, etcd.etcdctl) skip the server check: for an etcd
   * deliberately serving an expired or foreign cert. The code under test never gets this flag.
   */
  skipServerVerify?: boolean;
}

export interface RunningEtcd {
  clientUrl: string;
  peerUrl: string;
  clientPort: number;
  peerPort: number;
  name: string;
  dataDir: string;
  pid: number;
  /** Everything etcd printed so far (for failure messages). */
  log(): string;
  /** etcdctl (v3) against this etcd with the given (default: health) client credentials. */
  etcdctl(args: string[], credentials?: { cert: string; key: string }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Kill etcd and wait for it to exit (idempotent). */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (bind :0 on loopback, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!port) throw new Error('could not get a free port');
  return port;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  // Last resort if a test forgot stop(): never leave an etcd behind.
  for (const child of running) child.kill('SIGKILL');
});

/** Run etcdctl (API v3) with TLS credentials against an endpoint. */
export async function etcdctlAt(endpoint: string, caFile: string, cert: string, key: string, args: string[], timeoutMs = 15_000) {
  const result = await execa('etcdctl', [`--endpoints=${endpoint}`, `--cacert=${caFile}`, `--cert=${cert}`, `--key=${key}`, ...args], {
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
    env: { ETCDCTL_API: '3' },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startOnce(options: StartEtcdOptions): Promise<RunningEtcd> {
  const name = options.name ?? 'rk-test';
  const clientPort = options.clientPort ?? (await freePort());
  let peerPort = options.peerPort ?? (await freePort());
  while (peerPort === clientPort) peerPort = await freePort();
  const clientUrl = `https://127.0.0.1:${clientPort}`;
  const peerUrl = `https://127.0.0.1:${peerPort}`;
  const pki = (file: string) => join(options.pkiDir, file);
  const caFile = pki('etcd/ca.crt');
  const cert = options.clientCert ?? pki('etcd/healthcheck-client.crt');
  const key = options.clientKey ?? pki('etcd/healthcheck-client.key');
  const skip = options.skipServerVerify ? ['--insecure-skip-tls-verify'] : [];
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const args = [
    `--name=${name}`,
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
    '--initial-cluster-state=new',
    '--client-cert-auth',
    `--trusted-ca-file=${caFile}`,
    `--cert-file=${pki('etcd/server.crt')}`,
    `--key-file=${pki('etcd/server.key')}`,
    '--peer-client-cert-auth',
    `--peer-trusted-ca-file=${caFile}`,
    `--peer-cert-file=${pki('etcd/peer.crt')}`,
    `--peer-key-file=${pki('etcd/peer.key')}`,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      output += `\nspawn error: ${error.message}`;
      exited = { code: -1, signal: null };
      running.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };
  const etcd: RunningEtcd = {
    clientUrl,
    peerUrl,
    clientPort,
    peerPort,
    name,
    dataDir: options.dataDir,
    get pid() {
      return child.pid ?? -1;
    },
    log: () => output,
    etcdctl: (extra, credentials) => etcdctlAt(clientUrl, caFile, credentials?.cert ?? cert, credentials?.key ?? key, [...skip, ...extra]),
    stop,
  };
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last = '';
  while (Date.now() < deadline) {
    if (exited) throw Object.assign(new Error(`etcd exited (${exited.code ?? exited.signal}) before it was healthy:\n${output.slice(-4000)}`), { exitedEarly: true });
    const health = await etcdctlAt(clientUrl, caFile, cert, key, [...skip, '--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health'], 8_000);
    if (health.exitCode === 0) return etcd;
    last = `${health.stdout}\n${health.stderr}`.trim();
    await sleep(250);
  }
  await stop();
  throw new Error(`etcd at ${clientUrl} not healthy within ${options.timeoutMs ?? 20_000} ms; last etcdctl: ${last}\netcd log:\n${output.slice(-4000)}`);
}

/**
 * Start etcd on 127.0.0.1 with free client and peer ports and TLS from pkiDir, and wait
 * (bounded) until `etcdctl endpoint health` succeeds with the client cert. A port taken
 * between the probe and etcd's bind is retried with new ports (twice).
 */
export async function startEtcd(options: StartEtcdOptions): Promise<RunningEtcd> {
  const fixedPorts = options.clientPort !== undefined || options.peerPort !== undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      const early = (error as { exitedEarly?: boolean }).exitedEarly;
      if (!early || fixedPorts || attempt >= 2 || !/address already in use/.test((error as Error).message)) throw error;
    }
  }
}
