// The demo's proof that renewed certs work: a real etcd (when installed) on
// loopback with client-cert auth, serving the renewed certificates.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function hasEtcd(): Promise<boolean> {
  const probe = (binary: string, args: string[]) => execa(binary, args, { reject: false, env: { ETCDCTL_API: '3' } }).then((result) => result.exitCode === 0).catch(() => false);
  const [etcd, etcdctl] = await Promise.all([probe('etcd', ['--version']), probe('etcdctl', ['version'])]);
  return Boolean(etcd && etcdctl);
}

/** Start etcd with the tree's certs, run `etcdctl endpoint health` with the healthcheck client cert, stop etcd. */
export async function etcdHealthWithTree(root: string): Promise<{ ok: boolean; output: string; url: string }> {
  const pki = join(root, 'etc/kubernetes/pki/etcd');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `https://127.0.0.1:${clientPort}`;
  const dataDir = join(root, 'var/lib/etcd');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const etcd = spawn('etcd', [
    '--name=demo', `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=https://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=https://127.0.0.1:${peerPort}`,
    `--initial-cluster=demo=https://127.0.0.1:${peerPort}`,
    '--client-cert-auth', `--trusted-ca-file=${pki}/ca.crt`, `--cert-file=${pki}/server.crt`, `--key-file=${pki}/server.key`,
    '--peer-client-cert-auth', `--peer-trusted-ca-file=${pki}/ca.crt`, `--peer-cert-file=${pki}/peer.crt`, `--peer-key-file=${pki}/peer.key`,
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => etcd.once('exit', resolve));
  try {
    let last = { ok: false, output: '' };
    for (let attempt = 0; attempt < 40 && !last.ok; attempt++) {
      const result = await execa('etcdctl', [`--endpoints=${url}`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, '--dial-timeout=2s', 'endpoint', 'health'], { reject: false, env: { ETCDCTL_API: '3' }, all: true });
      last = { ok: result.exitCode === 0, output: String(result.all).trim() };
      if (!last.ok) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { ...last, url };
  } finally {
    etcd.kill('SIGTERM');
    await exited;
  }
}
