// Health after a restart, checked with the renewed credentials themselves:
// etcd through the cluster gate (served-cert proof on every client and peer
// URL, quorum, every member healthy: ./etcd-cluster.ts), the apiserver's /livez
// with admin.conf's client cert trusting only ca.crt, and for every restarted
// component with a TLS port the served-cert proof (./served-cert.ts).
import { request } from 'node:https';
import { caSpec, kubeconfigSpec } from '../../catalogue/kubeadm.js';
import type { Host } from '../../host/host.js';
import { parseCertificate } from '../../pki/certificate.js';
import { etcdClient } from './etcd.js';
import { etcdClusterGate } from './etcd-cluster.js';
import { ClientCredentials, proveServedCertificates, servingEndpoints } from './served-cert.js';
import { readKubeconfig } from '../inventory/kubeconfig.js';
import { ClusterFromManifests } from '../inventory/manifests.js';
import type { Component } from './renew-plan.js';
import { pollUntil } from './poll.js';

export interface HealthResult {
  ok: boolean;
  detail: string;
  /** Passed, but the cluster is not whole yet: what waits for which other node (see etcd-cluster.ts). */
  pending?: string;
}

/** What the gates of one run learn from each other: etcd's first-member state relaxes the apiserver's /livez. */
export interface GateContext {
  etcdWithoutQuorum?: string;
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

async function etcdHealth(host: Host, cluster: ClusterFromManifests, context: GateContext): Promise<HealthResult> {
  const client = await etcdClient(host, cluster);
  if (!client) return { ok: false, detail: 'no valid etcd client certificate to check with' };
  try {
    const gate = await etcdClusterGate(host, cluster, client);
    context.etcdWithoutQuorum = gate.ok && !gate.quorum ? gate.pending : undefined;
    return { ok: gate.ok, detail: gate.detail, pending: gate.pending };
  } finally {
    client.dispose();
  }
}

/** admin.conf's embedded client cert and key (the apiserver demands a client cert even for the TLS proof). */
function adminCredentials(host: Host): ClientCredentials | undefined {
  const adminFile = kubeconfigSpec('admin.conf')!.storage.file;
  const admin = host.read(adminFile)?.toString();
  if (!admin) return undefined;
  const user = readKubeconfig(admin, host.real(adminFile)).currentUser;
  if (!user?.certData || !user.keyData) return undefined;
  return { cert: Buffer.from(user.certData, 'base64'), key: Buffer.from(user.keyData, 'base64') };
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

/**
 * The apiserver: served-cert proof on its secure port, then /livez. When etcd was left in its first-member
 * state by this run (no quorum until another node is renewed), /livez cannot pass: the proof is the gate,
 * and the result says /livez waits for etcd's quorum.
 */
async function apiserverGate(host: Host, cluster: ClusterFromManifests, options: HealthOptions, context: GateContext): Promise<HealthResult> {
  const proof = await proveServedCertificates(host, servingEndpoints(cluster, 'kube-apiserver', options.apiserverUrl), adminCredentials(host));
  if (!proof.ok) return proof;
  if (context.etcdWithoutQuorum) return { ok: true, detail: `${proof.detail}; /livez not required: etcd has no quorum yet`, pending: `kube-apiserver becomes live when etcd has quorum (${context.etcdWithoutQuorum})` };
  const live = await apiserverHealth(host, options.apiserverUrl ?? apiserverUrl(cluster));
  return live.ok ? { ok: true, detail: `${proof.detail}; ${live.detail}` } : live;
}

/** Served-cert proof alone, for the components whose only check is the certificate on their port. */
async function servedOnly(host: Host, cluster: ClusterFromManifests, component: Component): Promise<HealthResult | undefined> {
  const endpoints = servingEndpoints(cluster, component);
  return endpoints.length ? proveServedCertificates(host, endpoints) : undefined;
}

/** The health check for one component (components without a TLS check report what restart saw). */
export async function checkHealth(host: Host, cluster: ClusterFromManifests, component: Component, options: HealthOptions, context: GateContext = {}): Promise<HealthResult | undefined> {
  if (component === 'etcd') return retry(() => etcdHealth(host, cluster, context), options);
  if (component === 'kube-apiserver') return retry(() => apiserverGate(host, cluster, options, context), options);
  if (!servingEndpoints(cluster, component).length) return undefined;
  return retry(async () => (await servedOnly(host, cluster, component))!, options);
}
