// `kubelet csr` on a worker: a new key that stays on the worker (0600, beside
// the kubelet's own pems) and a CSR for system:node:NAME / system:nodes, the
// only thing that travels to the control plane.
import { parse } from 'yaml';
import { RescueError } from '../../errors.js';
import { prepareWrites } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { parseCertificate } from '../../pki/certificate.js';
import { createCsr } from '../../pki/csr.js';
import { exportPrivateKeyPem, generateKey } from '../../pki/keys.js';
import { emptySans } from '../../pki/san.js';
import { KUBERNETES_DIR } from '../inventory/discover.js';
import { readKubeconfig } from '../inventory/kubeconfig.js';
import { assertNodeName, NODE_USER_PREFIX, NODES_GROUP, PENDING_KEY } from './node-identity.js';

export const KUBELET_CONF_PATH = `${KUBERNETES_DIR}/kubelet.conf`;

export interface KubeletConf {
  text: string;
  server?: string;
  caPem?: string;
  user?: ReturnType<typeof readKubeconfig>['currentUser'];
}

/** kubelet.conf as the kubelet reads it: its server, the CA it trusts, its user's credentials. */
export function readKubeletConf(host: Host): KubeletConf {
  const text = host.read(KUBELET_CONF_PATH)?.toString();
  if (text === undefined) {
    throw new RescueError('FILE_NOT_FOUND', `${KUBELET_CONF_PATH} is not on this host${host.root === '/' ? '' : ` (under ${host.root})`}`, { file: host.real(KUBELET_CONF_PATH), hint: 'run this on a node that was joined with kubeadm, or pass --root' });
  }
  const user = readKubeconfig(text, host.real(KUBELET_CONF_PATH)).currentUser;
  const config = parse(text) as { clusters?: { cluster?: Record<string, string> }[] } | null;
  const cluster = config?.clusters?.[0]?.cluster;
  const caData = cluster?.['certificate-authority-data'];
  const caFile = cluster?.['certificate-authority'];
  const caPem = caData ? Buffer.from(caData, 'base64').toString() : caFile ? host.read(caFile)?.toString() : undefined;
  return { text, server: cluster?.server, caPem, user };
}

/** The node's name: --node-name, else kubelet.conf's user (or its cert's CN) system:node:NAME, else the hostname. */
export function workerNodeName(host: Host, conf: KubeletConf, override: string | undefined, hostname: string): string {
  if (override) return assertNodeName(override, '--node-name');
  const fromUser = conf.user?.name.startsWith(NODE_USER_PREFIX) ? conf.user.name.slice(NODE_USER_PREFIX.length) : undefined;
  let fromCert: string | undefined;
  try {
    const pem = conf.user?.certData ? Buffer.from(conf.user.certData, 'base64') : conf.user?.certFile ? host.read(conf.user.certFile) : undefined;
    const cn = pem ? parseCertificate(pem).commonName : undefined;
    fromCert = cn?.startsWith(NODE_USER_PREFIX) ? cn.slice(NODE_USER_PREFIX.length) : undefined;
  } catch {
    // The expired or damaged cert is what we are replacing: its name is only a fallback.
  }
  return assertNodeName(fromUser ?? fromCert ?? hostname.toLowerCase(), fromUser ? `${KUBELET_CONF_PATH} user` : fromCert ? 'the current client cert' : 'the hostname');
}

export interface WorkerCsr {
  nodeName: string;
  csrPem: string;
  /** Host path of the key, which never leaves the worker. */
  keyPath: string;
  /** A key of an earlier, never installed CSR was replaced (its certificate, if signed, can no longer be installed). */
  replacedPendingKey: boolean;
}

export async function makeWorkerCsr(host: Host, options: { nodeName?: string; hostname: string }): Promise<WorkerCsr> {
  const conf = readKubeletConf(host);
  const nodeName = workerNodeName(host, conf, options.nodeName, options.hostname);
  // ECDSA P-256: what the kubelet itself makes when it rotates its client cert.
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  const csr = createCsr({ CN: `${NODE_USER_PREFIX}${nodeName}`, O: [NODES_GROUP] }, emptySans(), key);
  const replacedPendingKey = Boolean(host.lstat(PENDING_KEY));
  prepareWrites([{ path: host.real(PENDING_KEY), data: exportPrivateKeyPem(key), mode: 0o600 }]).commit();
  return { nodeName, csrPem: csr.pem, keyPath: PENDING_KEY, replacedPendingKey };
}
