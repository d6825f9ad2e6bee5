// Talking to an etcd whose own serving cert has expired. etcdctl (Go) refuses
// the handshake, and `--insecure-skip-tls-verify` would skip the whole chain.
// Instead we do the TLS ourselves: connect with the client cert, check the
// presented chain against etcd/ca.crt exactly as a verifier would (signature,
// CA flags, SAN for the address, server-auth usage, every date) except the
// serving cert's notAfter, and relay the verified connection to etcdctl on a
// unix socket in a private (0700) temp dir, so no other local user can use it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect, PeerCertificate, TLSSocket } from 'node:tls';
import { Certificate, parseCertificateDer, parseCertificates } from '../../pki/certificate.js';
import { EXT_KEY_USAGE_OIDS } from '../../pki/extensions.js';
import { validityAt, verifyChain } from '../../pki/verify.js';
import { tlsServerName } from './served-cert.js';

/** What etcd's serving cert is, judged against etcd/ca.crt. */
export interface ServingCertVerdict {
  /** valid: etcdctl can talk to it directly; expired: only its notAfter is past (the relay may be used); untrusted: refuse. */
  verdict: 'valid' | 'expired' | 'untrusted' | 'unreachable';
  detail: string;
  /** The serving cert's subject and expiry, when one was presented. */
  subject?: string;
  notAfter?: Date;
}

export interface TlsTarget {
  /** https://HOST:PORT */
  endpoint: string;
  /** PEM of etcd/ca.crt (every cert in it is a trust anchor). */
  caPem: Buffer;
  /** PEM client cert and key (etcd runs with --client-cert-auth). */
  certPem: Buffer;
  keyPem: Buffer;
  now: Date;
}

/** extKeyUsage holds cfssl names for the usages we know, dotted OIDs for the rest. */
const SERVER_AUTH = ['server auth', EXT_KEY_USAGE_OIDS['server auth']];
const ANY_EKU = ['any', '2.5.29.37.0'];

function hostAndPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2379) };
}

/** The chain the server presented, leaf first (Node links it through issuerCertificate; a root links to itself). */
function presentedChain(socket: TLSSocket): Certificate[] {
  const chain: Certificate[] = [];
  let current: PeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (current && current.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(parseCertificateDer(current.raw));
    current = (current as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return chain;
}

/**
 * Judge a presented chain: everything a TLS client checks, with one exception — the leaf's
 * notAfter. Its notBefore, every CA's dates, the signatures up to a cert in etcd/ca.crt, the
 * CA flags, the SAN for the host we dialled and the server-auth usage must all hold.
 */
export function judgeServingChain(chain: Certificate[], caPem: Buffer, host: string, now: Date): ServingCertVerdict {
  const leaf = chain[0];
  if (!leaf) return { verdict: 'untrusted', detail: 'etcd presented no certificate' };
  const described = { subject: leaf.subjectText, notAfter: leaf.notAfter };
  const roots = parseCertificates(caPem);
  const result = verifyChain(leaf, { roots, intermediates: chain.slice(1), now, checkTime: false });
  const problems = [...result.problems];
  if (!result.ok && !problems.length) problems.push(`the chain does not end at a certificate of etcd/ca.crt`);
  for (const link of result.chain.slice(1)) {
    const state = validityAt(link, now);
    if (state !== 'valid') problems.push(`CA "${link.subjectText}" is ${state} (${link.notBefore.toISOString()} .. ${link.notAfter.toISOString()})`);
  }
  if (now < leaf.notBefore) problems.push(`the serving cert is not valid until ${leaf.notBefore.toISOString()}`);
  if (leaf.isCA) problems.push('the serving cert is a CA certificate');
  if (leaf.extKeyUsage.length && !leaf.extKeyUsage.some((usage) => SERVER_AUTH.includes(usage) || ANY_EKU.includes(usage))) problems.push('the serving cert is not for server auth (extended key usage)');
  const mismatch = checkServerIdentity(host, { subject: { CN: leaf.commonName ?? '' }, subjectaltname: leaf.x509.subjectAltName ?? '' } as PeerCertificate);
  if (mismatch) problems.push(`the serving cert does not name ${host}: ${mismatch.message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')}`);
  if (problems.length) return { verdict: 'untrusted', detail: problems.join('; '), ...described };
  if (now > leaf.notAfter) {
    return { verdict: 'expired', detail: `etcd's serving cert "${leaf.subjectText}" expired on ${leaf.notAfter.toISOString()} (signed by etcd/ca.crt and naming ${host}: only its expiry is ignored)`, ...described };
  }
  return { verdict: 'valid', detail: `etcd's serving cert "${leaf.subjectText}" is valid until ${leaf.notAfter.toISOString()}`, ...described };
}

/** Open a TLS connection that verifies nothing itself (we judge the chain after the handshake), ALPN h2 as gRPC needs. */
function dialTls(target: TlsTarget, timeoutMs: number): Promise<TLSSocket> {
  const { host, port } = hostAndPort(target.endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: tlsServerName(host),
      cert: target.certPem,
      key: target.keyPem,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${target.endpoint} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One handshake to see etcd's serving cert and judge it (no etcd request is made). */
export async function inspectEtcdServingCert(target: TlsTarget, timeoutMs = 5000): Promise<ServingCertVerdict> {
  let socket: TLSSocket;
  try {
    socket = await dialTls(target, timeoutMs);
  } catch (error) {
    return { verdict: 'unreachable', detail: `no TLS handshake with ${target.endpoint}: ${(error as Error).message}` };
  }
  try {
    return judgeServingChain(presentedChain(socket), target.caPem, hostAndPort(target.endpoint).host, target.now);
  } catch (error) {
    return { verdict: 'untrusted', detail: `etcd's certificate could not be read: ${(error as Error).message}` };
  } finally {
    socket.destroy();
  }
}

export interface TlsRelay {
  /** The endpoint etcdctl dials (plaintext gRPC over the private socket). */
  endpoint: string;
  /** Connections refused because the chain did not hold (empty when all went through). */
  refusals: string[];
  close(): Promise<void>;
}

/**
 * A unix socket that forwards each connection to etcd over TLS — but only after that very
 * connection's presented chain was judged 'valid' or 'expired' (it is re-checked every time,
 * so a swapped server in between is refused). etcdctl speaks plaintext gRPC (h2 prior knowledge)
 * to the socket; the frames inside the TLS are the same.
 */
export async function openTlsRelay(target: TlsTarget): Promise<TlsRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'rescue-kit-relay-'));
  const path = join(dir, 'etcd.sock');
  const refusals: string[] = [];
  const { host } = hostAndPort(target.endpoint);
  const open = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true }, (local) => {
    open.add(local);
    local.once('close', () => open.delete(local));
    local.on('error', () => local.destroy());
    dialTls(target, 10_000).then(
      (remote) => {
        open.add(remote);
        remote.once('close', () => open.delete(remote));
        let verdict: ServingCertVerdict;
        try {
          verdict = judgeServingChain(presentedChain(remote), target.caPem, host, target.now);
        } catch (error) {
          verdict = { verdict: 'untrusted', detail: (error as Error).message };
        }
        if (verdict.verdict !== 'valid' && verdict.verdict !== 'expired') {
          refusals.push(verdict.detail);
          remote.destroy();
          local.destroy();
          return;
        }
        if (remote.alpnProtocol !== 'h2') {
          refusals.push(`etcd at ${target.endpoint} did not agree to HTTP/2 (ALPN ${remote.alpnProtocol || 'none'})`);
          remote.destroy();
          local.destroy();
          return;
        }
        remote.on('error', () => local.destroy());
        local.on('error', () => remote.destroy());
        remote.once('close', () => local.destroy());
        local.once('close', () => remote.destroy());
        local.pipe(remote);
        remote.pipe(local);
        local.resume();
      },
      (error: Error) => {
        refusals.push(`no TLS handshake with ${target.endpoint}: ${error.message}`);
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    endpoint: `unix://${path}`,
    refusals,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
