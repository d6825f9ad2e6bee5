// Real kubectl against the cluster rig's object API (test/fakes/kube-objects.mjs,
// served by each apiserver stand-in, kept in the rig's real etcd).
//
// Seeding objects for a test: write them the way an operator would, with kubectl
// through haproxy, e.g.
//   const kubeconfig = writeKubeconfig(rig);
//   await kubectl(kubeconfig, ['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public' }, data: { kubeconfig: '...' } }));
//   const info = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
// (YAML works too: kubectl takes -f FILE or stdin.) The namespaces default, kube-system,
// kube-public and kube-node-lease exist from the first API request on. Kinds served: core v1
// namespaces/configmaps/secrets, admissionregistration v1 validating/mutating webhook
// configurations, apiregistration v1 apiservices, apiextensions v1 customresourcedefinitions,
// apps v1 deployments/statefulsets/daemonsets; verbs get/list/create/update/patch/delete (no watch).
// Pass the kubeconfig to a CLI under test as KUBECONFIG=... in its env (kubeconfigEnv).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Rig } from './cluster-rig.js';
import { tempDir } from './env.js';

export interface KubectlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * A kubeconfig (0600) for the rig's haproxy with the rig's fresh client cert; `server` points it at
 * one stand-in directly instead (e.g. rig.nodes[2].apiUrl). The server name is `kubernetes`, a SAN of every apiserver cert.
 */
export function writeKubeconfig(rig: Rig, options: { server?: string; dir?: string } = {}): string {
  const file = join(options.dir ?? tempDir('rk-kubeconfig-'), 'kubeconfig');
  const data = (pem: Buffer) => pem.toString('base64');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster:
    server: ${options.server ?? rig.lbUrl}
    tls-server-name: kubernetes
    certificate-authority-data: ${data(rig.client.ca)}
users:
- name: rig-client
  user:
    client-certificate-data: ${data(rig.client.cert)}
    client-key-data: ${data(rig.client.key)}
contexts:
- name: rig
  context: {cluster: rig, user: rig-client}
current-context: rig
`,
    { mode: 0o600 },
  );
  return file;
}

/** The env that makes a child's kubectl use this kubeconfig (and a private discovery cache, so runs do not share one). */
export const kubeconfigEnv = (kubeconfig: string) => ({ KUBECONFIG: kubeconfig, KUBECACHEDIR: join(kubeconfig, '..', 'cache') });

/** Real kubectl with this kubeconfig; `input` goes to its stdin (for `-f -`). Never throws on a non-zero exit. */
export async function kubectl(kubeconfig: string, args: string[], input?: string, timeoutMs = 60_000): Promise<KubectlResult> {
  const result = await execa('kubectl', args, { env: kubeconfigEnv(kubeconfig), input: input ?? '', reject: false, timeout: timeoutMs });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `kubectl ARGS -o json`, parsed; throws with kubectl's stderr when it fails. */
export async function kubectlJson<T = Record<string, any>>(kubeconfig: string, args: string[]): Promise<T> {
  const result = await kubectl(kubeconfig, [...args, '-o', 'json']);
  if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} -o json: exit ${result.exitCode}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as T;
}
