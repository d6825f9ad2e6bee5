// What `ca rotate ca` does once the node's phase passed its gates, for every front end: the in-cluster copies
// of the cluster CA (in-cluster-run.ts) and, when asked, the kubeconfigs to hand out again. Workers (no
// admin.conf) have no business with the cluster's objects: a control plane does them.
import { posix } from 'node:path';
import { kubeconfigSpec, PKI_DIR } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import { makeDirectories, PRIVATE_KEY_MODE, PUBLIC_MODE, writeFilesAtomically, type FileToWrite } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { parseCertificates } from '../../pki/certificate.js';
import { sha256Hex } from '../../pki/digest.js';
import { readKubeconfig } from '../inventory/kubeconfig.js';
import { rotatingCaFromPems, type RotatingCa } from './ca-copies.js';
import { rotateInClusterCopies, type InClusterOutcome } from './in-cluster-run.js';
import { IN_CLUSTER_DIR, type RotationPhase, type RotationState } from './rotation-state.js';
import { compactTime } from '../../host/time.js';

interface Talk {
  say(line: string): void;
  warn(line: string): void;
}

export const adminConf = () => kubeconfigSpec('admin.conf')!.storage.file;

/**
 * The cluster CA this rotation replaces, from the state (recorded at trust), or, for a rotation begun by an
 * older rescue-kit, from the node's bundle while it still holds both (trust, reissue).
 */
export function rotatingClusterCa(host: Host, state: RotationState): RotatingCa | undefined {
  const rotation = state.authorities.ca;
  if (!rotation) return undefined;
  if (rotation.oldCertificatesPem && rotation.newCertificatePem) return rotatingCaFromPems(rotation.oldCertificatesPem, rotation.newCertificatePem);
  const bundle = parseCertificates(host.read(`${PKI_DIR}/ca.crt`) ?? '');
  const fresh = bundle.find((certificate) => sha256Hex(certificate.der) === rotation.newFingerprint);
  const old = bundle.filter((certificate) => certificate !== fresh);
  return fresh && old.length ? { old, new: fresh } : undefined;
}

export interface AfterPhaseOptions {
  phase: RotationPhase;
  /** Exported objects instead of the live cluster (scripts written, nothing applied). */
  objectsFrom?: string;
  /** Where the in-cluster directory goes (default: var/lib/rescue-kit/ca-rotation/in-cluster-PHASE-TIME). */
  out?: string;
  /** false: do not ask the caBundles' servers which CA they present (see InClusterRequest.checkServers). */
  checkServers?: boolean;
}

/** The in-cluster copies after a phase on a control plane; undefined on a worker. */
export async function inClusterAfterPhase(host: Host, state: RotationState, options: AfterPhaseOptions, talk: Talk): Promise<InClusterOutcome | undefined> {
  if (!host.read(adminConf())) return undefined;
  const ca = rotatingClusterCa(host, state);
  if (!ca) {
    talk.warn('the old cluster CA is not recorded in this rotation (begun by an older rescue-kit): update the in-cluster copies by hand (kube-public/cluster-info, caBundles that carry it)');
    return undefined;
  }
  const out = options.out ?? host.real(`${IN_CLUSTER_DIR}/in-cluster-${options.phase}-${compactTime(host.now())}`);
  try {
    return await rotateInClusterCopies(host, { phase: options.phase, ca, out, from: options.objectsFrom, kubeconfig: host.real(adminConf()), apply: !options.objectsFrom, checkServers: options.checkServers }, talk);
  } catch (error) {
    // The node's phase is done and recorded; only the cluster's copies are behind. Say so, and how to go on.
    const cause = error instanceof RescueError ? error : new RescueError('INTERNAL', (error as Error).message);
    throw new RescueError(cause.code, `phase ${options.phase} is done on this node, but the in-cluster copies of the CA were not updated: ${cause.message}`, {
      hint: `${cause.hint ? `${cause.hint}; then ` : ''}continue with: rescue-kit ca in-cluster ${out}`,
    });
  }
}

/**
 * --export-kubeconfigs DIR: admin.conf (and super-admin.conf) as this phase left them, to hand out again, plus
 * the CA bundle and the kubectl line for users who keep their own credentials. The operator asked for the
 * keys to be copied: the directory is 0700, the kubeconfigs 0600, and nothing is overwritten.
 */
export function exportKubeconfigs(host: Host, dir: string): string[] {
  const files: FileToWrite[] = [];
  const listing: string[] = [];
  for (const name of ['admin.conf', 'super-admin.conf']) {
    const file = kubeconfigSpec(name)?.storage.file ?? posix.join(posix.dirname(adminConf()), name);
    const text = host.read(file)?.toString();
    if (!text) continue;
    const user = readKubeconfig(text, host.real(file)).currentUser;
    const certificate = user?.certData ? parseCertificates(Buffer.from(user.certData, 'base64'))[0] : undefined;
    files.push({ path: posix.join(dir, name), data: text, mode: PRIVATE_KEY_MODE });
    listing.push(`${name}: user ${user?.name ?? '?'}${certificate ? ` (${certificate.subjectText}, issued by ${certificate.issuerText}, until ${certificate.notAfter.toISOString()})` : ''}`);
  }
  if (!files.length) throw new RescueError('FILE_NOT_FOUND', 'no admin.conf on this node to export', { file: host.real(adminConf()), hint: 'export from a control plane' });
  const bundle = host.read(`${PKI_DIR}/ca.crt`)?.toString() ?? '';
  files.push(
    { path: posix.join(dir, 'ca-bundle.crt'), data: bundle, mode: PUBLIC_MODE },
    {
      path: posix.join(dir, 'README.txt'),
      data: [
        'Kubeconfigs to hand out again after a phase of the cluster CA rotation (rescue-kit ca rotate ca).',
        ...listing,
        'Users with their own credentials keep them and only take the CA bundle:',
        '  kubectl config set-cluster CLUSTER --certificate-authority=ca-bundle.crt --embed-certs=true',
        'These files hold private keys: hand them over the way your site hands over admin credentials, then delete this directory.',
        '',
      ].join('\n'),
      mode: PUBLIC_MODE,
    },
  );
  makeDirectories(dir, 0o700);
  writeFilesAtomically(files);
  return files.map((file) => posix.basename(file.path));
}
