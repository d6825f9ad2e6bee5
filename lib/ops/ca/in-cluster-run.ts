// The cluster CA's copies inside the cluster, after a phase of `ca rotate ca` (or later, by hand, with
// `ca in-cluster DIR`). Every run leaves a directory an operator can read and replay:
//   rotation.json      the phase and the old/new CA certificates (public), so the directory stands alone
//   export.sh          the exact kubectl lines that export what is read (for a cluster that does not answer here)
//   original/, patched/ the objects as read and as they must be (one JSON file each)
//   apply.sh, rollback.sh  `kubectl replace -f` lines: the patched objects carry the resourceVersion they
//                      were read at, so a change made meanwhile is a Conflict, never overwritten
// When the API answers (kubectl with the node's admin.conf) the objects are read live, patched, replaced
// and read back; when it does not, the directory holds export.sh and the next step to take.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RescueError } from '../../errors.js';
import { makeDirectories, PUBLIC_MODE, readText, writeFilesAtomically, type FileToWrite } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { parseCertificates } from '../../pki/certificate.js';
import { exportedObjects, withoutResourceVersion } from '../exported-objects.js';
import type { K8sObject } from '../seeds/webhook.js';
import { kubectlGetJson, kubectlUnreachable } from '../kubectl.js';
import { checkServedBundles, servedNote } from './served-bundles.js';
import { carriesCa, objectLabel, patchCaBundles, patchClusterInfo, type PatchedCopy, type RotatingCa, rotatingCaFromPems } from './ca-copies.js';
import type { RotationPhase } from './rotation-state.js';
import { compactTime } from '../../host/time.js';

/** The kinds whose caBundles may carry the cluster CA (plural resource names, as kubectl takes them). */
export const CA_BUNDLE_RESOURCES = ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'apiservices', 'customresourcedefinitions'] as const;
/** What `kubectl get` reads (the words after `get`). */
const CLUSTER_INFO = ['-n', 'kube-public', 'configmap', 'cluster-info'] as const;
/** Kept up to date by the control plane itself (from its flags' files): read to tell the operator, never written. */
const PUBLISHED = [
  { args: ['-n', 'kube-system', 'configmap', 'kube-root-ca.crt'], key: 'ca.crt', by: 'kube-controller-manager (--root-ca-file), into every namespace' },
  { args: ['-n', 'kube-system', 'configmap', 'extension-apiserver-authentication'], key: 'client-ca-file', by: 'each kube-apiserver when it starts (--client-ca-file)' },
] as const;

export const ROTATION_FILE = 'rotation.json';

export interface InClusterRequest {
  phase: RotationPhase;
  ca: RotatingCa;
  /** A new directory, or one a previous offline run left (its rotation.json / export.sh are kept). */
  out: string;
  /** Exported objects (a file or a directory) instead of the live cluster. */
  from?: string;
  /** The kubeconfig kubectl uses here: the node's admin.conf. */
  kubeconfig: string;
  /** Replace the objects in the live cluster (only when it answers). */
  apply: boolean;
  /**
   * reissue/distrust, live: ask each caBundle's server which CA its cert is from; at distrust a bundle whose
   * server is not on the new CA (or cannot be asked) keeps the old CA. false: --no-server-check.
   */
  checkServers?: boolean;
}

export interface InClusterOutcome {
  /** Where the objects came from: the live cluster, --from, or nowhere (offline: export.sh written). */
  source: 'live' | 'from' | 'offline';
  copies: PatchedCopy[];
  notes: string[];
  applied: boolean;
  out: string;
}

interface Talk {
  say(line: string): void;
  warn(line: string): void;
}

const kubectlLine = (args: readonly string[]) => `kubectl ${args.join(' ')}`;

/** kubectl against the cluster, with the node's admin.conf; NotFound and "no such resource type" give undefined. */
/** `kubectl get ARGS -o json` (ARGS: the words after get) with the node's admin.conf; a resource type this cluster does not serve is "none". */
const kubectlJson = (host: Host, kubeconfig: string, args: readonly string[]): Promise<K8sObject | undefined> =>
  kubectlGetJson(host, args, {
    kubeconfig,
    absent: /doesn't have a resource type|the server could not find the requested resource/,
    failure: (message) => new RescueError('PRECONDITION', message, { hint: 'nothing in the cluster was changed; fix access and run rescue-kit ca in-cluster DIR again' }),
  });

const itemsOf = (list: K8sObject | undefined) => ((list?.items as K8sObject[] | undefined) ?? []);
const fileName = (index: number, object: K8sObject) => `${String(index + 1).padStart(2, '0')}-${object.kind!.toLowerCase()}-${object.metadata?.namespace ? `${object.metadata.namespace}-` : ''}${object.metadata?.name}.json`;
const json = (object: unknown) => `${JSON.stringify(object, null, 2)}\n`;
function exportScript(): string {
  return [
    '#!/bin/sh',
    '# Export what rescue-kit ca in-cluster reads, where kubectl reaches the cluster as an admin; then carry',
    '# the objects/ directory back and run: rescue-kit ca in-cluster THIS-DIR --from THIS-DIR/objects',
    'set -eu',
    'cd "$(dirname "$0")"',
    'mkdir -p objects',
    `${kubectlLine([...CLUSTER_INFO.slice(0, 2), 'get', ...CLUSTER_INFO.slice(2), '-o', 'json', '--ignore-not-found'])} > objects/cluster-info.json`, // kubectl -n kube-public get ...
    `for r in ${CA_BUNDLE_RESOURCES.join(' ')}; do kubectl get "$r" -o json > "objects/$r.json"; done`,
    '',
  ].join('\n');
}

/** The rotation a directory of an earlier run stands for (what `ca in-cluster DIR` continues). */
export function readRotationFile(dir: string): { phase: RotationPhase; ca: RotatingCa } {
  const file = join(dir, ROTATION_FILE);
  const text = readText(file, 'in-cluster rotation record');
  try {
    const parsed = JSON.parse(text) as { phase: RotationPhase; oldCertificatesPem: string; newCertificatePem: string };
    if (!['trust', 'reissue', 'distrust'].includes(parsed.phase)) throw new Error(`phase ${parsed.phase} is not trust, reissue or distrust`);
    return { phase: parsed.phase, ca: rotatingCaFromPems(parsed.oldCertificatesPem, parsed.newCertificatePem) };
  } catch (error) {
    throw new RescueError('INVALID_JSON', `${file}: ${(error as Error).message}`, { file, hint: 'this directory was not written by rescue-kit ca rotate; run the phase again to get a new one' });
  }
}

/** Read (live or --from), patch, write the directory; with `apply` and a live cluster, replace and read back. */
export async function rotateInClusterCopies(host: Host, request: InClusterRequest, talk: Talk): Promise<InClusterOutcome> {
  const { phase, ca, kubeconfig } = request;
  makeDirectories(request.out, 0o700);
  // A second attempt (after a Conflict, or once the API answers) never overwrites the first one's originals.
  const out = existsSync(join(request.out, 'apply.sh')) ? join(request.out, `again-${compactTime(host.now(), { milliseconds: true })}`) : request.out;
  const record: FileToWrite[] = [];
  const recordFile = join(request.out, ROTATION_FILE);
  const fresh = (path: string) => !existsSync(path);
  if (fresh(recordFile)) record.push({ path: recordFile, data: json({ phase, oldCertificatesPem: ca.old.map((c) => c.pem).join(''), newCertificatePem: ca.new.pem }), mode: PUBLIC_MODE });
  if (fresh(join(request.out, 'export.sh'))) record.push({ path: join(request.out, 'export.sh'), data: exportScript(), mode: 0o755 });
  writeFilesAtomically(record);

  let configMap: K8sObject | undefined;
  let carriers: K8sObject[];
  let source: InClusterOutcome['source'];
  const notes: string[] = [];
  if (request.from) {
    const objects = exportedObjects(request.from);
    configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata?.name === 'cluster-info' && object.metadata?.namespace === 'kube-public');
    carriers = objects.filter((object) => object !== configMap);
    source = 'from';
  } else {
    const down = await kubectlUnreachable(host, kubeconfig);
    if (down) {
      talk.warn(`the API does not answer with ${kubeconfig} (${down}): the in-cluster copies of the CA are not updated yet`);
      talk.say(`next, where kubectl reaches the cluster: sh ${join(request.out, 'export.sh')}, then rescue-kit ca in-cluster ${request.out} --from ${join(request.out, 'objects')} (it writes apply.sh with the exact kubectl lines); or, once the API answers here: rescue-kit ca in-cluster ${request.out}`);
      return { source: 'offline', copies: [], notes: [], applied: false, out };
    }
    configMap = await kubectlJson(host, kubeconfig, CLUSTER_INFO);
    carriers = [];
    for (const resource of CA_BUNDLE_RESOURCES) carriers.push(...itemsOf(await kubectlJson(host, kubeconfig, [resource])));
    for (const published of PUBLISHED) notes.push(await publishedNote(host, kubeconfig, published, ca));
    source = 'live';
  }

  const clusterInfo = patchClusterInfo(configMap, ca, phase);
  if (clusterInfo.note) notes.unshift(clusterInfo.note);
  const checks = source === 'live' && phase !== 'trust' && request.checkServers !== false ? await checkServedBundles(host, kubeconfig, carriers, ca) : undefined;
  const behind = (checks ?? []).filter((check) => check.verdict.state !== 'new');
  // By object and field, so the read-back (a fresh object) keeps the same bundles.
  const kept = new Set(phase === 'distrust' ? behind.map((check) => `${objectLabel(check.object)} ${check.label}`) : []);
  const keep = (object: K8sObject, label: string) => kept.has(`${objectLabel(object)} ${label}`);
  const copies = [...(clusterInfo.copy ? [clusterInfo.copy] : []), ...patchCaBundles(carriers, ca, phase, keep)];
  const serverWarnings = behind.map((check) => servedNote(check, phase === 'distrust'));
  notes.push(...serverWarnings);
  if (checks?.length && !behind.length) notes.push(`every server behind a caBundle of this CA presents a new-CA cert (${checks.length} checked)`);
  if (!checks && copies.some((copy) => copy.original.kind !== 'ConfigMap')) {
    notes.push(phase === 'distrust'
      ? 'the webhooks/APIServices above no longer trust the old CA: their servers must present certificates of the new CA now'
      : 'before distrust, the servers behind the webhooks/APIServices above must present certificates of the new CA (re-issue them through the CSR API or your tooling)');
  }
  const files: FileToWrite[] = [];
  const applyLines = ['#!/bin/sh', `# The cluster CA's in-cluster copies, phase ${phase} (written by rescue-kit). Run where kubectl reaches the cluster as an admin.`, '# Each object carries the resourceVersion it was read at: a change made since then fails as Conflict (export again).', 'set -e', 'cd "$(dirname "$0")"'];
  const rollbackLines = ['#!/bin/sh', '# Put the objects back as they were read (an unconditional replace).', 'set -e', 'cd "$(dirname "$0")"'];
  copies.forEach((copy, index) => {
    const name = fileName(index, copy.original);
    files.push({ path: join(out, 'patched', name), data: json(copy.patched), mode: PUBLIC_MODE }, { path: join(out, 'original', name), data: json(withoutResourceVersion(copy.original)), mode: PUBLIC_MODE });
    applyLines.push(`kubectl replace -f patched/${name}   # ${objectLabel(copy.original)}: ${copy.changed.join(', ')}`);
    rollbackLines.splice(4, 0, `kubectl replace -f original/${name}`);
  });
  if (!copies.length) applyLines.push('# nothing to change: no in-cluster copy needs this phase');
  files.push({ path: join(out, 'apply.sh'), data: `${applyLines.join('\n')}\n`, mode: 0o755 }, { path: join(out, 'rollback.sh'), data: `${rollbackLines.join('\n')}\n`, mode: 0o755 });
  writeFilesAtomically(files);
  for (const copy of copies) talk.say(`${objectLabel(copy.original)}: ${copy.changed.join(', ')} (${phase === 'distrust' ? 'old CA removed' : 'new CA added'})`);
  for (const note of notes) {
    if (serverWarnings.includes(note)) talk.warn(note);
    else talk.say(note);
  }
  if (!request.apply || source !== 'live' || !copies.length) {
    if (copies.length) talk.say(`next: sh ${join(out, 'apply.sh')} (undo: sh ${join(out, 'rollback.sh')})`);
    return { source, copies, notes, applied: false, out };
  }
  await applyAndVerify(host, kubeconfig, out, copies, ca, phase, keep, talk);
  return { source, copies, notes, applied: true, out };
}

async function applyAndVerify(host: Host, kubeconfig: string, out: string, copies: PatchedCopy[], ca: RotatingCa, phase: RotationPhase, keep: (object: K8sObject, label: string) => boolean, talk: Talk): Promise<void> {
  const done: string[] = [];
  for (const [index, copy] of copies.entries()) {
    const file = join(out, 'patched', fileName(index, copy.original));
    const result = await host.run('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout', '20s', 'replace', '-f', file], { timeoutMs: 40_000 });
    if (result.exitCode !== 0) {
      const conflict = /Conflict|the object has been modified/.test(result.stderr);
      throw new RescueError('FAILED_ROLLED_BACK', `kubectl replace -f ${file} failed: ${result.stderr.trim()}${done.length ? `; already replaced: ${done.join(', ')}` : '; nothing was replaced'}`, {
        hint: conflict ? `someone changed ${objectLabel(copy.original)} since it was read: run rescue-kit ca in-cluster ${out} again (it reads afresh)` : `undo what was replaced: sh ${join(out, 'rollback.sh')}`,
      });
    }
    done.push(objectLabel(copy.original));
  }
  // Read back: each object must need nothing more for this phase.
  for (const copy of copies) {
    const { kind, metadata } = copy.original;
    const live = await kubectlJson(host, kubeconfig, [...(metadata?.namespace ? ['-n', metadata.namespace] : []), kind!.toLowerCase(), metadata!.name!]);
    const left = kind === 'ConfigMap' ? patchClusterInfo(live, ca, phase).copy : patchCaBundles(live ? [live] : [], ca, phase, keep)[0];
    if (!live || left) throw new RescueError('FAILED_ROLLED_BACK', `${objectLabel(copy.original)} was replaced but does not read back as written`, { hint: `look at it (kubectl get ${kind!.toLowerCase()} ${metadata!.name} -o yaml); undo with sh ${join(out, 'rollback.sh')}` });
  }
  talk.say(`replaced in the cluster and read back: ${done.join(', ')}`);
}

/** What a copy the control plane publishes itself holds now, said plainly (it follows the node's files on restart). */
async function publishedNote(host: Host, kubeconfig: string, published: (typeof PUBLISHED)[number], ca: RotatingCa): Promise<string> {
  const [, namespace, , name] = published.args;
  const object = await kubectlJson(host, kubeconfig, published.args).catch(() => undefined);
  const pem = (object?.data as Record<string, string> | undefined)?.[published.key];
  if (!pem) return `${namespace}/${name}: not found (kept by ${published.by})`;
  let holdsNew = false;
  let holdsOld = false;
  try {
    const certificates = parseCertificates(pem);
    holdsNew = carriesCa(certificates, { old: [], new: ca.new });
    holdsOld = ca.old.some((old) => carriesCa(certificates, { old: [], new: old }));
  } catch {
    return `${namespace}/${name} ${published.key}: does not parse (kept by ${published.by})`;
  }
  // Only the old CA left is what distrust wants; the apiservers' merged ConfigMap keeps it (extension-trust.ts says how to clear it).
  return `${namespace}/${name} ${published.key}: ${holdsNew ? 'holds the new CA' : 'does not hold the new CA yet'}${holdsOld ? ', and still the old one' : ''} (kept by ${published.by})`;
}
