// Operators' own kubeconfigs on this host (~/.kube/config of root and of each home directory, /etc/passwd's too): the copies
// of admin.conf kubeadm tells them to make. A cluster CA rotation that forgot them would leave `kubectl`
// failing with "x509: certificate signed by unknown authority" the moment the apiserver serves a cert of
// the new CA (reissue). They change inside the phase's plan (backed up, journalled, rolled back):
//   - the CA data of each cluster entry that carries the rotating CA (others' clusters are left alone);
//   - at reissue, a byte-for-byte copy of admin.conf's credentials gets admin.conf's re-signed cert;
//   - at distrust, one whose client cert only the old CA signed is listed: it would be refused.
import { posix } from 'node:path';
import { USER_KUBECONFIG } from '../../catalogue/kubeadm.js';
import type { Host } from '../../host/host.js';
import { parseCertificates } from '../../pki/certificate.js';
import { isIssuedBy } from '../../pki/verify.js';
import { parseKubeconfig, userField, type ScalarEdit } from '../inventory/kubeconfig.js';
import { fileChange, type FileChange } from '../renewal/file-changes.js';
import { kubeconfigCarriesCa, rotatedKubeconfigCaData, type RotatingCa } from './ca-copies.js';
import type { RotationPhase } from './rotation-state.js';

/**
 * Every home directory on this host: those under /home, and those /etc/passwd names elsewhere (service users
 * such as jenkins in /var/lib/jenkins, whose CI jobs run kubectl with a copy of admin.conf).
 */
function homeDirectories(host: Host): string[] {
  const underHome = host.list(USER_KUBECONFIG.homes).map((name) => posix.join(USER_KUBECONFIG.homes, name));
  const fromPasswd = (host.read(USER_KUBECONFIG.passwd)?.toString() ?? '')
    .split('\n')
    .map((line) => line.split(':')[5]?.trim())
    .filter((home): home is string => Boolean(home?.startsWith('/')) && home !== '/');
  return [...underHome, ...fromPasswd];
}

/** The user kubeconfigs present on this host (host paths), each once. */
export function userKubeconfigFiles(host: Host): string[] {
  const files = [USER_KUBECONFIG.root, ...homeDirectories(host).map((home) => posix.join(posix.normalize(home), USER_KUBECONFIG.inHome))];
  return [...new Set(files)].filter((file) => host.read(file) !== undefined);
}

/** admin.conf's credentials before and after reissue: a user kubeconfig holding the "before" pair is a copy. */
export interface AdminCredentials {
  certData: string;
  keyData?: string;
  newCertData: string;
}

export interface UserKubeconfigOutcome {
  changes: FileChange[];
  /** Files (and users) whose client cert only the old CA signed: distrust would lock them out. */
  signedByOldOnly: string[];
}

export function userKubeconfigChanges(host: Host, ca: RotatingCa, phase: RotationPhase, admin?: AdminCredentials): UserKubeconfigOutcome {
  const outcome: UserKubeconfigOutcome = { changes: [], signedByOldOnly: [] };
  for (const file of userKubeconfigFiles(host)) {
    const text = host.read(file)?.toString();
    const real = host.real(file);
    if (!text || !kubeconfigCarriesCa(text, real, ca)) continue;
    const { view } = parseKubeconfig(text, real);
    const extra: ScalarEdit[] = [];
    const reasons = [phase === 'distrust' ? 'trusts the new CA only' : 'trusts the new CA too'];
    for (const user of view.users) {
      if (!user.certData) continue;
      if (admin && phase === 'reissue' && user.certData === admin.certData && user.keyData === admin.keyData) {
        extra.push({ path: userField(user.index, 'client-certificate-data'), value: admin.newCertData });
        reasons.push(`user ${user.name}: admin.conf's re-signed cert (same key)`);
        continue;
      }
      if (phase !== 'distrust') continue;
      const certificate = parseCertificates(Buffer.from(user.certData, 'base64'))[0];
      if (certificate && !isIssuedBy(certificate, ca.new) && ca.old.some((old) => isIssuedBy(certificate, old))) outcome.signedByOldOnly.push(`${file} (user ${user.name}, ${certificate.subjectText})`);
    }
    const patched = rotatedKubeconfigCaData(text, real, ca, phase, extra);
    if (patched !== undefined) outcome.changes.push(fileChange(host, file, Buffer.from(patched), text.includes('client-key-data'), `${file}: a user's kubeconfig: ${reasons.join('; ')}`));
  }
  return outcome;
}

