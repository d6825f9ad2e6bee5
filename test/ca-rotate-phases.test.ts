// `ca rotate CA... --phase trust|reissue|distrust` on copies of real trees: after distrust every leaf
// verifies against the final CA alone (openssl, Go), the old CA is in no file, distrust is refused
// while something still depends on the old CA, each phase rolls back byte for byte, check shows it.
import { expect } from 'chai';
import { createHash, createPublicKey } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxCluster, buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificates } from '../lib/pki/certificate.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../lib/pki/keys.js';
import { emptySans } from '../lib/pki/san.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { fixtureRoot, goCheck, opensslVerify, runCli, tempDir } from './helpers/env.js';
import { mintServiceAccountToken } from './helpers/service-account-token.js';

const PKI = 'etc/kubernetes/pki';
const CA_FILES = { ca: 'ca.crt', 'etcd-ca': 'etcd/ca.crt', 'front-proxy-ca': 'front-proxy-ca.crt' } as const;
const LEAVES: Record<keyof typeof CA_FILES, string[]> = {
  ca: ['apiserver.crt', 'apiserver-kubelet-client.crt'],
  'etcd-ca': ['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt'],
  'front-proxy-ca': ['front-proxy-client.crt'],
};
const KUBECONFIGS = ['admin.conf', 'controller-manager.conf', 'scheduler.conf'];

const rotate = (root: string, phase: string, extra: string[] = []) => runCli(['ca', 'rotate', ...extra, '--phase', phase, '--root', root, '--yes', '--no-etcd-backup']);
const spkiBase64 = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

/** Every regular file under dir (the whole tree: kubeconfigs, pki, var/lib), for "the old CA is gone". */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return /rescue-kit/.test(path) ? [] : filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

/** Every file's text, with each kubeconfig's base64 fields decoded too (so the CA inside is greppable). */
function textOf(path: string): string {
  const text = readFileSync(path, 'latin1');
  const decoded = [...text.matchAll(/(?:certificate-authority-data|client-certificate-data):\s*(\S+)/g)].map((match) => Buffer.from(match[1]!, 'base64').toString('latin1'));
  return [text, ...decoded].join('\n');
}

/** The DER base64 of every certificate found anywhere in the tree's files. */
function certificatesIn(root: string): Set<string> {
  const found = new Set<string>();
  for (const file of filesUnder(join(root, 'etc/kubernetes'))) {
    for (const block of textOf(file).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) found.add(parseCertificates(block)[0]!.der.toString('base64'));
  }
  return found;
}

function clientCertOf(root: string, kubeconfig: string, out: string): string {
  const doc = parse(readFileSync(join(root, 'etc/kubernetes', kubeconfig), 'utf8'));
  writeFileSync(out, Buffer.from(doc.users[0].user['client-certificate-data'], 'base64'));
  return out;
}

function snapshot(root: string): Map<string, string> {
  return new Map(filesUnder(join(root, 'etc/kubernetes')).map((file) => [file, createHash('sha256').update(readFileSync(file)).digest('hex') + statSync(file).mode.toString(8)]));
}

describe('ca rotate --phase trust|reissue|distrust (issue 14)', function () {
  this.timeout(90_000);

  for (const fixture of ['kubeadm-1.14-expired', 'kubeadm-1.25-expired', 'kubeadm-1.11-expired'] as const) it(`a real tree (${fixture}): all four authorities through the three phases; every leaf verifies against the final CA alone; the old CAs and sa key are in no file`, async () => {
    const root = fixtureRoot(fixture);
    const pki = (file: string) => join(root, PKI, file);
    const oldCas = Object.fromEntries(Object.entries(CA_FILES).map(([name, file]) => [name, parseCertificates(readFileSync(pki(file)))[0]!]));
    const oldSaPub = readFileSync(pki('sa.pub'), 'utf8');
    const oldSaKey = readFileSync(pki('sa.key'));

    const trust = await rotate(root, 'trust', ['--all']);
    expect(trust.exitCode, trust.stderr).to.equal(0);
    // trust: every bundle [old, new], the new pair staged (key 0600), nothing re-signed.
    for (const [name, file] of Object.entries(CA_FILES)) {
      const bundle = parseCertificates(readFileSync(pki(file)));
      expect(bundle.map((certificate) => certificate.subjectText), name).to.deep.equal([oldCas[name]!.subjectText, oldCas[name]!.subjectText]);
      expect(bundle[0]!.der.equals(oldCas[name]!.der), name).to.equal(true);
      expect(statSync(pki(file.replace(/\.crt$/, '.new.key'))).mode & 0o777, name).to.equal(0o600);
      for (const leaf of LEAVES[name as keyof typeof CA_FILES]) expect(parseCertificates(readFileSync(pki(leaf)))[0]!.x509.verify(oldCas[name]!.publicKey), leaf).to.equal(true);
    }
    const adminCa = parseCertificates(Buffer.from(parse(readFileSync(join(root, 'etc/kubernetes/admin.conf'), 'utf8')).clusters[0].cluster['certificate-authority-data'], 'base64'));
    expect(adminCa).to.have.length(2);
    expect(readFileSync(pki('sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g)).to.have.length(2);
    expect(statSync(pki('sa.new.key')).mode & 0o777).to.equal(0o600);
    const checked = await runCli(['check', '--root', root]);
    expect(checked.stdout).to.include('CA rotation in progress: etcd-ca phase trust');
    const json = JSON.parse((await runCli(['check', '--root', root, '--json'])).stdout);
    expect(json.caRotation.authorities.map((entry: { ca: string; phase: string }) => `${entry.ca}:${entry.phase}`)).to.deep.equal(['ca:trust', 'etcd-ca:trust', 'front-proxy-ca:trust', 'sa:trust']);

    // Distrust before reissue: refused (the phase order), nothing changed.
    const early = await rotate(root, 'distrust', ['etcd-ca']);
    expect(early.exitCode).to.equal(3);
    expect(early.stderr).to.include('needs phase reissue');

    const reissue = await rotate(root, 'reissue', ['--all']);
    expect(reissue.exitCode, reissue.stderr).to.equal(0);
    expect(reissue.stdout + reissue.stderr, 'what rescue-kit cannot re-sign is said while there is time').to.include('ca: client certs of the old CA held off the nodes are refused after distrust: a load balancer health check');
    const newCas = Object.fromEntries(Object.entries(CA_FILES).map(([name, file]) => [name, parseCertificates(readFileSync(pki(file)))[0]!]));
    for (const [name] of Object.entries(CA_FILES)) {
      expect(newCas[name]!.spkiDer.equals(oldCas[name]!.spkiDer), name).to.equal(false);
      for (const leaf of LEAVES[name as keyof typeof CA_FILES]) {
        const certificate = parseCertificates(readFileSync(pki(leaf)))[0]!;
        expect(certificate.x509.verify(newCas[name]!.publicKey), leaf).to.equal(true);
      }
    }
    expect(readFileSync(pki('sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g)).to.have.length(2);
    const newSaPub = createPublicKey(readFileSync(pki('sa.key'))).export({ type: 'spki', format: 'pem' }).toString();
    expect(spkiBase64(newSaPub)).to.not.equal(spkiBase64(oldSaPub));
    expect((await runCli(['check', '--root', root])).stdout).to.include('CA rotation in progress: ca phase reissue');

    // sa: pods may hold tokens of the old key for up to 24 h after reissue: refused, nothing changed.
    const stateFile = join(root, 'var/lib/rescue-kit/ca-rotation.json');
    const tooEarly = await rotate(root, 'distrust', ['--all']);
    expect(tooEarly.exitCode).to.equal(3);
    expect(tooEarly.stderr).to.match(/sa: the last reissue was 0\.\d h ago .*pods may still hold tokens of the old key until/);
    expect(readFileSync(pki('sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g)).to.have.length(2);
    // 25 h later (the state says when each node reissued) it goes through without --token-grace.
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    for (const rotation of Object.values(state.authorities) as { phaseAt: Record<string, string> }[]) for (const node of Object.keys(rotation.phaseAt)) rotation.phaseAt[node] = new Date(Date.now() - 25 * 3_600_000).toISOString();
    writeFileSync(stateFile, JSON.stringify(state));
    // Legacy token Secrets (every pod's token before 1.22): the API of this copy does not answer, so they
    // cannot be checked: refused, naming the export that would let them be.
    const beforeDistrust = snapshot(root);
    const unchecked = await rotate(root, 'distrust', ['--all']);
    expect(unchecked.exitCode).to.equal(3);
    expect(unchecked.stderr).to.include('sa: the legacy token Secrets (kubernetes.io/service-account-token) were not checked');
    expect(unchecked.stderr).to.include('--token-secrets-from');
    expect(snapshot(root)).to.deep.equal(beforeDistrust);
    // An export with a token the old sa.key signed (the key this tree had before trust): refused, naming the
    // Secret and the line that has the token controller sign it again; the token itself is never printed.
    const secret = (namespace: string, name: string, token: string, type = 'kubernetes.io/service-account-token') => ({ apiVersion: 'v1', kind: 'Secret', type, metadata: { namespace, name, annotations: { 'kubernetes.io/service-account.name': 'default' } }, data: { token: Buffer.from(token).toString('base64') } });
    const oldToken = mintServiceAccountToken(oldSaKey, { name: 'default' });
    const newToken = mintServiceAccountToken(readFileSync(pki('sa.key')), { name: 'default' });
    const exported = (items: object[]) => {
      const file = join(tempDir(), 'token-secrets.json');
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      return file;
    };
    const stale = exported([secret('default', 'default-token-x7k2p', oldToken), secret('kube-system', 'fresh-token', newToken), secret('default', 'opaque', oldToken, 'Opaque')]);
    const legacy = await rotate(root, 'distrust', ['--all', '--token-secrets-from', stale]);
    expect(legacy.exitCode).to.equal(3);
    expect(legacy.stderr).to.include('sa: distrust would reject the tokens of 1 legacy token Secret(s)');
    expect(legacy.stderr).to.include('default/default-token-x7k2p');
    expect(legacy.stderr).to.include(`kubectl -n default patch secret default-token-x7k2p --type=json -p '[{"op":"remove","path":"/data/token"}]'`);
    expect(legacy.stderr).to.not.include(oldToken.split('.')[2]!);
    expect(snapshot(root)).to.deep.equal(beforeDistrust);
    // Once the token controller signed it again with the new key, distrust goes through.
    const distrust = await rotate(root, 'distrust', ['--all', '--token-secrets-from', exported([secret('default', 'default-token-x7k2p', newToken)])]);
    expect(distrust.exitCode, distrust.stderr).to.equal(0);
    // The CAs kube-apiserver also publishes in kube-system/extension-apiserver-authentication (which it never prunes) come with the step that does.
    for (const name of ['ca', 'front-proxy-ca']) expect(distrust.stdout + distrust.stderr).to.include(`${name}: the ConfigMap kube-system/extension-apiserver-authentication still holds the old CA`);
    expect(distrust.stdout + distrust.stderr).to.not.include('etcd-ca: the ConfigMap');
    // Every leaf against the final CA alone: openssl and Go.
    const work = tempDir();
    for (const [name, file] of Object.entries(CA_FILES)) {
      expect(parseCertificates(readFileSync(pki(file))), name).to.have.length(1);
      for (const leaf of LEAVES[name as keyof typeof CA_FILES]) {
        const [ok, output] = await opensslVerify(pki(file), pki(leaf));
        expect(ok, `${leaf}: ${output}`).to.equal(true);
        const go = await goCheck(['-roots', pki(file), '-leaf', pki(leaf)]);
        expect(go.ok, `${leaf}: ${go.error}`).to.equal(true);
      }
    }
    for (const kubeconfig of KUBECONFIGS) {
      const leaf = clientCertOf(root, kubeconfig, join(work, `${kubeconfig}.crt`));
      const [ok, output] = await opensslVerify(pki('ca.crt'), leaf);
      expect(ok, `${kubeconfig}: ${output}`).to.equal(true);
      expect((await goCheck(['-roots', pki('ca.crt'), '-leaf', leaf])).ok, kubeconfig).to.equal(true);
    }
    // The old CAs are in no file of the tree (by DER and by public key), the old sa key neither.
    const everywhere = certificatesIn(root);
    const allText = filesUnder(join(root, 'etc/kubernetes')).map(textOf).join('\n');
    for (const [name, old] of Object.entries(oldCas)) {
      expect(everywhere.has(old.der.toString('base64')), name).to.equal(false);
      for (const block of allText.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) expect(parseCertificates(block)[0]!.spkiDer.equals(old.spkiDer), `${name} key`).to.equal(false);
    }
    expect(readFileSync(pki('sa.pub'), 'utf8').match(/BEGIN PUBLIC KEY/g)).to.have.length(1);
    expect(allText).to.not.include(oldSaPub.trim().split('\n').slice(1, -1).join('\n'));
    expect(() => statSync(pki('ca.new.key'))).to.throw();
    // Done: check says nothing of a rotation, and the state file is gone.
    expect((await runCli(['check', '--root', root])).stdout).to.not.include('CA rotation in progress');
    expect(() => statSync(join(root, 'var/lib/rescue-kit/ca-rotation.json'))).to.throw();
    // The audit log: CREATE at trust, UPDATE of leaves at reissue, REVOKE at distrust.
    const audit = readFileSync(join(root, 'var/lib/rescue-kit/audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const actions = (cert: string) => audit.filter((entry) => entry.cert === cert).map((entry) => entry.action);
    expect(actions('etcd-ca')).to.deep.equal(['CREATE', 'REVOKE']);
    expect(actions('sa')).to.deep.equal(['CREATE', 'UPDATE', 'REVOKE']);
    expect(actions('etcd-peer')).to.deep.equal(['UPDATE']);
  });

  it('rollback of each phase puts every file back byte for byte (and the state file with it)', async () => {
    const root = tempDir();
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
    // No legacy token Secret in this cluster (an empty export: its API does not answer here).
    const noTokens = join(tempDir(), 'token-secrets.json');
    writeFileSync(noTokens, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    for (const phase of ['trust', 'reissue', 'distrust']) {
      const before = snapshot(root);
      const stateBefore = readState(root);
      const run = await rotate(root, phase, ['--all', '--token-grace', '0', ...(phase === 'distrust' ? ['--token-secrets-from', noTokens] : [])]);
      expect(run.exitCode, run.stderr).to.equal(0);
      const back = await runCli(['rollback', '--root', root, '--yes']);
      expect(back.exitCode, back.stderr).to.equal(0);
      expect(snapshot(root), phase).to.deep.equal(before);
      expect(readState(root), phase).to.equal(stateBefore);
      expect((await rotate(root, phase, ['--all', '--token-grace', '0', ...(phase === 'distrust' ? ['--token-secrets-from', noTokens] : [])])).exitCode, `${phase} again`).to.equal(0);
    }
  });

  it('distrust is refused (listing them) while a leaf here or another known node still depends on the old CA; --force overrides', async () => {
    const [a, b] = await buildSandboxCluster({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }, [
      { nodeName: 'cp1', advertiseAddress: '10.0.0.1' },
      { nodeName: 'cp2', advertiseAddress: '10.0.0.2' },
    ]);
    const [rootA, rootB, share] = [tempDir(), tempDir(), join(tempDir(), 'new-ca')];
    writeTree(rootA, a!);
    writeTree(rootB, b!);
    // cp1's etcd knows cp2 (as a joined member's --initial-cluster does): the rotation must reach it.
    const manifest = join(rootA, 'etc/kubernetes/manifests/etcd.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/(--initial-cluster=\S+)/, '$1,cp2=https://10.0.0.2:2380'));
    const trustA = await rotate(rootA, 'trust', ['etcd-ca', '--export-new', share]);
    expect(trustA.exitCode, trustA.stderr).to.equal(0);
    // Reissue on cp1 before cp2 trusts the new CA: refused, naming cp2.
    const tooEarly = await rotate(rootA, 'reissue', ['etcd-ca', '--new-ca', share]);
    expect(tooEarly.exitCode).to.equal(3);
    expect(tooEarly.stderr).to.include('nodes that have not done trust: cp2');
    expect(statSync(join(share, 'etcd-ca.key')).mode & 0o777).to.equal(0o600);
    const trustB = await rotate(rootB, 'trust', ['etcd-ca', '--new-ca', share]);
    expect(trustB.exitCode, trustB.stderr).to.equal(0);
    // Both nodes trust the same new CA.
    expect(readFileSync(join(rootA, PKI, 'etcd/ca.crt')).equals(readFileSync(join(rootB, PKI, 'etcd/ca.crt')))).to.equal(true);
    const oldPeer = readFileSync(join(rootA, PKI, 'etcd/peer.crt'));
    expect((await rotate(rootA, 'reissue', ['etcd-ca', '--new-ca', share])).exitCode).to.equal(0);
    // cp2 has not reissued: refused, naming it; nothing changed.
    const before = snapshot(rootA);
    const refused = await rotate(rootA, 'distrust', ['etcd-ca', '--new-ca', share]);
    expect(refused.exitCode).to.equal(3);
    expect(refused.stderr).to.include('nodes that have not done reissue: cp2');
    expect(snapshot(rootA)).to.deep.equal(before);
    expect((await runCli(['check', '--root', rootA])).stdout).to.include('CA rotation in progress: etcd-ca phase reissue (nodes pending: cp2)');
    expect((await rotate(rootB, 'reissue', ['etcd-ca', '--new-ca', share])).exitCode).to.equal(0);
    // A leaf put back from before reissue (signed by the old CA only): refused, naming it.
    writeFileSync(join(rootA, PKI, 'etcd/peer.crt'), oldPeer);
    const leafRefused = await rotate(rootA, 'distrust', ['etcd-ca', '--new-ca', share]);
    expect(leafRefused.exitCode).to.equal(3);
    expect(leafRefused.stderr).to.include('still signed by the old CA only: etcd-peer');
    const forced = await rotate(rootA, 'distrust', ['etcd-ca', '--new-ca', share, '--force']);
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(parseCertificates(readFileSync(join(rootA, PKI, 'etcd/ca.crt')))).to.have.length(1);
  });

  it('a worker takes the new CA certificate only (no key exported to it); its distrust waits for the kubelet\'s new client cert; the gauge follows the state', async () => {
    const cp = tempDir();
    writeTree(cp, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
    const worker = tempDir();
    cpSync(join(cp, 'etc'), join(worker, 'etc'), { recursive: true });
    cpSync(join(cp, 'var'), join(worker, 'var'), { recursive: true, verbatimSymlinks: true });
    // The worker's own kubelet identity (system:node:worker-1), signed by the cluster CA as the CSR API would.
    const issuer = { certificate: parseCertificates(readFileSync(join(cp, PKI, 'ca.crt')))[0]!, key: parsePrivateKey(readFileSync(join(cp, PKI, 'ca.key'))) };
    const kubeletKey = await generateKey({ algo: 'ecdsa', size: 256 });
    const { certificate: kubeletCert } = issueCertificate({
      template: { subject: { CN: 'system:node:worker-1', O: ['system:nodes'] }, sans: emptySans(), usages: parseUsages(['signing', 'key encipherment', 'client auth']), isCA: false, durationMs: 30 * 86_400_000 },
      subjectKey: kubeletKey,
      issuer,
      now: new Date(Date.now() - 60_000),
    });
    // kubelet-client-current.pem is a host-absolute symlink (as the kubelet makes it): write its target inside the copy.
    const link = readlinkSync(join(worker, 'var/lib/kubelet/pki/kubelet-client-current.pem'));
    writeFileSync(isAbsolute(link) ? join(worker, link) : join(worker, 'var/lib/kubelet/pki', link), kubeletCert.pem + exportPrivateKeyPem(kubeletKey));
    // kubelet.conf names its user default-auth, as kubeadm join writes it (the copy named the control plane's node).
    const kubeletConf = join(worker, 'etc/kubernetes/kubelet.conf');
    writeFileSync(kubeletConf, readFileSync(kubeletConf, 'utf8').replaceAll('system:node:demo-master', 'default-auth'));
    // A worker holds ca.crt and kubelet.conf, no CA key, no manifests, no other kubeconfig.
    for (const entry of readdirSync(join(worker, PKI))) if (entry !== 'ca.crt') rmSync(join(worker, PKI, entry), { recursive: true });
    for (const gone of ['manifests', 'admin.conf', 'controller-manager.conf', 'scheduler.conf', 'super-admin.conf']) rmSync(join(worker, 'etc/kubernetes', gone), { recursive: true, force: true });
    const [share, workerShare] = [join(tempDir(), 'cp'), join(tempDir(), 'worker')];
    expect((await rotate(cp, 'trust', ['ca', '--export-new', share])).exitCode).to.equal(0);
    const exported = await runCli(['ca', 'rotate', '--export-new', workerShare, '--certificates-only', '--root', cp]);
    expect(exported.exitCode, exported.stderr).to.equal(0);
    expect(readdirSync(workerShare).sort()).to.deep.equal(['ca-rotation.json', 'ca.crt']);
    const trust = await rotate(worker, 'trust', ['ca', '--new-ca', workerShare]);
    expect(trust.exitCode, trust.stderr).to.equal(0);
    expect(readFileSync(join(worker, PKI, 'ca.crt')).equals(readFileSync(join(cp, PKI, 'ca.crt')))).to.equal(true);
    expect(readdirSync(join(worker, PKI)).sort(), 'no key on the worker').to.deep.equal(['ca.crt', 'ca.new.crt']);
    // Recorded under its kubelet's name, beside the control plane's progress; a worker is no known control plane.
    const workerState = JSON.parse(readFileSync(join(worker, 'var/lib/rescue-kit/ca-rotation.json'), 'utf8'));
    expect(workerState.authorities.ca.nodes).to.deep.equal({ 'demo-master': 'trust', 'worker-1': 'trust' });
    expect(workerState.knownNodes).to.deep.equal(['demo-master']);
    const metrics = join(tempDir(), 'rk.prom');
    await runCli(['check', '--root', worker, '--prometheus', metrics]);
    expect(readFileSync(metrics, 'utf8')).to.match(/^rescue_kit_ca_rotation_in_progress 1$/m);
    // Reissue on a worker whose kubelet still holds an old-CA client cert: refused (the control planes'
    // distrust would take it for done), naming the cert and the way to a new one; nothing changed.
    const beforeReissue = snapshot(worker);
    const early = await rotate(worker, 'reissue', ['ca']);
    expect(early.exitCode, early.stderr).to.equal(3);
    expect(early.stderr).to.include("this worker's kubelet.conf still carries a client cert signed by the old CA only");
    expect(early.stderr).to.include('rescue-kit kubelet csr');
    expect(snapshot(worker)).to.deep.equal(beforeReissue);
    // --force records it anyway, with a warning; the worker's own distrust then still waits for the cert.
    const reissue = await rotate(worker, 'reissue', ['ca', '--force']);
    expect(reissue.exitCode, reissue.stderr).to.equal(0);
    expect(reissue.stderr + reissue.stdout).to.include('reissued with --force although kubelet.conf still chains to the old CA only');
    expect(readdirSync(join(worker, PKI))).to.deep.equal(['ca.crt']);
    const [first] = parseCertificates(readFileSync(join(worker, PKI, 'ca.crt')));
    expect(first!.der.equals(parseCertificates(readFileSync(join(share, 'ca.crt')))[0]!.der)).to.equal(true);
    const refused = await rotate(worker, 'distrust', ['ca']);
    expect(refused.exitCode).to.equal(3);
    expect(refused.stderr).to.include('still signed by the old CA only: kubelet.conf');
    // The way the refusal names: csr on the worker, sign on the control plane (which signs with the new
    // key once it did its reissue), install on the worker. Then distrust needs no --force.
    const cpReissue = await rotate(cp, 'reissue', ['ca', '--new-ca', share, '--restart', 'none']);
    expect(cpReissue.exitCode, cpReissue.stderr).to.equal(0);
    const csrFile = join(tempDir(), 'worker-1.csr');
    const csr = await runCli(['kubelet', 'csr', '--root', worker, '--out', csrFile]);
    expect(csr.exitCode, csr.stderr).to.equal(0);
    const signed = await runCli(['kubelet', 'sign', csrFile, '--root', cp, '--validity', '30d']);
    expect(signed.exitCode, signed.stderr).to.equal(0);
    expect(signed.stdout + signed.stderr, signed.stdout + signed.stderr).to.include('worker-1');
    const installed = await runCli(['kubelet', 'install', join(dirname(csrFile), 'worker-1.pem'), '--root', worker, '--restart', 'none', '--no-verify-api', '--timeout', '2s', '--yes']);
    expect(installed.exitCode, installed.stderr).to.equal(0);
    // The control plane's progress (reissue done) reaches the worker the way the CA did: certificates only.
    const progress = join(tempDir(), 'progress');
    expect((await runCli(['ca', 'rotate', '--export-new', progress, '--certificates-only', '--root', cp])).exitCode).to.equal(0);
    const distrust = await rotate(worker, 'distrust', ['ca', '--new-ca', progress]);
    expect(distrust.exitCode, distrust.stderr).to.equal(0);
    expect(parseCertificates(readFileSync(join(worker, PKI, 'ca.crt')))).to.have.length(1);
    await runCli(['check', '--root', worker, '--prometheus', metrics]);
    expect(readFileSync(metrics, 'utf8')).to.match(/^rescue_kit_ca_rotation_in_progress 0$/m);
  });
});

function readState(root: string): string | undefined {
  try {
    return readFileSync(join(root, 'var/lib/rescue-kit/ca-rotation.json'), 'utf8');
  } catch {
    return undefined;
  }
}
