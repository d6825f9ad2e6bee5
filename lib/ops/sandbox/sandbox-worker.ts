// A kubeadm worker's tree (kubelet.conf, pki/ca.crt, the kubelet's rotated
// client pem + "current" symlink) whose client cert expired, signed by a
// sandbox control plane's CA: the fleet demo's and tests' workers. Pure.
import { KUBECONFIG_CLIENT_USAGES } from '../../catalogue/kubeadm.js';
import { parseUsages } from '../../pki/extensions.js';
import { exportPrivateKeyPem, generateKey } from '../../pki/keys.js';
import { emptySans } from '../../pki/san.js';
import { issueCertificate, Signer } from '../../pki/sign.js';
import type { TreeFile } from '../../host/tree.js';
import { kubeconfigYaml } from './sandbox-files.js';

const DAY = 86_400_000;

export interface WorkerOptions {
  ca: Signer;
  nodeName: string;
  /** The apiserver (or load balancer) kubelet.conf points at. */
  server: string;
  now: Date;
  expiredDaysAgo?: number;
  /** Older kubeadm: the client cert and key embedded in kubelet.conf instead of the rotated pem. */
  embedded?: boolean;
}

export async function buildWorkerTree(options: WorkerOptions): Promise<TreeFile[]> {
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const issuedAt = new Date(options.now.getTime() - ((options.expiredDaysAgo ?? 30) + 365) * DAY);
  const { certificate } = issueCertificate({
    template: { subject: { CN: `system:node:${options.nodeName}`, O: ['system:nodes'] }, sans: emptySans(), usages: parseUsages(KUBECONFIG_CLIENT_USAGES), isCA: false, durationMs: 365 * DAY },
    subjectKey: key,
    issuer: options.ca,
    now: issuedAt,
  });
  const user = `system:node:${options.nodeName}`;
  const files: TreeFile[] = [{ path: 'etc/kubernetes/pki/ca.crt', data: options.ca.certificate.pem, mode: 0o644 }];
  if (options.embedded) {
    files.push({ path: 'etc/kubernetes/kubelet.conf', data: kubeconfigYaml({ caPem: options.ca.certificate.pem, server: options.server, user, certPem: certificate.pem, keyPem: exportPrivateKeyPem(key) }), mode: 0o600 });
    return files;
  }
  const stamp = issuedAt.toISOString().slice(0, 19).replace(/[T:]/g, '-');
  const rotated = `/var/lib/kubelet/pki/kubelet-client-${stamp}.pem`;
  files.push({ path: rotated.slice(1), data: certificate.pem + exportPrivateKeyPem(key), mode: 0o600 });
  files.push({ path: 'var/lib/kubelet/pki/kubelet-client-current.pem', symlink: rotated });
  files.push({ path: 'etc/kubernetes/kubelet.conf', data: kubeconfigYaml({ caPem: options.ca.certificate.pem, server: options.server, user, clientCertFile: '/var/lib/kubelet/pki/kubelet-client-current.pem' }), mode: 0o600 });
  return files;
}
