// Break-glass, for workers with no usable rescue-kit: keys AND certs made on
// the control plane, for a list of nodes. The keys then travel, which is what
// the CSR flow exists to avoid; the CLI says so loudly.
import type { KeyObject } from 'node:crypto';
import { exportPrivateKeyPem, generateKey } from '../../pki/keys.js';
import { createCsr } from '../../pki/csr.js';
import { emptySans } from '../../pki/san.js';
import type { Signer } from '../../pki/sign.js';
import { assertNodeName, NODE_USER_PREFIX, NODES_GROUP } from './node-identity.js';
import { signNodeRequests, SignedNode } from './node-sign.js';

export interface IssuedNode extends SignedNode {
  key: KeyObject;
  /** cert + key in one PEM, as the kubelet keeps kubelet-client-<time>.pem. */
  combinedPem: string;
}

export async function issueForNodes(names: string[], issuer: Signer, options: { durationMs: number; now: Date; beyondCa?: 'cap' | 'refuse' }): Promise<IssuedNode[]> {
  const keys = await Promise.all(names.map(() => generateKey({ algo: 'ecdsa', size: 256 })));
  // Through the same checks as a worker's CSR: a break-glass run cannot mint anything but node identities either.
  const requests = names.map((name, index) => ({ source: `--nodes ${name}`, csr: createCsr({ CN: `${NODE_USER_PREFIX}${assertNodeName(name, '--nodes')}`, O: [NODES_GROUP] }, emptySans(), keys[index]!) }));
  return signNodeRequests(requests, issuer, options).map((signed, index) => ({ ...signed, key: keys[index]!, combinedPem: signed.certificate.pem + exportPrivateKeyPem(keys[index]!) }));
}
