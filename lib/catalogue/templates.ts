// CSR JSON templates (cfssl format) derived from the kubeadm catalogue.
// Node-specific values stay as ${NODE_NAME} / ${NODE_IP} variables that
// `rescue-kit issue --var NODE_NAME=master01` fills in.
import type { CsrJson } from '../config/csr-json.js';
import { CA_VALIDITY, CERTIFICATE_AUTHORITIES, ClusterFacts, DEFAULT_CLUSTER_FACTS, KUBECONFIGS, LEAF_CERTIFICATES, sansFor } from './kubeadm.js';

export const TEMPLATE_FACTS: ClusterFacts = { ...DEFAULT_CLUSTER_FACTS, nodeName: '${NODE_NAME}', advertiseAddress: '${NODE_IP}' };
/** Templates target current kubeadm (1.29+ identities); renewals copy what the old cert said instead. */
const TEMPLATE_MINOR = 31;
const RSA_2048 = { algo: 'rsa', size: 2048 } as const;

function csr(commonName: string, organizations: string[], hosts: string[]): CsrJson {
  return {
    CN: commonName,
    ...(organizations.length ? { names: organizations.map((O) => ({ O })) } : {}),
    hosts,
    key: { ...RSA_2048 },
  };
}

/** [file name, CSR JSON] for every kubeadm CA, leaf and kubeconfig client cert. */
export function kubeadmTemplates(): [string, CsrJson][] {
  return [
    ...CERTIFICATE_AUTHORITIES.map((ca): [string, CsrJson] => [ca.template, { ...csr(ca.commonName, [], []), ca: { expiry: CA_VALIDITY } }]),
    ...LEAF_CERTIFICATES.map((leaf): [string, CsrJson] => [
      leaf.template,
      csr(leaf.commonName(TEMPLATE_FACTS), leaf.organizations(TEMPLATE_MINOR), sansFor(leaf.sans, TEMPLATE_FACTS)),
    ]),
    ...KUBECONFIGS.map((kubeconfig): [string, CsrJson] => [
      kubeconfig.template,
      csr(kubeconfig.commonName(TEMPLATE_FACTS), kubeconfig.organizations(TEMPLATE_MINOR), []),
    ]),
  ];
}
