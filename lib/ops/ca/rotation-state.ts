// Where a phased CA rotation stands, per tree: /var/lib/rescue-kit/ca-rotation.json says which
// authorities are being rotated, the new CA's fingerprint, and which phase each known node has
// completed. It is written by the phase's own plan (a FileChange: backed up, journalled, rolled
// back with the certificates), so a second operator — or the same one months later — sees it.
import { posix } from 'node:path';
import { KUBELET_CLIENT_CURRENT, kubeconfigSpec, PKI_DIR } from '../../catalogue/kubeadm.js';
import { parseCertificates } from '../../pki/certificate.js';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { fileChange, type FileChange } from '../renewal/file-changes.js';
import type { ClusterFromManifests } from '../inventory/manifests.js';

export const ROTATION_STATE = '/var/lib/rescue-kit/ca-rotation.json';
/** Where each phase's in-cluster directory goes (originals, patched objects, apply/rollback scripts). */
export const IN_CLUSTER_DIR = '/var/lib/rescue-kit/ca-rotation';
/** The legacy two-phase rotation's marker (ca rotate --phase start): still counts as in progress. */
const LEGACY_OLD_CA = `${PKI_DIR}/ca.old.crt`;

export const ROTATABLE = ['ca', 'etcd-ca', 'front-proxy-ca', 'sa'] as const;
export type Rotatable = (typeof ROTATABLE)[number];
export const ROTATION_PHASES = ['trust', 'reissue', 'distrust'] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

export interface AuthorityRotation {
  /** sha256 of the new CA's DER (sa: of the new public key's SPKI), colon-free hex. */
  newFingerprint: string;
  oldFingerprint: string;
  /**
   * The old and new CA certificates (public; X.509 authorities only), so copies outside the node — in-cluster
   * caBundles, users' kubeconfigs — can still be told apart after the node's own files dropped the old one.
   */
  oldCertificatesPem?: string;
  newCertificatePem?: string;
  startedAt: string;
  /** node name -> the last phase it completed. */
  nodes: Record<string, RotationPhase>;
  /** node name -> when it completed that phase (ISO): how long the sa key's overlap has lasted. */
  phaseAt?: Record<string, string>;
}

export interface RotationState {
  schemaVersion: 1;
  /** The control-plane nodes this rotation must reach (etcd's --initial-cluster names, plus any node that reported). */
  knownNodes: string[];
  authorities: Partial<Record<Rotatable, AuthorityRotation>>;
}

export const emptyState = (): RotationState => ({ schemaVersion: 1, knownNodes: [], authorities: {} });

/** Parse a state file's text; a damaged one is an error naming it (never silently "no rotation"). */
export function parseRotationState(text: string, file: string): RotationState {
  try {
    const parsed = JSON.parse(text) as RotationState;
    if (parsed.schemaVersion !== 1 || typeof parsed.authorities !== 'object' || !Array.isArray(parsed.knownNodes)) throw new Error('not a rescue-kit CA rotation state (schemaVersion 1)');
    return parsed;
  } catch (error) {
    throw new RescueError('INVALID_JSON', `${file}: ${(error as Error).message}`, { file, hint: 'restore it from the last run (rescue-kit rollback) or from the exchange directory of the rotation' });
  }
}

export function readRotationState(host: Host): RotationState | undefined {
  const data = host.read(ROTATION_STATE);
  return data ? parseRotationState(data.toString(), host.real(ROTATION_STATE)) : undefined;
}

/** The plan's write of the state (a deletion once no authority is left in rotation). */
export function rotationStateChange(host: Host, state: RotationState): FileChange {
  const empty = Object.keys(state.authorities).length === 0;
  return fileChange(host, ROTATION_STATE, empty ? undefined : Buffer.from(`${JSON.stringify(state, null, 2)}\n`), false, `${posix.basename(ROTATION_STATE)}: CA rotation state`);
}

/**
 * This node's name as the rotation knows it: kubeadm's node name from the manifests, or on a worker (no
 * manifests) the kubelet's identity (system:node:NAME of its client cert), so workers never share a name.
 */
export function nodeNameOf(cluster: ClusterFromManifests, host?: Host): string {
  return cluster.nodeName ?? (host && kubeletNodeName(host)) ?? 'this-node';
}

function kubeletNodeName(host: Host): string | undefined {
  const fromPem = (data: Buffer | string | undefined) => {
    if (!data) return undefined;
    try {
      return parseCertificates(data).map((certificate) => /^system:node:(.+)$/.exec(certificate.commonName ?? '')?.[1]).find(Boolean);
    } catch {
      return undefined;
    }
  };
  const embedded = /client-certificate-data:\s*(\S+)/.exec(host.read(kubeconfigSpec('kubelet.conf')!.storage.file)?.toString() ?? '')?.[1];
  return fromPem(host.read(KUBELET_CLIENT_CURRENT)) ?? fromPem(embedded ? Buffer.from(embedded, 'base64') : undefined);
}

/**
 * The control planes etcd knows (its --initial-cluster), this one included: the nodes every authority's rotation
 * has to reach before distrust. A worker (no etcd) adds none: it is tracked once it reports a phase (ca only).
 */
export function controlPlaneNodes(cluster: ClusterFromManifests): string[] {
  const flags = cluster.components.find((entry) => entry.component === 'etcd')?.flags;
  if (!flags) return [];
  const names = (flags.get('initial-cluster') ?? '').split(',').map((entry) => entry.split('=')[0]!).filter(Boolean);
  return [...new Set([...names, nodeNameOf(cluster)])];
}

/** Two views of the same rotation (this tree's and the exchange directory's): every node keeps its furthest phase. */
export function mergeStates(a: RotationState, b: RotationState | undefined): RotationState {
  if (!b) return a;
  const merged: RotationState = { schemaVersion: 1, knownNodes: [...new Set([...a.knownNodes, ...b.knownNodes])], authorities: { ...a.authorities } };
  for (const name of ROTATABLE) {
    const other = b.authorities[name];
    const mine = merged.authorities[name];
    if (!other) continue;
    if (!mine) {
      merged.authorities[name] = other;
      continue;
    }
    if (mine.newFingerprint !== other.newFingerprint) continue;
    const nodes = { ...other.nodes };
    const phaseAt = { ...other.phaseAt };
    for (const [node, phase] of Object.entries(mine.nodes)) {
      if (nodes[node] && phaseIndex(phase) <= phaseIndex(nodes[node]!)) continue;
      nodes[node] = phase;
      if (mine.phaseAt?.[node]) phaseAt[node] = mine.phaseAt[node]!;
    }
    merged.authorities[name] = { ...mine, nodes, phaseAt };
  }
  return merged;
}

export const phaseIndex = (phase: RotationPhase | undefined) => (phase ? ROTATION_PHASES.indexOf(phase) : -1);

/** The known nodes that have not completed `phase` for this authority. */
export function nodesBehind(state: RotationState, name: Rotatable, phase: RotationPhase): string[] {
  const rotation = state.authorities[name];
  if (!rotation) return [];
  return [...new Set([...state.knownNodes, ...Object.keys(rotation.nodes)])].filter((node) => phaseIndex(rotation.nodes[node]) < phaseIndex(phase));
}

export interface RotationSummaryEntry {
  ca: Rotatable;
  /** The phase this node completed last. */
  phase: RotationPhase | 'start';
  /** Known nodes that have not completed that phase yet. */
  pending: string[];
  since: string;
}

export interface RotationSummary {
  inProgress: boolean;
  /** When the oldest rotation in progress began, ISO; null when none. */
  since: string | null;
  authorities: RotationSummaryEntry[];
}

/** What `check` (text, --json) and the Prometheus gauge say about rotations in progress on this tree. */
export function rotationSummary(host: Host, cluster: ClusterFromManifests): RotationSummary {
  const state = readRotationState(host);
  const node = nodeNameOf(cluster, host);
  const authorities: RotationSummaryEntry[] = ROTATABLE.flatMap((ca) => {
    const rotation = state?.authorities[ca];
    if (!rotation) return [];
    const phase = rotation.nodes[node] ?? 'trust';
    return [{ ca, phase, pending: nodesBehind(state!, ca, phase), since: rotation.startedAt }];
  });
  const legacy = host.lstat(LEGACY_OLD_CA);
  if (legacy && !authorities.some((entry) => entry.ca === 'ca')) authorities.push({ ca: 'ca', phase: 'start', pending: [], since: legacy.mtime.toISOString() });
  const since = authorities.map((entry) => entry.since).sort()[0] ?? null;
  return { inProgress: authorities.length > 0, since, authorities };
}

/** "CA rotation in progress: etcd-ca phase trust (nodes pending: cp2, cp3)", one line per authority. */
export function rotationLines(summary: RotationSummary): string[] {
  return summary.authorities.map((entry) => `CA rotation in progress: ${entry.ca} phase ${entry.phase}${entry.pending.length ? ` (nodes pending: ${entry.pending.join(', ')})` : ''}`);
}
