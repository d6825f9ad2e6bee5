// Served-cert proof (lib/ops/renewal/served-cert.ts) against real TLS servers:
// a server that keeps serving the old certificate after the file was renewed
// fails the proof with both serials; one restarted on the new file passes.
// Where to connect comes from the static pod manifests' flags.
import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:tls';
import { join } from 'node:path';
import { createHost } from '../lib/host/host.js';
import { readManifests } from '../lib/ops/inventory/manifests.js';
import { normalSerial, proveServedCertificates, servingEndpoints } from '../lib/ops/renewal/served-cert.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { cli, readCert, sandboxRoot, show } from './helpers/renew.js';

/** A TLS server with these bytes (read now: it keeps serving them whatever happens to the file). */
async function tlsServer(cert: Buffer, key: Buffer, ca: Buffer): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: true }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('served-cert proof: the certificate on the wire against the renewed file', function () {
  this.timeout(60_000);
  let root: string;
  let pki: string;

  before(async () => {
    root = await sandboxRoot({ expiredDaysAgo: -5 });
    pki = join(root, 'etc/kubernetes/pki');
  });

  it('a server still presenting the old apiserver cert fails: "still serving the old cert (serial X), expected Y"; restarted on the new file it passes', async () => {
    const host = createHost({ root });
    const oldCert = readFileSync(join(pki, 'apiserver.crt'));
    const key = readFileSync(join(pki, 'apiserver.key'));
    const ca = readFileSync(join(pki, 'ca.crt'));
    const stale = await tlsServer(oldCert, key, ca);
    try {
      const run = await cli(['renew', 'apiserver', 'admin.conf', '--restart', 'none', '--yes', '--no-etcd-backup', '--force', '--root', root]);
      expect(run.exitCode, show(run)).to.equal(0);
      const newSerial = normalSerial(readCert(join(pki, 'apiserver.crt')).serialHex);
      const previous = normalSerial(parseCertificate(oldCert).serialHex);
      expect(newSerial).to.not.equal(previous);
      const endpoints = servingEndpoints(readManifests(host), 'kube-apiserver', `https://127.0.0.1:${stale.port}`);
      expect(endpoints).to.deep.equal([{ what: 'kube-apiserver', host: '127.0.0.1', port: stale.port, certFile: '/etc/kubernetes/pki/apiserver.crt', servername: 'kubernetes' }]);
      // The admin.conf client cert (renewed, valid) gets us through the server's client-cert demand.
      const admin = readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8');
      const client = { cert: Buffer.from(/client-certificate-data: (\S+)/.exec(admin)![1]!, 'base64'), key: Buffer.from(/client-key-data: (\S+)/.exec(admin)![1]!, 'base64') };
      const proof = await proveServedCertificates(host, endpoints, client);
      expect(proof.ok).to.equal(false);
      expect(proof.detail).to.equal(`kube-apiserver 127.0.0.1:${stale.port} is still serving the old cert (serial ${previous}), expected ${newSerial} from /etc/kubernetes/pki/apiserver.crt`);

      const fresh = await tlsServer(readFileSync(join(pki, 'apiserver.crt')), key, ca);
      try {
        const good = await proveServedCertificates(host, servingEndpoints(readManifests(host), 'kube-apiserver', `https://127.0.0.1:${fresh.port}`), client);
        expect(good, good.detail).to.deep.equal({ ok: true, detail: `kube-apiserver 127.0.0.1:${fresh.port} serves serial ${newSerial}` });
      } finally {
        await close(fresh.server);
      }
    } finally {
      await close(stale.server);
    }
  });

  it('nothing listening is a failure that says so, not a pass', async () => {
    const host = createHost({ root });
    const proof = await proveServedCertificates(host, [{ what: 'etcd peer', host: '127.0.0.1', port: 1, certFile: '/etc/kubernetes/pki/etcd/peer.crt' }]);
    expect(proof.ok).to.equal(false);
    expect(proof.detail).to.match(/^etcd peer 127\.0\.0\.1:1: cannot read the served certificate: .*ECONNREFUSED/);
  });

  it('ports and files from the manifests: etcd every client and peer URL (once each); apiserver --advertise-address:--secure-port; controller-manager/scheduler only with --tls-cert-file', () => {
    const cluster = readManifests(createHost({ root }));
    expect(servingEndpoints(cluster, 'etcd')).to.deep.equal([
      { what: 'etcd client', host: '127.0.0.1', port: 2379, certFile: '/etc/kubernetes/pki/etcd/server.crt' },
      { what: 'etcd peer', host: '127.0.0.1', port: 2380, certFile: '/etc/kubernetes/pki/etcd/peer.crt' },
    ]);
    expect(servingEndpoints(cluster, 'kube-apiserver')).to.deep.equal([{ what: 'kube-apiserver', host: '127.0.0.1', port: 6443, certFile: '/etc/kubernetes/pki/apiserver.crt', servername: 'kubernetes' }]);
    expect(servingEndpoints(cluster, 'kube-scheduler')).to.deep.equal([]);
    const scheduler = cluster.components.find((entry) => entry.component === 'kube-scheduler')!;
    const withTls = { ...cluster, components: [...cluster.components.filter((entry) => entry !== scheduler), { ...scheduler, flags: new Map([...scheduler.flags, ['tls-cert-file', '/etc/kubernetes/pki/scheduler.crt'], ['bind-address', '0.0.0.0']]) }] };
    expect(servingEndpoints(withTls, 'kube-scheduler')).to.deep.equal([{ what: 'kube-scheduler', host: '127.0.0.1', port: 10259, certFile: '/etc/kubernetes/pki/scheduler.crt' }]);
  });
});
