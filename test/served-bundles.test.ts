// What a caBundle's server presents, asked over real TLS the way the apiserver reaches a webhook by url:
// a cert of the new CA, of the old CA only, of neither, or no answer. Only "new" lets distrust take the
// old CA out of that bundle (test/ca-rotate-rig-ca.test.ts has the Service/Endpoints path on the rig).
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { createHost } from '../lib/host/host.js';
import { servedVerdict } from '../lib/ops/ca/served-bundles.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey } from '../lib/pki/keys.js';
import { classifyHosts, emptySans } from '../lib/pki/san.js';
import { issueCertificate, type Signer } from '../lib/pki/sign.js';

/** A self-signed CA pair (what issueCertificate does without an issuer). */
async function makeCa(cn: string): Promise<Signer> {
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({ template: { subject: { CN: cn }, sans: emptySans(), usages: parseUsages(['cert sign', 'crl sign', 'signing']), isCA: true, durationMs: 86_400_000 }, subjectKey: key, now: new Date(Date.now() - 60_000) });
  return { certificate, key };
}

async function servingFrom(ca: Signer): Promise<{ cert: string; key: string }> {
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({ template: { subject: { CN: 'hook.example' }, sans: classifyHosts(['hook.example', '127.0.0.1']), usages: parseUsages(['digital signature', 'server auth']), isCA: false, durationMs: 86_400_000 }, subjectKey: key, issuer: ca, now: new Date(Date.now() - 60_000) });
  return { cert: certificate.pem, key: exportPrivateKeyPem(key) };
}

describe('served caBundle check: which CA the server behind a caBundle presents', () => {
  const servers: Server[] = [];
  const listen = async (pair: { cert: string; key: string }) => {
    const server = createServer(pair, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`;
  };
  after(() => servers.forEach((server) => server.close()));

  it('new-CA cert: new; old-CA cert: old (naming the address); another CA: unknown; a closed port or a bad url: unknown', async () => {
    const [oldCa, newCa, otherCa] = await Promise.all([makeCa('old-ca'), makeCa('new-ca'), makeCa('other-ca')]);
    const ca = { old: [oldCa.certificate], new: newCa.certificate };
    const host = createHost({});
    const ask = (url: string) => servedVerdict(host, '/nonexistent-kubeconfig', { url }, ca);
    expect(await ask(await listen(await servingFrom(newCa)))).to.deep.equal({ state: 'new' });
    const oldUrl = await listen(await servingFrom(oldCa));
    expect(await ask(oldUrl)).to.deep.equal({ state: 'old', at: new URL(oldUrl).host });
    const other = await ask(await listen(await servingFrom(otherCa)));
    expect(other.state).to.equal('unknown');
    expect((other as { why: string }).why).to.include('presents a cert of neither CA (issuer CN=other-ca)');
    const closed = await ask('https://127.0.0.1:1/validate');
    expect(closed.state).to.equal('unknown');
    expect((closed as { why: string }).why).to.match(/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect((await ask('not a url')).state).to.equal('unknown');
  });
});
