// The cluster CA's copies outside the node's own files, through `ca rotate ca` on a copy of a real tree:
// users' kubeconfigs (~/.kube/config of root and of each home) in the phase's plan, and the in-cluster
// objects (cluster-info, webhook/APIService/CRD caBundles) from an export when the API does not answer.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseCertificates } from '../lib/pki/certificate.js';
import { exportPrivateKeyPem, generateKey } from '../lib/pki/keys.js';
import { emptySans } from '../lib/pki/san.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { fixtureRoot, opensslVerify, runCli, tempDir } from './helpers/env.js';

const rotate = (root: string, phase: string, extra: string[] = []) => runCli(['ca', 'rotate', 'ca', ...extra, '--phase', phase, '--root', root, '--yes', '--no-etcd-backup']);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString();
const derOf = (pem: string) => parseCertificates(pem).map((certificate) => certificate.der.toString('base64'));
const bundleOf = (file: string, index = 0) => derOf(unb64(parse(readFileSync(file, 'utf8')).clusters[index].cluster['certificate-authority-data']));
const clientCertOf = (file: string, index = 0) => unb64(parse(readFileSync(file, 'utf8')).users[index].user['client-certificate-data']);
const inClusterDirs = (root: string) => {
  const base = join(root, 'var/lib/rescue-kit/ca-rotation');
  return existsSync(base) ? readdirSync(base).filter((name) => name.startsWith('in-cluster-')).map((name) => join(base, name)) : [];
};

function otherCa(): string {
  return execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=another-cluster', '-days', '30'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

/** A tree with root's copy of admin.conf, alice's two-cluster kubeconfig (her own cert), bob's of another cluster. */
async function treeWithUsers(): Promise<{ root: string; oldCa: string; another: string; aliceOwnCert: string }> {
  const root = fixtureRoot('kubeadm-1.25-expired');
  const admin = readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8');
  const oldCa = parseCertificates(readFileSync(join(root, 'etc/kubernetes/pki/ca.crt')))[0]!.pem;
  const another = otherCa();
  mkdirSync(join(root, 'root/.kube'), { recursive: true });
  writeFileSync(join(root, 'root/.kube/config'), admin, { mode: 0o600 });
  // A service user whose home /etc/passwd names outside /home (CI running kubectl with a copy of admin.conf).
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\njenkins:x:110:117:Jenkins,,,:/var/lib/jenkins:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  mkdirSync(join(root, 'var/lib/jenkins/.kube'), { recursive: true });
  writeFileSync(join(root, 'var/lib/jenkins/.kube/config'), admin, { mode: 0o600 });
  // alice: her own client cert from the cluster CA, and a second cluster entry that is none of ours.
  const issuer = { certificate: parseCertificates(readFileSync(join(root, 'etc/kubernetes/pki/ca.crt')))[0]!, key: parsePrivateKey(readFileSync(join(root, 'etc/kubernetes/pki/ca.key'))) };
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({ template: { subject: { CN: 'alice', O: ['ops'] }, sans: emptySans(), usages: parseUsages(['signing', 'client auth']), isCA: false, durationMs: 86_400_000 }, subjectKey: key, issuer, now: new Date(Date.now() - 60_000) });
  const server = parse(admin).clusters[0].cluster.server;
  const alice = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'prod', cluster: { server, 'certificate-authority-data': b64(oldCa) } },
      { name: 'lab', cluster: { server: 'https://10.9.9.9:6443', 'certificate-authority-data': b64(another) } },
    ],
    users: [{ name: 'alice', user: { 'client-certificate-data': b64(certificate.pem), 'client-key-data': b64(exportPrivateKeyPem(key)) } }],
    contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'alice' } }],
    'current-context': 'prod',
  };
  mkdirSync(join(root, 'home/alice/.kube'), { recursive: true });
  writeFileSync(join(root, 'home/alice/.kube/config'), stringify(alice, { lineWidth: 0 }), { mode: 0o600 });
  mkdirSync(join(root, 'home/bob/.kube'), { recursive: true });
  writeFileSync(join(root, 'home/bob/.kube/config'), stringify({ ...alice, clusters: [alice.clusters[1]], contexts: [], 'current-context': '' }, { lineWidth: 0 }), { mode: 0o600 });
  return { root, oldCa, another, aliceOwnCert: certificate.pem };
}

/** What `kubectl get ... -o json` exports: cluster-info and four kinds of caBundle carriers, one of ours only in part. */
function exportObjects(dir: string, oldCa: string, another: string): void {
  mkdirSync(dir, { recursive: true });
  const kubeconfig = `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(oldCa)}\n    server: https://172.31.33.71:6443\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n`;
  const list = (kind: string, items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: `${kind}List`, items });
  writeFileSync(join(dir, 'cluster-info.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public', resourceVersion: '11' }, data: { kubeconfig, 'jws-kubeconfig-abcdef': 'eyJhbGciOiJIUzI1NiJ9..c2ln' } }));
  writeFileSync(join(dir, 'validatingwebhookconfigurations.json'), list('ValidatingWebhookConfiguration', [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'policy', resourceVersion: '12' }, webhooks: [{ name: 'ours.example.com', clientConfig: { caBundle: b64(oldCa), service: { name: 'a', namespace: 'x' } } }, { name: 'theirs.example.com', clientConfig: { caBundle: b64(another), service: { name: 'b', namespace: 'x' } } }] }]));
  writeFileSync(join(dir, 'mutatingwebhookconfigurations.json'), list('MutatingWebhookConfiguration', [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'own-ca', resourceVersion: '13' }, webhooks: [{ name: 'c.example.com', clientConfig: { caBundle: b64(another), url: 'https://c.example.com' } }] }]));
  writeFileSync(join(dir, 'apiservices.json'), list('APIService', [{ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.metrics.k8s.io', resourceVersion: '14' }, spec: { caBundle: b64(oldCa), group: 'metrics.k8s.io', version: 'v1beta1' } }]));
  writeFileSync(join(dir, 'customresourcedefinitions.json'), list('CustomResourceDefinition', [{ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com', resourceVersion: '15' }, spec: { conversion: { strategy: 'Webhook', webhook: { clientConfig: { caBundle: b64(another + oldCa) } } } } }]));
}

const patchedIn = (dir: string) => Object.fromEntries(readdirSync(join(dir, 'patched')).map((name) => [name.replace(/^\d+-/, '').replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, 'patched', name), 'utf8'))]));

describe('ca rotate ca: copies outside the node (users\' kubeconfigs, in-cluster objects)', function () {
  this.timeout(180_000);

  it('updates users\' kubeconfigs in each phase: their CA data, a copy of admin.conf\'s credentials; others\' clusters untouched; distrust names a user cert only the old CA signed', async () => {
    const { root, oldCa, another, aliceOwnCert } = await treeWithUsers();
    const rootConfig = join(root, 'root/.kube/config');
    const aliceConfig = join(root, 'home/alice/.kube/config');
    const bobConfig = join(root, 'home/bob/.kube/config');
    const bobBefore = readFileSync(bobConfig);
    const aliceBefore = readFileSync(aliceConfig, 'utf8');

    const trust = await rotate(root, 'trust', ['--no-in-cluster']);
    expect(trust.exitCode, trust.stderr).to.equal(0);
    expect(trust.stdout).to.match(/\/root\/\.kube\/config: a user's kubeconfig: trusts the new CA too/);
    expect(trust.stdout).to.match(/\/var\/lib\/jenkins\/\.kube\/config: a user's kubeconfig: trusts the new CA too/);
    const newCa = parseCertificates(readFileSync(join(root, 'etc/kubernetes/pki/ca.new.crt')))[0]!.pem;
    expect(bundleOf(rootConfig)).to.deep.equal([...derOf(oldCa), ...derOf(newCa)]);
    expect(bundleOf(aliceConfig, 0)).to.deep.equal([...derOf(oldCa), ...derOf(newCa)]);
    expect(bundleOf(aliceConfig, 1), "alice's other cluster").to.deep.equal(derOf(another));
    expect(readFileSync(bobConfig).equals(bobBefore), "bob's kubeconfig is another cluster's").to.equal(true);
    // Only the CA data changed in alice's file: every other line is as it was.
    const changedLines = readFileSync(aliceConfig, 'utf8').split('\n').filter((line, index) => line !== aliceBefore.split('\n')[index]);
    expect(changedLines).to.have.length(1);
    expect(changedLines[0]).to.match(/^\s+certificate-authority-data: /);
    expect(inClusterDirs(root), '--no-in-cluster writes no in-cluster directory').to.deep.equal([]);

    // reissue: root's copy of admin.conf gets admin.conf's re-signed cert; alice keeps her own (old-signed) one.
    const reissue = await rotate(root, 'reissue', ['--no-in-cluster']);
    expect(reissue.exitCode, reissue.stderr).to.equal(0);
    const adminCert = clientCertOf(join(root, 'etc/kubernetes/admin.conf'));
    expect(clientCertOf(rootConfig)).to.equal(adminCert);
    expect(clientCertOf(join(root, 'var/lib/jenkins/.kube/config')), "jenkins' copy too").to.equal(adminCert);
    expect(unb64(parse(readFileSync(rootConfig, 'utf8')).users[0].user['client-key-data'])).to.equal(unb64(parse(readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8')).users[0].user['client-key-data']));
    expect(clientCertOf(aliceConfig)).to.equal(aliceOwnCert);

    // distrust: alice's cert would be refused; refused without --force, naming her file, nothing changed.
    const before = readFileSync(join(root, 'etc/kubernetes/pki/ca.crt'));
    const refused = await rotate(root, 'distrust', ['--no-in-cluster']);
    expect(refused.exitCode).to.equal(3);
    expect(refused.stderr).to.match(/home\/alice\/\.kube\/config \(user alice, .*CN=alice/);
    expect(readFileSync(join(root, 'etc/kubernetes/pki/ca.crt')).equals(before)).to.equal(true);
    const forced = await rotate(root, 'distrust', ['--no-in-cluster', '--force']);
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(bundleOf(rootConfig)).to.deep.equal(derOf(newCa));
    expect(bundleOf(aliceConfig, 1)).to.deep.equal(derOf(another));
    // root's copy works against the final CA alone (openssl, not our own check).
    const work = tempDir('rk-users-');
    writeFileSync(join(work, 'client.crt'), clientCertOf(rootConfig));
    writeFileSync(join(work, 'ca.crt'), newCa);
    const [ok, output] = await opensslVerify(join(work, 'ca.crt'), join(work, 'client.crt'));
    expect(ok, output).to.equal(true);
    writeFileSync(join(work, 'alice.crt'), clientCertOf(aliceConfig));
    expect((await opensslVerify(join(work, 'ca.crt'), join(work, 'alice.crt')))[0], "alice's old-signed cert, the one distrust warned of").to.equal(false);
  });

  it('rolls back a phase\'s user kubeconfig changes byte for byte', async () => {
    const { root } = await treeWithUsers();
    const files = ['root/.kube/config', 'home/alice/.kube/config'].map((file) => join(root, file));
    const before = files.map((file) => readFileSync(file));
    expect((await rotate(root, 'trust', ['--no-in-cluster'])).exitCode).to.equal(0);
    expect(files.map((file) => readFileSync(file).equals(before[files.indexOf(file)]!))).to.deep.equal([false, false]);
    const rollback = await runCli(['rollback', '--root', root, '--yes']);
    expect(rollback.exitCode, rollback.stderr).to.equal(0);
    expect(files.map((file, index) => readFileSync(file).equals(before[index]!))).to.deep.equal([true, true]);
  });

  it('with the API down writes export.sh and rotation.json; from the export, patched objects and exact kubectl replace lines for trust and distrust', async () => {
    const { root, oldCa, another } = await treeWithUsers();
    const trust = await rotate(root, 'trust');
    expect(trust.exitCode, trust.stderr).to.equal(0);
    expect(trust.stderr).to.match(/the API does not answer with .*admin\.conf/);
    const [dir] = inClusterDirs(root);
    expect(dir, 'an in-cluster directory').to.be.a('string');
    expect(readdirSync(dir!).sort()).to.deep.equal(['export.sh', 'rotation.json']);
    expect(readFileSync(join(dir!, 'export.sh'), 'utf8')).to.match(/kubectl -n kube-public get configmap cluster-info -o json --ignore-not-found > objects\/cluster-info\.json/);
    const newCa = parseCertificates(readFileSync(join(root, 'etc/kubernetes/pki/ca.new.crt')))[0]!.pem;

    exportObjects(join(dir!, 'objects'), oldCa, another);
    const fromExport = await runCli(['ca', 'in-cluster', dir!, '--root', root, '--from', join(dir!, 'objects')]);
    expect(fromExport.exitCode, fromExport.stderr).to.equal(0);
    const patched = patchedIn(dir!);
    expect(Object.keys(patched).sort()).to.deep.equal(['apiservice-v1beta1.metrics.k8s.io', 'configmap-kube-public-cluster-info', 'customresourcedefinition-widgets.example.com', 'validatingwebhookconfiguration-policy']);
    const info = patched['configmap-kube-public-cluster-info'];
    expect(derOf(unb64(parse(info.data.kubeconfig).clusters[0].cluster['certificate-authority-data']))).to.deep.equal([...derOf(oldCa), ...derOf(newCa)]);
    expect(parse(info.data.kubeconfig).clusters[0].cluster.server, 'the server is kept').to.equal('https://172.31.33.71:6443');
    expect(info.data['jws-kubeconfig-abcdef'], 'the bootstrap signature is left for bootstrapsigner').to.equal('eyJhbGciOiJIUzI1NiJ9..c2ln');
    expect(info.metadata.resourceVersion, 'replace is conditional on what was read').to.equal('11');
    const webhooks = patched['validatingwebhookconfiguration-policy'].webhooks;
    expect(derOf(unb64(webhooks[0].clientConfig.caBundle))).to.deep.equal([...derOf(oldCa), ...derOf(newCa)]);
    expect(unb64(webhooks[1].clientConfig.caBundle), 'a webhook of another CA is left alone').to.equal(another);
    expect(derOf(unb64(patched['customresourcedefinition-widgets.example.com'].spec.conversion.webhook.clientConfig.caBundle))).to.deep.equal([...derOf(another), ...derOf(oldCa), ...derOf(newCa)]);
    const apply = readFileSync(join(dir!, 'apply.sh'), 'utf8');
    expect(apply.split('\n').filter((line) => line.startsWith('kubectl'))).to.have.length(4);
    expect(apply).to.match(/^kubectl replace -f patched\/01-configmap-kube-public-cluster-info\.json /m);
    const rollback = JSON.parse(readFileSync(join(dir!, 'original', '01-configmap-kube-public-cluster-info.json'), 'utf8'));
    expect(rollback.metadata.resourceVersion, 'rollback replaces unconditionally').to.equal(undefined);
    expect(rollback.data.kubeconfig).to.contain(b64(oldCa));

    // distrust, from an export of the objects as trust left them: the old CA leaves, the others' CA stays.
    expect((await rotate(root, 'reissue', ['--no-in-cluster'])).exitCode).to.equal(0);
    const distrust = await rotate(root, 'distrust', ['--force', '--in-cluster-from', join(dir!, 'patched'), '--in-cluster-out', join(root, 'distrust-copies')]);
    expect(distrust.exitCode, distrust.stderr).to.equal(0);
    const final = patchedIn(join(root, 'distrust-copies'));
    expect(derOf(unb64(parse(final['configmap-kube-public-cluster-info'].data.kubeconfig).clusters[0].cluster['certificate-authority-data']))).to.deep.equal(derOf(newCa));
    expect(derOf(unb64(final['customresourcedefinition-widgets.example.com'].spec.conversion.webhook.clientConfig.caBundle))).to.deep.equal([...derOf(another), ...derOf(newCa)]);
    expect(derOf(unb64(final['apiservice-v1beta1.metrics.k8s.io'].spec.caBundle))).to.deep.equal(derOf(newCa));
    expect(distrust.stderr).to.match(/their servers must present certificates of the new CA now/);
  });

  it('refuses a damaged export and a damaged rotation.json, naming them, and writes no scripts', async () => {
    const { root, oldCa, another } = await treeWithUsers();
    expect((await rotate(root, 'trust')).exitCode).to.equal(0);
    const [dir] = inClusterDirs(root);
    exportObjects(join(dir!, 'objects'), oldCa, another);
    const file = join(dir!, 'objects', 'apiservices.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"caBundle":"[^"]{40}/, '"caBundle":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ'));
    const damaged = await runCli(['ca', 'in-cluster', dir!, '--root', root, '--from', join(dir!, 'objects')]);
    expect(damaged.exitCode).to.equal(4);
    expect(damaged.stderr).to.match(/APIService v1beta1\.metrics\.k8s\.io spec\.caBundle: its CA bundle does not parse/);
    expect(existsSync(join(dir!, 'apply.sh'))).to.equal(false);

    const broken = tempDir('rk-incluster-');
    cpSync(join(dir!, 'export.sh'), join(broken, 'export.sh'));
    writeFileSync(join(broken, 'rotation.json'), '{"phase": "trust", ');
    const bad = await runCli(['ca', 'in-cluster', broken, '--root', root, '--from', join(dir!, 'objects')]);
    expect(bad.exitCode).to.equal(4);
    expect(bad.stderr).to.contain(join(broken, 'rotation.json'));
    expect(readdirSync(broken).sort()).to.deep.equal(['export.sh', 'rotation.json']);
  });

  it('--export-kubeconfigs writes admin.conf as the phase left it, 0600 in a 0700 directory, with the CA bundle and a README', async () => {
    const { root } = await treeWithUsers();
    const out = join(tempDir('rk-export-'), 'handout');
    const trust = await rotate(root, 'trust', ['--no-in-cluster', '--export-kubeconfigs', out]);
    expect(trust.exitCode, trust.stderr).to.equal(0);
    expect(readdirSync(out).sort()).to.include.members(['README.txt', 'admin.conf', 'ca-bundle.crt']);
    expect(readFileSync(join(out, 'admin.conf')).equals(readFileSync(join(root, 'etc/kubernetes/admin.conf')))).to.equal(true);
    const mode = (path: string) => execFileSync('stat', ['-c', '%a', path]).toString().trim();
    expect([mode(out), mode(join(out, 'admin.conf'))]).to.deep.equal(['700', '600']);
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).to.match(/kubectl config set-cluster CLUSTER --certificate-authority=ca-bundle\.crt --embed-certs=true/);
    expect(parseCertificates(readFileSync(join(out, 'ca-bundle.crt')))).to.have.length(2);
  });
});
