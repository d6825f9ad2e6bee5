// Signing workers' kubelet CSRs where the cluster CA key lives: every request
// in the batch is checked first (a node identity, no SANs, a valid signature,
// one per node) and only then are they signed — a bad request fails the batch
// before any certificate exists. Client auth only, never a CA.
import { KUBECONFIG_CLIENT_USAGES } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Certificate } from '../../pki/certificate.js';
import type { CertificateRequest } from '../../pki/csr.js';
import { parseUsages } from '../../pki/extensions.js';
import { emptySans } from '../../pki/san.js';
import { issueCertificate, Signer } from '../../pki/sign.js';
import { NODE_USER_PREFIX, NODES_GROUP, nodeNameOfRequest } from './node-identity.js';

export interface NodeRequest {
  /** Where it came from (a file name), for messages. */
  source: string;
  csr: CertificateRequest;
}

export interface SignedNode {
  source: string;
  nodeName: string;
  certificate: Certificate;
  warnings: string[];
}

/** Node name per request, refusing the whole batch on the first request that is not a kubelet's, or on two for one node. */
export function checkNodeRequests(requests: NodeRequest[]): string[] {
  const names = requests.map((request) => nodeNameOfRequest(request.csr, request.source));
  names.forEach((name, index) => {
    const first = names.indexOf(name);
    if (first !== index) throw new RescueError('INVALID_CSR', `${requests[index]!.source}: a second request for node ${name} (the first is ${requests[first]!.source})`, { hint: 'sign one request per node: the newest one, made by rescue-kit kubelet csr' });
  });
  return names;
}

export function signNodeRequests(requests: NodeRequest[], issuer: Signer, options: { durationMs: number; now: Date; beyondCa?: 'cap' | 'refuse' }): SignedNode[] {
  const names = checkNodeRequests(requests);
  return requests.map((request, index) => {
    const nodeName = names[index]!;
    const { certificate, warnings } = issueCertificate({
      // Built from the checked name, not copied from the request: nothing but the node identity can get through.
      template: { subject: { CN: `${NODE_USER_PREFIX}${nodeName}`, O: [NODES_GROUP] }, sans: emptySans(), usages: parseUsages(KUBECONFIG_CLIENT_USAGES), isCA: false, durationMs: options.durationMs },
      subjectKey: request.csr.publicKey,
      issuer,
      now: options.now,
      beyondIssuer: options.beyondCa,
    });
    return { source: request.source, nodeName, certificate, warnings };
  });
}
