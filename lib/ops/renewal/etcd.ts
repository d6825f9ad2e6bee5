// Talking to etcd with etcdctl (v3 API, client-cert TLS): pick working client
// credentials — the pki's own, or a short-lived cert issued from etcd/ca.key
// into a private temp dir when those have expired — then health / snapshot.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caSpec, leafSpec } from '../../catalogue/kubeadm.js';
import type { Host, RunResult } from '../../host/host.js';
import { parseCertificate } from '../../pki/certificate.js';
import { parseUsages } from '../../pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../../pki/keys.js';
import { emptySans } from '../../pki/san.js';
import { issueCertificate } from '../../pki/sign.js';
import { keyMatchesCertificate, validityAt } from '../../pki/verify.js';
import { ClusterFromManifests } from '../inventory/manifests.js';

export interface EtcdClient {
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
  /** True when we minted a temporary client cert (the pki's ones had expired). */
  temporary: boolean;
  /** True for the verified TLS relay's unix socket (etcd-tls.ts): etcdctl then speaks plaintext to it, no TLS flags. */
  plaintext?: boolean;
  dispose(): void;
}

/** Candidate client credentials, best first (both are signed by etcd's CA in kubeadm). */
const ETCD_CA = caSpec('etcd-ca').storage;
const CLIENT_PAIRS = ['etcd-healthcheck-client', 'apiserver-etcd-client'].map((name) => leafSpec(name)!.storage);

export function etcdEndpoints(cluster: ClusterFromManifests): string[] {
  const urls = cluster.etcd?.clientUrls.length
    ? cluster.etcd.clientUrls
    : (cluster.components.find((entry) => entry.component === 'kube-apiserver')?.flags.get('etcd-servers') ?? '').split(',').filter(Boolean);
  // Loopback first: the backup runs on the control-plane node itself.
  const sorted = [...urls].sort((a, b) => Number(!/127\.0\.0\.1|localhost|\[::1\]/.test(a)) - Number(!/127\.0\.0\.1|localhost|\[::1\]/.test(b)));
  return sorted.length ? [sorted[0]!] : ['https://127.0.0.1:2379'];
}

/** Client credentials that etcd will accept now, or undefined when there are none and no CA key to mint them. */
export async function etcdClient(host: Host, cluster: ClusterFromManifests): Promise<EtcdClient | undefined> {
  const now = host.now();
  const caFile = host.real(cluster.etcd?.caFile ?? ETCD_CA.certificate);
  const endpoints = etcdEndpoints(cluster);
  for (const pair of CLIENT_PAIRS) {
    const cert = host.read(pair.certificate);
    const key = host.read(pair.key);
    if (!cert || !key) continue;
    try {
      const certificate = parseCertificate(cert);
      if (validityAt(certificate, now) === 'valid' && keyMatchesCertificate(parsePrivateKey(key), certificate)) {
        return { endpoints, caFile, certFile: host.real(pair.certificate), keyFile: host.real(pair.key), temporary: false, dispose() {} };
      }
    } catch {
      // damaged: try the next pair
    }
  }
  const caCert = host.read(ETCD_CA.certificate);
  const caKey = host.read(ETCD_CA.key);
  if (!caCert || !caKey) return undefined;
  const issuer = { certificate: parseCertificate(caCert), key: parsePrivateKey(caKey) };
  if (validityAt(issuer.certificate, now) !== 'valid') return undefined;
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({
    template: { subject: { CN: 'rescue-kit-backup', O: ['system:masters'] }, sans: emptySans(), usages: parseUsages(['signing', 'client auth']), isCA: false, durationMs: 3_600_000 },
    subjectKey: key,
    issuer,
    now,
  });
  const dir = mkdtempSync(join(tmpdir(), 'rescue-kit-etcd-'));
  writeFileSync(join(dir, 'client.crt'), certificate.pem, { mode: 0o600 });
  writeFileSync(join(dir, 'client.key'), exportPrivateKeyPem(key), { mode: 0o600 });
  return {
    endpoints,
    caFile,
    certFile: join(dir, 'client.crt'),
    keyFile: join(dir, 'client.key'),
    temporary: true,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function etcdctl(host: Host, client: EtcdClient, args: string[], timeoutMs: number): Promise<RunResult> {
  return host.run(
    'etcdctl',
    [`--endpoints=${client.endpoints.join(',')}`, ...(client.plaintext ? [] : [`--cacert=${client.caFile}`, `--cert=${client.certFile}`, `--key=${client.keyFile}`]), ...args],
    { timeoutMs, env: { ...process.env, ETCDCTL_API: '3' } as Record<string, string> },
  );
}

/** Is anything listening at the endpoint? (etcdctl waits out its whole dial timeout on a refused port.) */
export function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 2379) });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export async function etcdHealthy(host: Host, client: EtcdClient): Promise<RunResult> {
  if (!client.plaintext && !(await reachable(client.endpoints[0]!))) {
    return { exitCode: 1, stdout: '', stderr: `nothing listens at ${client.endpoints[0]}`, timedOut: false };
  }
  return etcdctl(host, client, ['--dial-timeout=3s', '--command-timeout=5s', 'endpoint', 'health'], 10_000);
}

/** `etcdctl snapshot status` of a snapshot file (offline); undefined when etcdctl is absent. */
export async function snapshotStatus(host: Host, file: string): Promise<{ ok: boolean; detail: string }> {
  const result = await host.run('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { timeoutMs: 120_000, env: { ...process.env, ETCDCTL_API: '3' } as Record<string, string> });
  return { ok: result.exitCode === 0, detail: (result.exitCode === 0 ? result.stdout : result.stderr).trim() };
}
