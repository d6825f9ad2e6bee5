// `ca rotate`: during the transition a client holding the bundle accepts servers
// signed by the old and by the new CA; after finish, only the new (real TLS).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, createServer, Server } from 'node:tls';
import { parse } from 'yaml';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificates } from '../lib/pki/certificate.js';
import { goCheck, runCli, tempDir } from './helpers/env.js';

async function serve(cert: Buffer, key: Buffer): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert, key }, (socket) => socket.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function trusts(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'kubernetes', ca }, () => {
      resolve(socket.authorized);
      socket.end();
    });
    socket.on('error', () => resolve(false));
  });
}

const adminCaData = (root: string) => Buffer.from(parse(readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8')).clusters[0].cluster['certificate-authority-data'], 'base64');

describe('ca rotate (seed 004: two CAs trusted during the switch)', function () {
  this.timeout(60_000);
  let root: string;
  let servers: Server[] = [];
  const pki = (file: string) => join(root, 'etc/kubernetes/pki', file);

  before(async () => {
    root = tempDir();
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
  });
  after(() => servers.forEach((server) => server.close()));

  it('start: bundle [new, old] in ca.crt and kubeconfigs; servers signed by either CA are trusted; finish: only the new', async () => {
    const oldCa = readFileSync(pki('ca.crt'));
    const oldServer = await serve(readFileSync(pki('apiserver.crt')), readFileSync(pki('apiserver.key')));
    servers.push(oldServer.server);

    const start = await runCli(['ca', 'rotate', '--phase', 'start', '--root', root, '--yes', '--no-etcd-backup']);
    expect(start.exitCode, start.stderr).to.equal(0);
    const bundle = readFileSync(pki('ca.crt'));
    const [newCaCert, oldCaCert] = parseCertificates(bundle);
    expect(oldCaCert!.der.equals(parseCertificates(oldCa)[0]!.der)).to.equal(true);
    expect(newCaCert!.spkiDer.equals(oldCaCert!.spkiDer)).to.equal(false);
    expect(adminCaData(root).equals(bundle)).to.equal(true);

    const newServer = await serve(readFileSync(pki('apiserver.crt')), readFileSync(pki('apiserver.key')));
    servers.push(newServer.server);
    expect(parseCertificates(readFileSync(pki('apiserver.crt')))[0]!.authorityKeyId!.equals(newCaCert!.subjectKeyId!)).to.equal(true);
    // A client holding the bundle (what admin.conf now carries) trusts both servers; one with a single CA only its own.
    expect(await trusts(oldServer.port, adminCaData(root))).to.equal(true);
    expect(await trusts(newServer.port, adminCaData(root))).to.equal(true);
    expect(await trusts(newServer.port, oldCa)).to.equal(false);
    expect(await trusts(oldServer.port, Buffer.from(newCaCert!.pem))).to.equal(false);
    // Go, too, builds the chain to the right one of two same-named CAs.
    const go = await goCheck(['-roots', pki('ca.crt'), '-leaf', pki('apiserver.crt'), '-eku', 'server', '-dns', 'kubernetes']);
    expect(go.ok, go.error).to.equal(true);

    const finish = await runCli(['ca', 'rotate', '--phase', 'finish', '--root', root, '--yes', '--no-etcd-backup']);
    expect(finish.exitCode, finish.stderr).to.equal(0);
    expect(parseCertificates(readFileSync(pki('ca.crt')))).to.have.length(1);
    expect(await trusts(newServer.port, adminCaData(root))).to.equal(true);
    expect(await trusts(oldServer.port, adminCaData(root))).to.equal(false);
    expect(() => readFileSync(pki('ca.old.key'))).to.throw();
  });

  it('a second start during a transition is refused; rollback of a start restores the old CA byte for byte', async () => {
    const other = tempDir();
    writeTree(other, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
    const before = ['ca.crt', 'ca.key', 'apiserver.crt'].map((file) => readFileSync(join(other, 'etc/kubernetes/pki', file)));
    expect((await runCli(['ca', 'rotate', '--phase', 'start', '--root', other, '--yes', '--no-etcd-backup'])).exitCode).to.equal(0);
    const again = await runCli(['ca', 'rotate', '--phase', 'start', '--root', other, '--yes', '--no-etcd-backup']);
    expect(again.exitCode).to.equal(3);
    expect(again.stderr).to.include('transition phase');
    const rollback = await runCli(['rollback', '--root', other, '--yes']);
    expect(rollback.exitCode, rollback.stderr).to.equal(0);
    ['ca.crt', 'ca.key', 'apiserver.crt'].forEach((file, index) => expect(readFileSync(join(other, 'etc/kubernetes/pki', file)).equals(before[index]!), file).to.equal(true));
    expect(() => readFileSync(join(other, 'etc/kubernetes/pki/ca.old.key'))).to.throw();
  });
});
