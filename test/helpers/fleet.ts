// A small cluster of copied trees for the worker and fleet tests: sandbox
// control planes sharing one set of CAs (each with its own node name and
// address), workers whose kubelet client certs expired, and an apiserver
// stand-in (openssl s_server) that demands a client cert from the cluster CA.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTree } from '../../lib/host/tree.js';
import { buildSandboxTree } from '../../lib/ops/sandbox/sandbox.js';
import { buildWorkerTree } from '../../lib/ops/sandbox/sandbox-worker.js';
import { parseCertificate } from '../../lib/pki/certificate.js';
import { parseUsages } from '../../lib/pki/extensions.js';
import { exportPrivateKeyPem, generateKey, parsePrivateKey } from '../../lib/pki/keys.js';
import { classifyHosts } from '../../lib/pki/san.js';
import { issueCertificate, Signer } from '../../lib/pki/sign.js';
import { tempDir } from './env.js';
import { SServer, startSServer } from './tls.js';

export const caOf = (root: string): Signer => ({
  certificate: parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/ca.crt'))),
  key: parsePrivateKey(readFileSync(join(root, 'etc/kubernetes/pki/ca.key'))),
});

/** One sandbox control plane; more share its CAs (copied trees, like kubeadm join --control-plane with the certs copied). */
export async function controlPlanes(count: number, now = new Date()): Promise<string[]> {
  const first = join(tempDir('rk-cp-'), 'root');
  writeTree(first, await buildSandboxTree({ now, key: { algo: 'ecdsa', size: 256 } }));
  const roots = [first];
  for (let index = 1; index < count; index++) {
    const root = join(tempDir('rk-cp-'), 'root');
    cpSync(first, root, { recursive: true, verbatimSymlinks: true });
    roots.push(root);
  }
  return roots;
}

export async function worker(ca: Signer, nodeName: string, server: string, options: { embedded?: boolean; now?: Date; expiredDaysAgo?: number } = {}): Promise<string> {
  const root = join(tempDir(`rk-${nodeName}-`), 'root');
  writeTree(root, await buildWorkerTree({ ca, nodeName, server, now: options.now ?? new Date(), embedded: options.embedded, expiredDaysAgo: options.expiredDaysAgo }));
  return root;
}

/** The apiserver's TLS stand-in: a valid serving cert for 127.0.0.1 from `ca`, demanding client certs from `clientCa`. */
export async function apiserverStandIn(ca: Signer, clientCaPem = ca.certificate.pem): Promise<SServer> {
  const dir = tempDir('rk-apiserver-');
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const { certificate } = issueCertificate({
    template: { subject: { CN: 'kube-apiserver' }, sans: classifyHosts(['127.0.0.1', 'kubernetes']), usages: parseUsages(['signing', 'key encipherment', 'server auth']), isCA: false, durationMs: 86_400_000 },
    subjectKey: key,
    issuer: ca,
    now: new Date(),
  });
  writeFileSync(join(dir, 'server.crt'), certificate.pem);
  writeFileSync(join(dir, 'server.key'), exportPrivateKeyPem(key), { mode: 0o600 });
  writeFileSync(join(dir, 'client-ca.crt'), clientCaPem);
  return startSServer(join(dir, 'server.crt'), join(dir, 'server.key'), join(dir, 'client-ca.crt'));
}

/** ansible-playbook with its own config and HOME: never ~/.ansible.cfg, never a collection or Galaxy. */
export function ansibleEnv(dir: string): Record<string, string> {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\n');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-local'),
    ANSIBLE_REMOTE_TEMP: join(dir, 'ansible-remote'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_COLLECTIONS_PATH: join(dir, 'no-collections'),
    ANSIBLE_GALAXY_DISABLE_GPG_VERIFY: '1',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_FORKS: '10',
  };
}
