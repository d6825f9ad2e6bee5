// Who a kubelet is: system:node:NAME in group system:nodes, and nothing else.
// The signer refuses every other identity, so a worker that sends a CSR can
// never obtain system:masters (or any user) from the control plane.
import { RescueError } from '../../errors.js';
import { KUBELET_PKI_DIR } from '../../catalogue/kubeadm.js';
import type { CertificateRequest } from '../../pki/csr.js';
import type { NameAttribute } from '../../pki/name.js';

export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
/** Where the worker keeps the key of its outstanding CSR until `kubelet install` moves it into the rotated pem. */
export const PENDING_KEY = `${KUBELET_PKI_DIR}/rescue-kit-pending.key`;

/** Node names as Kubernetes accepts them (a DNS-1123 subdomain): no ':', ',' or spaces that could smuggle a second identity. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function assertNodeName(name: string, where: string): string {
  if (name.length > 253 || !NODE_NAME.test(name)) {
    throw new RescueError('USAGE', `${where}: "${name}" is not a node name (lower-case letters, digits, '-' and '.', at most 253)`, { hint: 'pass --node-name NAME as `kubectl get nodes` shows it' });
  }
  return name;
}

/** The node a CN=system:node:NAME / O=system:nodes subject is for; refuses any other subject, naming what was asked. */
export function nodeNameOfSubject(subject: NameAttribute[], subjectText: string, where: string): string {
  const common = subject.filter((attribute) => attribute.type === 'CN').map((attribute) => attribute.value);
  const groups = subject.filter((attribute) => attribute.type === 'O').map((attribute) => attribute.value);
  const others = subject.filter((attribute) => attribute.type !== 'CN' && attribute.type !== 'O');
  const refuse = (why: string) =>
    new RescueError('INVALID_CSR', `${where}: refused: ${why} (asks for "${subjectText}"); only kubelet client identities CN=system:node:NAME, O=system:nodes are signed here`, {
      hint: 'make the request on the worker with rescue-kit kubelet csr; other identities need a person with the CA key (rescue-kit sign --profile ...)',
    });
  if (common.length !== 1 || !common[0]!.startsWith(NODE_USER_PREFIX)) throw refuse(`the CN is not system:node:NAME`);
  if (groups.length !== 1 || groups[0] !== NODES_GROUP) throw refuse(`the organisation must be exactly ${NODES_GROUP}${groups.includes('system:masters') ? ', and system:masters is never granted to a node' : ''}`);
  if (others.length) throw refuse(`unexpected subject fields ${others.map((attribute) => attribute.type).join(', ')}`);
  const name = common[0]!.slice(NODE_USER_PREFIX.length);
  if (name.length > 253 || !NODE_NAME.test(name)) throw refuse(`"${name}" is not a node name`);
  return name;
}

/** A kubelet client CSR: a node identity and no SANs (a client cert names no hosts). */
export function nodeNameOfRequest(csr: CertificateRequest, where: string): string {
  const name = nodeNameOfSubject(csr.subject, csr.subjectText, where);
  const { dns, ips, emails, uris } = csr.sans;
  if (dns.length + ips.length + emails.length + uris.length) {
    throw new RescueError('INVALID_CSR', `${where}: refused: a kubelet client request carries no SANs, this one asks for ${[...dns, ...ips, ...emails, ...uris].join(', ')}`, { hint: 'make the request with rescue-kit kubelet csr' });
  }
  return name;
}
