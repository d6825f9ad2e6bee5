// `webhook` offline: patched Secret and caBundles field by field, and a real TLS
// server with the new serving cert accepted by a client trusting only the caBundle.
import { expect } from 'chai';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { AddressInfo } from 'node:net';
import { parse, stringify } from 'yaml';
import { parseCertificate } from '../lib/pki/certificate.js';
import { keyMatchesCertificate, verifyChain } from '../lib/pki/verify.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { runCli, tempDir } from './helpers/env.js';

const NS = 'kubesphere-devops-system';
const SVC = 'webhook-server-service';

function exported(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'secret.yaml'), stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 's2i-webhook-tls', namespace: NS, resourceVersion: '12345', uid: 'abc', labels: { app: 's2i' } }, data: { 'tls.crt': 'b2xk', 'tls.key': 'b2xk' } }));
  const webhooks = (caBundle: string) => [
    { name: 's2ibuilder.validating.devops.kubesphere.io', clientConfig: { caBundle, service: { name: SVC, namespace: NS, path: '/validate' } }, rules: [{ operations: ['CREATE'] }] },
    { name: 'other.example.com', clientConfig: { caBundle: 'dW50b3VjaGVk', service: { name: 'other', namespace: 'elsewhere' } } },
  ];
  writeFileSync(join(dir, 'validating.yaml'), stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'validating-webhook-configuration', resourceVersion: '9' }, webhooks: webhooks('b2xk') }));
  writeFileSync(join(dir, 'mutating.yaml'), `${stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'validating-webhook-configuration' }, webhooks: webhooks('b2xk') })}`);
}

describe('webhook (seed 000)', function () {
  this.timeout(60_000);
  let out: string;
  let from: string;

  before(async () => {
    const dir = tempDir();
    from = join(dir, 'exported');
    out = join(dir, 'out');
    exported(from);
    const result = await runCli(['webhook', '--namespace', NS, '--service', SVC, '--secret', 's2i-webhook-tls', '--webhook-config', 'validating-webhook-configuration', '--kind', 'both', '--from', from, '--out', out, '--workload', 'statefulset/s2ioperator']);
    expect(result.exitCode, result.stderr).to.equal(0);
  });

  it('patches the Secret: tls.crt/tls.key/ca.crt, keeps labels, drops server-owned fields; written 0600', () => {
    const secret = parse(readFileSync(join(out, 'secret.yaml'), 'utf8'));
    expect(statSync(join(out, 'secret.yaml')).mode & 0o777).to.equal(0o600);
    expect(secret.metadata).to.deep.equal({ name: 's2i-webhook-tls', namespace: NS, labels: { app: 's2i' } });
    const cert = parseCertificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    const key = parsePrivateKey(Buffer.from(secret.data['tls.key'], 'base64'));
    const ca = parseCertificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    expect(keyMatchesCertificate(key, cert)).to.equal(true);
    expect(cert.sans.dns).to.deep.equal([SVC, `${SVC}.${NS}`, `${SVC}.${NS}.svc`, `${SVC}.${NS}.svc.cluster.local`]);
    expect(cert.extKeyUsage).to.deep.equal(['server auth']);
    expect(verifyChain(cert, { roots: [ca], now: new Date() }).ok).to.equal(true);
    expect(cert.notAfter.getTime() - Date.now()).to.be.greaterThan(9 * 365 * 86_400_000);
    expect(statSync(join(out, 'tls.key')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(out, 'ca.key')).mode & 0o777).to.equal(0o600);
  });

  it('replaces caBundle only in the webhooks that call the service, in both kinds; originals kept', () => {
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const configuration = parse(readFileSync(join(out, `${kind}.yaml`), 'utf8'));
      expect(configuration.metadata.resourceVersion).to.equal(undefined);
      expect(Buffer.from(configuration.webhooks[0].clientConfig.caBundle, 'base64').toString()).to.equal(ca);
      expect(configuration.webhooks[0].clientConfig.service).to.deep.equal({ name: SVC, namespace: NS, path: '/validate' });
      expect(configuration.webhooks[0].rules).to.deep.equal([{ operations: ['CREATE'] }]);
      expect(configuration.webhooks[1].clientConfig.caBundle).to.equal('dW50b3VjaGVk');
      const original = parse(readFileSync(join(out, 'original', `${kind}.yaml`), 'utf8'));
      expect(original.webhooks[0].clientConfig.caBundle).to.equal('b2xk');
    }
    const apply = readFileSync(join(out, 'apply.sh'), 'utf8');
    expect(apply).to.include('kubectl apply -f secret.yaml').and.include('kubectl apply -f validatingwebhookconfiguration.yaml').and.include(`kubectl -n ${NS} rollout restart statefulset/s2ioperator`);
    expect(readFileSync(join(out, 'rollback.sh'), 'utf8')).to.include('kubectl apply -f secret.yaml');
  });

  it('a TLS server with the new serving cert is accepted, for each SAN form, by a client trusting only the caBundle', async () => {
    const configuration = parse(readFileSync(join(out, 'validatingwebhookconfiguration.yaml'), 'utf8'));
    const caBundle = Buffer.from(configuration.webhooks[0].clientConfig.caBundle, 'base64');
    const server = createServer({ cert: readFileSync(join(out, 'tls.crt')), key: readFileSync(join(out, 'tls.key')) }, (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const handshake = (servername: string, ca: Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, servername, ca }, () => {
          resolve(socket.authorized ? 'authorized' : String(socket.authorizationError));
          socket.end();
        });
        socket.on('error', (error) => resolve(error.message));
      });
    try {
      for (const name of [SVC, `${SVC}.${NS}`, `${SVC}.${NS}.svc`, `${SVC}.${NS}.svc.cluster.local`]) {
        expect(await handshake(name, caBundle), name).to.equal('authorized');
      }
      expect(await handshake('other.svc', caBundle)).to.match(/altnames|Hostname\/IP does not match/);
      const otherCa = readFileSync(join(out, 'tls.crt')); // the leaf is not a CA: trusting it alone must fail
      expect(await handshake(`${SVC}.${NS}.svc`, otherCa)).to.not.equal('authorized');
    } finally {
      server.close();
    }
  });

  it('refuses a configuration with no webhook calling the service, writing nothing', async () => {
    const dir = tempDir();
    const result = await runCli(['webhook', '--namespace', NS, '--service', 'nosuch', '--secret', 's2i-webhook-tls', '--webhook-config', 'validating-webhook-configuration', '--from', from, '--out', join(dir, 'out')]);
    expect(result.exitCode).to.equal(4);
    expect(result.stderr).to.include('no webhook calling service');
    expect(() => statSync(join(dir, 'out'))).to.throw();
  });
});
