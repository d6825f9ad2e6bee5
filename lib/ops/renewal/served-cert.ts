// Served-cert proof: after a restart, connect to the port a component listens
// on and compare the certificate it presents with the file it is configured to
// serve. "Restarted" and "healthy" do not prove the new file was loaded (a
// container that was not really replaced, a mount of a stale copy); the bytes
// on the wire do. Ports and addresses come from the static pod manifests.
import { connect } from 'node:tls';
import type { Host } from '../../host/host.js';
import { parseCertificate } from '../../pki/certificate.js';
import type { ClusterFromManifests } from '../inventory/manifests.js';
import type { Component } from './renew-plan.js';

export interface ServedCertificate {
  /** The leaf as presented (DER), for who signed it. */
  der: Buffer;
  serialHex: string;
  notAfter: Date;
  subject: string;
}

export interface ServingEndpoint {
  /** What listens there, for messages: "etcd client", "etcd peer", "kube-apiserver". */
  what: string;
  host: string;
  port: number;
  /** Host path of the certificate it must present. */
  certFile: string;
  /** TLS server name to send (the apiserver cert always has DNS:kubernetes). */
  servername?: string;
}

export interface ClientCredentials {
  cert: Buffer;
  key: Buffer;
}

export interface ServedProof {
  ok: boolean;
  detail: string;
}

/** Serials compared as numbers: Node prints uppercase hex without leading zeros, the DER may have a 00 pad. */
export const normalSerial = (hex: string) => hex.replace(/^0+/, '').toUpperCase() || '0';

/** The SNI to send for a host: its name, or none for an IP (an IP in SNI is not allowed). */
export const tlsServerName = (host: string): string | undefined => (/^[\d.]+$|:/.test(host) ? undefined : host);

/**
 * The leaf certificate presented at host:port. A client cert is offered when given (etcd's ports and the
 * apiserver demand one); the server's cert is NOT verified: this reads what it serves, whoever signed it.
 */
export function servedCertificate(host: string, port: number, options: { servername?: string; client?: ClientCredentials; timeoutMs?: number } = {}): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: options.servername ?? tlsServerName(host),
      rejectUnauthorized: false,
      cert: options.client?.cert,
      key: options.client?.key,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${host}:${port} within ${(options.timeoutMs ?? 5000) / 1000}s`));
    }, options.timeoutMs ?? 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      socket.end();
      socket.destroy();
      if (!peer || !peer.serialNumber) return reject(new Error(`${host}:${port} presented no certificate`));
      resolve({ der: peer.raw, serialHex: normalSerial(peer.serialNumber), notAfter: new Date(peer.valid_to), subject: peer.subject?.CN ? `CN=${peer.subject.CN}` : '' });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A URL list flag (--listen-client-urls) as host/port pairs; 0.0.0.0 / :: are checked on loopback. */
function urlEndpoints(urls: string | undefined): { host: string; port: number }[] {
  return (urls ?? '')
    .split(',')
    .filter(Boolean)
    .flatMap((text) => {
      try {
        const url = new URL(text);
        if (url.protocol !== 'https:') return [];
        const hostname = url.hostname.replace(/^\[|\]$/g, '');
        return [{ host: hostname === '0.0.0.0' || hostname === '::' ? '127.0.0.1' : hostname, port: Number(url.port || 443) }];
      } catch {
        return [];
      }
    });
}

const unspecified = (address: string | undefined) => !address || address === '0.0.0.0' || address === '::';

/**
 * Where a component serves TLS and with which file, from its manifest flags. The controller-manager and
 * scheduler serve a certificate only when --tls-cert-file is set (otherwise they make a self-signed one in
 * memory, which no renewal touches); kubelet serving certs are not renewed here. `apiserverUrl` (renew
 * --apiserver-url) overrides where the apiserver is reached.
 */
export function servingEndpoints(cluster: ClusterFromManifests, component: Component, apiserverUrl?: string): ServingEndpoint[] {
  const flags = cluster.components.find((entry) => entry.component === component)?.flags;
  if (!flags) return [];
  if (component === 'etcd') {
    const client = flags.get('cert-file');
    const peer = flags.get('peer-cert-file');
    const seen = new Set<string>();
    const once = (endpoint: ServingEndpoint) => !seen.has(`${endpoint.host}:${endpoint.port}`) && Boolean(seen.add(`${endpoint.host}:${endpoint.port}`));
    return [
      ...(client ? urlEndpoints(flags.get('listen-client-urls')).map((at) => ({ what: 'etcd client', ...at, certFile: client })) : []),
      ...(peer ? urlEndpoints(flags.get('listen-peer-urls')).map((at) => ({ what: 'etcd peer', ...at, certFile: peer })) : []),
    ].filter(once); // 127.0.0.1 listed twice when it is also the node address
  }
  const certFile = flags.get('tls-cert-file');
  if (!certFile) return [];
  if (component === 'kube-apiserver') {
    if (apiserverUrl) {
      const url = new URL(apiserverUrl);
      return [{ what: 'kube-apiserver', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), certFile, servername: 'kubernetes' }];
    }
    const bind = flags.get('bind-address');
    const host = unspecified(bind) ? (flags.get('advertise-address') ?? '127.0.0.1') : bind!;
    return [{ what: 'kube-apiserver', host, port: Number(flags.get('secure-port') ?? 6443), certFile, servername: 'kubernetes' }];
  }
  if (component === 'kube-controller-manager' || component === 'kube-scheduler') {
    const bind = flags.get('bind-address');
    const port = Number(flags.get('secure-port') ?? (component === 'kube-controller-manager' ? 10257 : 10259));
    return [{ what: component, host: unspecified(bind) ? '127.0.0.1' : bind!, port, certFile }];
  }
  return [];
}

/** Does every endpoint present the certificate now in its file? One line per endpoint; the first mismatch fails. */
export async function proveServedCertificates(host: Host, endpoints: ServingEndpoint[], client?: ClientCredentials, timeoutMs = 5000): Promise<ServedProof> {
  const lines: string[] = [];
  for (const endpoint of endpoints) {
    const where = `${endpoint.what} ${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    const pem = host.read(endpoint.certFile);
    if (!pem) return { ok: false, detail: `${where}: ${endpoint.certFile} is missing` };
    const expected = normalSerial(parseCertificate(pem).serialHex);
    let served: ServedCertificate;
    try {
      served = await servedCertificate(endpoint.host, endpoint.port, { servername: endpoint.servername, client, timeoutMs });
    } catch (error) {
      return { ok: false, detail: `${where}: cannot read the served certificate: ${(error as Error).message}` };
    }
    if (served.serialHex !== expected) {
      return { ok: false, detail: `${where} is still serving the old cert (serial ${served.serialHex}), expected ${expected} from ${endpoint.certFile}` };
    }
    lines.push(`${where} serves serial ${expected}`);
  }
  return { ok: true, detail: lines.length ? lines.join('; ') : 'no TLS port to prove' };
}
