// `webhook` offline: patched Secret and caBundles field by field, and a real TLS
// server with the new serving cert accepted by a client trusting only the caBundle.
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { parseCertificate } from '../lib/pki/certificate.js';
import { keyMatchesCertificate, verifyChain } from '../lib/pki/verify.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { opensslVerify, runCli, tempDir } from './helpers/env.js';

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

/** An expired serving cert made by openssl at an earlier date, answering to more than the four service forms. */
async function oldServingCert(dir: string, sans: string): Promise<string> {
  const cert = join(dir, 'old.crt');
  const made = await execa('faketime', ['2021-01-01 00:00:00', 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'old.key'), '-out', cert, '-days', '365', '-subj', `/CN=${SVC}.${NS}.svc`, '-addext', `subjectAltName=${sans}`], { reject: false });
  expect(made.exitCode, String(made.stderr)).to.equal(0);
  return readFileSync(cert, 'utf8');
}

const workload = (kind: string, name: string, volumes: unknown[], namespace = NS) => ({ apiVersion: 'apps/v1', kind, metadata: { name, namespace }, spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }], volumes } } } });

describe('webhook: KubeSphere\'s two configurations, the old SANs, the workloads that mount the Secret', function () {
  this.timeout(60_000);
  const OLD_SANS = `DNS:${SVC}.${NS}.svc,DNS:${SVC}.kubesphere-system.svc,DNS:devops.example.internal,IP:127.0.0.1,IP:10.233.0.15`;
  let dir: string;
  let from: string;

  beforeEach(async () => {
    dir = tempDir();
    from = join(dir, 'exported');
    mkdirSync(from);
    const old = await oldServingCert(dir, OLD_SANS);
    writeFileSync(join(from, 'secret.yaml'), stringify({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 's2i-webhook-tls', namespace: NS }, data: { 'tls.crt': Buffer.from(old).toString('base64'), 'tls.key': 'b2xk' } }));
    const webhooks = [{ name: 's2ibuilder.devops.kubesphere.io', clientConfig: { caBundle: 'b2xk', service: { name: SVC, namespace: NS } } }];
    writeFileSync(join(from, 'validating.yaml'), stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'ks-devops-validating' }, webhooks }));
    writeFileSync(join(from, 'mutating.yaml'), stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'ks-devops-mutating' }, webhooks }));
  });

  const run = (extra: string[], out = join(dir, 'out')) => runCli(['webhook', '--namespace', NS, '--service', SVC, '--secret', 's2i-webhook-tls', '--from', from, '--out', out, ...extra]);

  it('--validating-config and --mutating-config: both differently named configurations patched in one run, both in apply.sh and rollback.sh', async () => {
    const result = await run(['--validating-config', 'ks-devops-validating', '--mutating-config', 'ks-devops-mutating']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const out = join(dir, 'out');
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    for (const [kind, name] of [['validatingwebhookconfiguration', 'ks-devops-validating'], ['mutatingwebhookconfiguration', 'ks-devops-mutating']] as const) {
      const configuration = parse(readFileSync(join(out, `${kind}.yaml`), 'utf8'));
      expect(configuration.metadata.name).to.equal(name);
      expect(Buffer.from(configuration.webhooks[0].clientConfig.caBundle, 'base64').toString()).to.equal(ca);
      expect(parse(readFileSync(join(out, 'original', `${kind}.yaml`), 'utf8')).webhooks[0].clientConfig.caBundle).to.equal('b2xk');
      expect(readFileSync(join(out, 'apply.sh'), 'utf8')).to.include(`kubectl apply -f ${kind}.yaml`);
      expect(readFileSync(join(out, 'rollback.sh'), 'utf8')).to.include(`kubectl apply -f ${kind}.yaml`);
      expect(result.stderr).to.include(`${name}: caBundle replaced in s2ibuilder.devops.kubesphere.io`);
    }
  });

  it('mixing the two ways of naming configurations, or naming none, is a usage error that writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--webhook-config', 'ks-devops-validating', '--mutating-config', 'ks-devops-mutating'], /--webhook-config and --validating-config\/--mutating-config/],
      [['--kind', 'both', '--validating-config', 'ks-devops-validating'], /--kind both does not match/],
      [[], /no webhook configuration named/],
    ];
    for (const [extra, message] of cases) {
      const result = await run(extra);
      expect(result.exitCode, extra.join(' ')).to.equal(2);
      expect(result.stderr).to.match(message);
    }
    expect(existsSync(join(dir, 'out'))).to.equal(false);
    // one kind alone, by its own flag
    const mutatingOnly = await run(['--mutating-config', 'ks-devops-mutating']);
    expect(mutatingOnly.exitCode, mutatingOnly.stderr).to.equal(0);
    expect(existsSync(join(dir, 'out', 'mutatingwebhookconfiguration.yaml'))).to.equal(true);
    expect(existsSync(join(dir, 'out', 'validatingwebhookconfiguration.yaml'))).to.equal(false);
  });

  it('the renewed serving cert keeps every SAN the old one had besides the four service forms (openssl x509 -ext subjectAltName)', async () => {
    const result = await run(['--webhook-config', 'ks-devops-validating']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const out = join(dir, 'out');
    const shown = await execa('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-ext', 'subjectAltName']);
    const sans = String(shown.stdout).split('\n')[1]!.trim().split(', ');
    expect(sans).to.deep.equal([
      `DNS:${SVC}`, `DNS:${SVC}.${NS}`, `DNS:${SVC}.${NS}.svc`, `DNS:${SVC}.${NS}.svc.cluster.local`,
      `DNS:${SVC}.kubesphere-system.svc`, 'DNS:devops.example.internal', 'IP Address:127.0.0.1', 'IP Address:10.233.0.15',
    ]);
    const [verified, output] = await opensslVerify(join(out, 'ca.crt'), join(out, 'tls.crt'), ['-purpose', 'sslserver', '-verify_ip', '127.0.0.1']);
    expect(verified, output).to.equal(true);
    expect(result.stderr).to.include(`kept from the old serving cert: ${SVC}.kubesphere-system.svc, devops.example.internal, 127.0.0.1, 10.233.0.15`);
  });

  it('apply.sh restarts the workloads whose pods mount the Secret (found in --from), not a guessed deployment/<name>', async () => {
    writeFileSync(join(from, 'workloads.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: [
      workload('Deployment', 'devops-controller', [{ name: 'cert', secret: { secretName: 's2i-webhook-tls' } }]),
      workload('StatefulSet', 's2ioperator', [{ name: 'all', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 's2i-webhook-tls' } }] } }]),
      workload('Deployment', 'ks-apiserver', [{ name: 'cert', secret: { secretName: 'other-tls' } }]),
      workload('DaemonSet', 'node-agent', []),
      workload('Deployment', 'same-name-elsewhere', [{ name: 'cert', secret: { secretName: 's2i-webhook-tls' } }], 'kubesphere-system'),
    ] }));
    const result = await run(['--webhook-config', 'ks-devops-validating']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const restarts = readFileSync(join(dir, 'out', 'apply.sh'), 'utf8').split('\n').filter((line) => line.includes('rollout restart'));
    expect(restarts).to.deep.equal([`kubectl -n ${NS} rollout restart deployment/devops-controller`, `kubectl -n ${NS} rollout restart statefulset/s2ioperator`]);
    expect(result.stderr).to.include('restart after applying: deployment/devops-controller, statefulset/s2ioperator');
  });

  it('when no workload mounts the Secret, apply.sh and stderr say so instead of guessing a name', async () => {
    const result = await run(['--webhook-config', 'ks-devops-validating']);
    expect(result.exitCode, result.stderr).to.equal(0);
    const apply = readFileSync(join(dir, 'out', 'apply.sh'), 'utf8');
    expect(apply).to.include(`# no Deployment, StatefulSet or DaemonSet in ${NS} mounts Secret s2i-webhook-tls (searched ${from})`);
    expect(apply.split('\n').filter((line) => line.startsWith('kubectl'))).to.deep.equal(['kubectl apply -f secret.yaml', 'kubectl apply -f validatingwebhookconfiguration.yaml']);
    expect(apply).to.not.include('<name>');
    expect(result.stderr).to.match(/warning: no Deployment, StatefulSet or DaemonSet .* mounts Secret s2i-webhook-tls/);
    expect(result.stdout).to.equal('');
  });
});
