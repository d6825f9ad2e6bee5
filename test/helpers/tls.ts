// Real TLS peers for the tests: openssl s_server demanding a client cert from a CA
// (the apiserver's TLS stand-in), and kubectl talking to it with a kubeconfig.
import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { execa } from 'execa';
import { tempDir } from './env.js';
import { freePort } from './etcd.js';

export interface SServer {
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** openssl s_server on 127.0.0.1 requiring a client cert from caFile; resolves when it accepts TCP. */
export async function startSServer(cert: string, key: string, caFile: string): Promise<SServer> {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, '-CAfile', caFile, '-Verify', '1', '-verify_return_error', '-www', '-quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  child.stderr!.on('data', (chunk) => (text += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: SServer = {
    port,
    child,
    output: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`s_server exited: ${text}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return server;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await server.stop();
  throw new Error(`s_server did not listen on ${port}: ${text}`);
}

export async function kubectlGetRaw(kubeconfig: string, port: number, serverName = 'kubernetes') {
  const result = await execa('kubectl', ['--kubeconfig', kubeconfig, '--server', `https://127.0.0.1:${port}`, '--tls-server-name', serverName, '--request-timeout', '10s', 'get', '--raw', '/'], {
    reject: false,
    timeout: 30_000,
    env: { HOME: tempDir('rk-kubectl-home-') },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

