// Health after a restart, checked with the renewed credentials themselves:
// etcd `endpoint health` over TLS with the healthcheck client cert, and the
// apiserver's /livez with admin.conf's client cert, trusting only ca.crt.
import { request } from 'node:https';
import { caSpec, kubeconfigSpec } from '../../catalogue/kubeadm.js';
import type { Host } from '../../host/host.js';
import { parseCertificate } from '../../pki/certificate.js';
import { etcdClient, etcdHealthy } from './etcd.js';
import { readKubeconfig } from '../inventory/kubeconfig.js';
import { ClusterFromManifests } from '../inventory/manifests.js';
import type { Component } from './renew-plan.js';
import { pollUntil } from './poll.js';

export interface HealthResult {
  ok: boolean;
  detail: string;
}

export interface HealthOptions {
  /** Override the apiserver URL (default https://<advertise-address>:<secure-port> from the manifest). */
  apiserverUrl?: string;
  timeoutMs: number;
  pollMs: number;
}

const retry = (check: () => Promise<HealthResult>, options: HealthOptions) => pollUntil(check, (result) => result.ok, options);

export function apiserverUrl(cluster: ClusterFromManifests): string {
  const flags = cluster.components.find((entry) => entry.component === 'kube-apiserver')?.flags;
  const address = flags?.get('advertise-address') ?? '127.0.0.1';
  return `https://${address.includes(':') ? `[${address}]` : address}:${flags?.get('secure-port') ?? '6443'}`;
}

async function etcdHealth(host: Host, cluster: ClusterFromManifests): Promise<HealthResult> {
  const client = await etcdClient(host, cluster);
  if (!client) return { ok: false, detail: 'no valid etcd client certificate to check with' };
  try {
    const result = await etcdHealthy(host, client);
    const text = `${result.stdout}${result.stderr}`.trim().split('\n').pop() ?? '';
    return { ok: result.exitCode === 0, detail: `etcdctl endpoint health: ${text}` };
  } finally {
    client.dispose();
  }
}

/** GET /livez (falling back to /healthz on 404) with admin.conf's client cert, trusting only the cluster CA. */
async function apiserverHealth(host: Host, url: string): Promise<HealthResult> {
  const adminFile = kubeconfigSpec('admin.conf')!.storage.file;
  const admin = host.read(adminFile)?.toString();
  const ca = host.read(caSpec('ca').storage.certificate);
  if (!admin || !ca) return { ok: false, detail: 'admin.conf or pki/ca.crt missing' };
  const user = readKubeconfig(admin, host.real(adminFile)).currentUser;
  if (!user?.certData || !user.keyData) return { ok: false, detail: 'admin.conf has no embedded client cert' };
  const cert = Buffer.from(user.certData, 'base64');
  const key = Buffer.from(user.keyData, 'base64');
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const target = new URL(path, url);
      const req = request(
        // The apiserver cert always carries DNS:kubernetes; the address may not be in its SANs.
        { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path: target.pathname, method: 'GET', ca, cert, key, servername: 'kubernetes', timeout: 5000 },
        (response) => {
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  try {
    let response = await get('/livez');
    if (response.status === 404) response = await get('/healthz');
    const subject = parseCertificate(cert).subjectText;
    return response.status === 200
      ? { ok: true, detail: `${url}/livez: 200 as ${subject}` }
      : { ok: false, detail: `${url}/livez: HTTP ${response.status} ${response.body.slice(0, 80)}` };
  } catch (error) {
    return { ok: false, detail: `${url}: ${(error as Error).message}` };
  }
}

/** The health check for one component (components without a TLS check report what restart saw). */
export async function checkHealth(host: Host, cluster: ClusterFromManifests, component: Component, options: HealthOptions): Promise<HealthResult | undefined> {
  if (component === 'etcd') return retry(() => etcdHealth(host, cluster), options);
  if (component === 'kube-apiserver') return retry(() => apiserverHealth(host, options.apiserverUrl ?? apiserverUrl(cluster)), options);
  return undefined;
}
