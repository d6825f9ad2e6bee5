// kubelet.conf whose client certificate is gone — missing, a dangling symlink,
// unreadable or damaged (a failed rotation, a host copied without
// /var/lib/kubelet) — gets kubeadm's documented recovery: a new client cert
// CN=system:node:NAME, O=system:nodes, client auth, with a new key, signed by
// the cluster CA, written where kubelet.conf expects it. Planned like a
// renewal, so it is shown, backed up, journalled and can be rolled back.
import type { KeyObject } from 'node:crypto';
import { KUBECONFIG_CLIENT_USAGES } from '../../catalogue/kubeadm.js';
import { RescueError } from '../../errors.js';
import type { Certificate } from '../../pki/certificate.js';
import { parseUsages } from '../../pki/extensions.js';
import { describeKey, generateKey } from '../../pki/keys.js';
import { emptySans } from '../../pki/san.js';
import { issueCertificate, Signer } from '../../pki/sign.js';
import type { Inventory, InventoryItem } from '../inventory/discover.js';

export const KUBELET_CONF = 'kubelet.conf';

/** Why kubelet.conf's client cert must be re-minted, or undefined when it can be renewed (or not at all). */
export function remintReason(item: InventoryItem): string | undefined {
  if (item.name !== KUBELET_CONF || !item.certificate || item.certificate.value) return undefined;
  // No user with a client certificate: the kubeconfig itself is broken, and that is not ours to guess.
  if (item.kubeconfigUser === undefined) return undefined;
  return item.certificate.error ?? 'the certificate is missing';
}

/** The node the kubeconfig is for: --node-name, else its user system:node:NAME, else the node the manifests name. */
export function kubeletNodeName(inventory: Inventory, item: InventoryItem, override?: string): string {
  const fromUser = /^system:node:(.+)$/.exec(item.kubeconfigUser ?? '')?.[1];
  const name = override ?? fromUser ?? inventory.cluster.nodeName;
  if (!name) {
    throw new RescueError('USAGE', `${KUBELET_CONF}: its client cert must be re-minted, and no node name was found (its user is "${item.kubeconfigUser}", and no manifest names the node)`, {
      file: item.certificate?.hostPath,
      hint: 'pass --node-name NAME (the name `kubectl get nodes` shows for this host)',
    });
  }
  return name;
}

export interface RemintedKubeletClient {
  nodeName: string;
  certificate: Certificate;
  key: KeyObject;
  warnings: string[];
}

/** The new client cert and key (a key of the old key's type when that key is still readable, else ECDSA P-256). */
export async function remintKubeletClient(item: InventoryItem, nodeName: string, issuer: Signer, options: { durationMs: number; now: Date; beyondCa?: 'cap' | 'refuse' }): Promise<RemintedKubeletClient> {
  const old = item.key?.value ? describeKey(item.key.value) : undefined;
  const key = await generateKey(old && (old.algo === 'rsa' || old.algo === 'ecdsa') ? { algo: old.algo, size: old.size } : { algo: 'ecdsa', size: 256 });
  const { certificate, warnings } = issueCertificate({
    template: { subject: { CN: `system:node:${nodeName}`, O: ['system:nodes'] }, sans: emptySans(), usages: parseUsages(KUBECONFIG_CLIENT_USAGES), isCA: false, durationMs: options.durationMs },
    subjectKey: key,
    issuer,
    now: options.now,
    beyondIssuer: options.beyondCa,
  });
  return { nodeName, certificate, key, warnings };
}
