// kubectl as ops calls it: one place for the reachability probe and for "get -o json", so every
// command agrees on timeouts and on what "not there" means. kubectl itself (not an HTTP client of
// ours) because it is what the operator has and trusts, and its kubeconfig handling (exec plugins,
// proxies, contexts) is the operator's own.
import { RescueError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { K8sObject } from './seeds/webhook.js';

/** `--kubeconfig FILE` when one was named; else kubectl's own KUBECONFIG / ~/.kube/config. */
export const kubectlPrefix = (kubeconfig?: string): string[] => (kubeconfig ? ['--kubeconfig', kubeconfig] : []);

/**
 * Why kubectl does not reach the apiserver now, or undefined when it does. GET /version: every client
 * may read it, on every Kubernetes version (/readyz is 1.16+).
 */
export async function kubectlUnreachable(host: Host, kubeconfig?: string): Promise<string | undefined> {
  const result = await host.run('kubectl', [...kubectlPrefix(kubeconfig), '--request-timeout', '10s', 'get', '--raw', '/version'], { timeoutMs: 30_000 });
  if (result.exitCode === 0) return undefined;
  return result.timedOut ? 'no answer within 30 s' : result.stderr.trim().split('\n').pop() || `exit ${result.exitCode}`;
}

/** The stderr of a `kubectl get` that found nothing (as opposed to one that could not ask). */
const NOT_FOUND = /NotFound/;

export interface KubectlGetOptions {
  kubeconfig?: string;
  /** Other stderr that means "nothing there" (e.g. a resource type this cluster does not serve). */
  absent?: RegExp;
  /** The error for a get that failed (the message already names the command and kubectl's reason). */
  failure(message: string): RescueError;
}

/** `kubectl get ARGS -o json`: the object or list, undefined when it is not there, `failure` otherwise. */
export async function kubectlGetJson(host: Host, args: readonly string[], options: KubectlGetOptions): Promise<K8sObject | undefined> {
  const command = [...kubectlPrefix(options.kubeconfig), '--request-timeout', '20s', 'get', ...args, '-o', 'json'];
  const result = await host.run('kubectl', command, { timeoutMs: 40_000 });
  if (result.exitCode === 0) return JSON.parse(result.stdout) as K8sObject;
  if (NOT_FOUND.test(result.stderr) || options.absent?.test(result.stderr)) return undefined;
  throw options.failure(`kubectl get ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
}
