// Restarting control-plane components so they load renewed certificates, and
// waiting until each is back: static pods (manifest out and back in, watched
// with crictl), crictl/docker (stop the container, the kubelet starts a new
// one), or systemd units (seed 004's binary install).
import { mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Host } from '../../host/host.js';
import { KUBERNETES_DIR, MANIFEST_DIR } from '../../catalogue/kubeadm.js';
import type { Component } from './renew-plan.js';
import { pollUntil } from './poll.js';

export const RESTART_MODES = ['none', 'static-pod', 'systemd', 'crictl', 'docker'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];
export const PAUSED_DIR = `${KUBERNETES_DIR}/rescue-kit-paused`;

export interface RestartOptions {
  timeoutMs: number;
  pollMs: number;
  /** Called when a manifest leaves / re-enters manifests/ so the journal can record it. */
  onPause?: (pause: { from: string; to: string } | undefined) => void;
}

export interface RestartResult {
  component: Component;
  ok: boolean;
  detail: string;
  elapsedMs: number;
}

const waitFor = (check: () => Promise<boolean>, options: RestartOptions) => pollUntil(check, Boolean, options);

/** The running containers of a component, as the runtime lists them. */
function listContainers(host: Host, runtime: 'crictl' | 'docker', component: Component) {
  return runtime === 'crictl'
    ? host.run('crictl', ['ps', '--name', `^${component}$`, '--state', 'running', '-q'], { timeoutMs: 15_000 })
    : host.run('docker', ['ps', '-q', '--filter', `name=k8s_${component}_`], { timeoutMs: 15_000 });
}

async function containerIds(host: Host, runtime: 'crictl' | 'docker', component: Component): Promise<string[] | undefined> {
  const result = await listContainers(host, runtime, component);
  if (result.exitCode !== 0) return undefined;
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** systemd unit names per component (binary installs name them after the component). */
const UNIT: Record<Component, string> = {
  etcd: 'etcd',
  'kube-apiserver': 'kube-apiserver',
  'kube-controller-manager': 'kube-controller-manager',
  'kube-scheduler': 'kube-scheduler',
  kubelet: 'kubelet',
};

async function restartUnit(host: Host, unit: string, options: RestartOptions): Promise<{ ok: boolean; detail: string }> {
  const restarted = await host.run('systemctl', ['restart', unit], { timeoutMs: options.timeoutMs });
  if (restarted.exitCode !== 0) return { ok: false, detail: `systemctl restart ${unit} failed: ${restarted.stderr.trim() || `exit ${restarted.exitCode}`}` };
  const active = await waitFor(async () => (await host.run('systemctl', ['is-active', unit], { timeoutMs: 10_000 })).stdout.trim() === 'active', options);
  return active ? { ok: true, detail: `systemctl restart ${unit}: active` } : { ok: false, detail: `${unit} is not active after restart` };
}

async function restartContainer(host: Host, runtime: 'crictl' | 'docker', component: Component, options: RestartOptions) {
  const before = await containerIds(host, runtime, component);
  if (before === undefined) return { ok: false, detail: `${runtime} is not available or failed` };
  if (before.length === 0) return { ok: false, detail: `no running ${component} container found with ${runtime}` };
  const stopped = await host.run(runtime, ['stop', ...before], { timeoutMs: options.timeoutMs });
  if (stopped.exitCode !== 0) return { ok: false, detail: `${runtime} stop failed: ${stopped.stderr.trim()}` };
  const back = await waitFor(async () => {
    const ids = await containerIds(host, runtime, component);
    return Boolean(ids?.some((id) => !before.includes(id)));
  }, options);
  return back ? { ok: true, detail: `${runtime}: ${component} container replaced` } : { ok: false, detail: `no new ${component} container within ${options.timeoutMs / 1000}s` };
}

async function restartStaticPod(host: Host, component: Component, options: RestartOptions) {
  const from = `${MANIFEST_DIR}/${component}.yaml`;
  const to = `${PAUSED_DIR}/${component}.yaml`;
  if (!host.lstat(from)) return { ok: false, detail: `${from} not found` };
  const before = (await containerIds(host, 'crictl', component)) ?? [];
  mkdirSync(dirname(host.real(to)), { recursive: true, mode: 0o700 });
  options.onPause?.({ from, to });
  renameSync(host.real(from), host.real(to));
  // The kubelet notices the manifest is gone and stops the pod.
  const gone = await waitFor(async () => ((await containerIds(host, 'crictl', component)) ?? []).length === 0, options);
  renameSync(host.real(to), host.real(from));
  try {
    rmdirSync(dirname(host.real(to))); // leave no trace when empty (a rollback must be byte for byte)
  } catch {}
  options.onPause?.(undefined);
  if (!gone) return { ok: false, detail: `${component} did not stop within ${options.timeoutMs / 1000}s after its manifest was moved out` };
  const back = await waitFor(async () => {
    const ids = (await containerIds(host, 'crictl', component)) ?? [];
    return ids.some((id) => !before.includes(id));
  }, options);
  return back ? { ok: true, detail: `static pod ${component} restarted` } : { ok: false, detail: `${component} did not come back within ${options.timeoutMs / 1000}s` };
}

export async function restartComponent(host: Host, mode: RestartMode, component: Component, options: RestartOptions): Promise<RestartResult> {
  const started = Date.now();
  let outcome: { ok: boolean; detail: string };
  if (mode === 'none') outcome = { ok: true, detail: 'not restarted (--restart none)' };
  else if (mode === 'systemd' || component === 'kubelet') outcome = await restartUnit(host, UNIT[component], options); // the kubelet is a unit everywhere
  else if (mode === 'static-pod') outcome = await restartStaticPod(host, component, options);
  else outcome = await restartContainer(host, mode, component, options);
  return { component, ...outcome, elapsedMs: Date.now() - started };
}

/** After a crash mid-restart: move any paused manifest back into manifests/. */
export function unpauseAll(host: Host, paused: { from: string; to: string }[]): void {
  for (const { from, to } of paused) {
    if (host.lstat(to) && !host.lstat(from)) renameSync(host.real(to), host.real(from));
  }
}

/** What restart mode fits this host: static pods when the kubelet runs manifests and crictl is there; systemd units for a binary install. */
export async function detectRestartMode(host: Host): Promise<RestartMode> {
  const manifests = host.list(MANIFEST_DIR).filter((name) => name.endsWith('.yaml'));
  if (manifests.length && (await host.run('crictl', ['--version'], { timeoutMs: 5000 })).exitCode === 0) return 'static-pod';
  if (!manifests.length && (await host.run('systemctl', ['cat', 'kube-apiserver'], { timeoutMs: 5000 })).exitCode === 0) return 'systemd';
  return 'none';
}

/**
 * Pre-flight for --restart MODE, before anything is written: the tool it drives must be there and answer
 * (crictl/docker `ps`, systemctl), and static pods need their manifests. Otherwise the run would write,
 * wait out --timeout per component, and roll back. Returns the problem in words, or undefined when it fits.
 */
export async function restartModeProblem(host: Host, mode: RestartMode, components: Component[]): Promise<string | undefined> {
  if (mode === 'none' || components.length === 0) return undefined;
  const tool = mode === 'docker' ? 'docker' : mode === 'systemd' ? 'systemctl' : 'crictl';
  if (mode === 'systemd') {
    if ((await host.run('systemctl', ['--no-pager', 'is-system-running'], { timeoutMs: 10_000 })).exitCode === 127) return 'systemctl is not installed on this host';
    // A kubeadm control plane runs as static pods: `systemctl restart kube-apiserver` has no unit to restart there.
    for (const component of components.filter((entry) => entry !== 'kubelet' && host.lstat(`${MANIFEST_DIR}/${entry}.yaml`))) {
      if ((await host.run('systemctl', ['cat', UNIT[component]], { timeoutMs: 5000 })).exitCode !== 0) {
        return `${component} runs as a static pod here (${MANIFEST_DIR}/${component}.yaml) and has no systemd unit ${UNIT[component]}.service`;
      }
    }
  } else if (components.some((component) => component !== 'kubelet')) {
    // The same listing the restart itself uses, for the first container it will restart.
    const probe = await listContainers(host, tool as 'crictl' | 'docker', components.find((component) => component !== 'kubelet')!);
    if (probe.exitCode === 127) return `${tool} is not installed on this host`;
    if (probe.exitCode !== 0) return `${tool} ps fails (${probe.stderr.trim().split('\n').pop() || `exit ${probe.exitCode}`}): the container runtime does not answer`;
  }
  if (mode === 'static-pod') {
    const missing = components.filter((component) => component !== 'kubelet' && !host.lstat(`${MANIFEST_DIR}/${component}.yaml`));
    if (missing.length) return `no static pod manifest for ${missing.join(', ')} in ${MANIFEST_DIR}`;
  }
  return undefined;
}
