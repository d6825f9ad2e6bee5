// THE table of kubeadm's certificates, CAs and kubeconfigs (after kubeadm's
// cmd/kubeadm/app/phases/certs/certlist.go), and where each one lives on the
// host (as kubeadm's certificate read/writers know it). Check, renew, backup,
// health and the CSR templates all walk this one table; no other file names
// "apiserver.crt" or "/etc/kubernetes/pki".

/** The directories of a kubeadm host (host paths: under --root when one is given). */
export const KUBERNETES_DIR = '/etc/kubernetes';
export const PKI_DIR = `${KUBERNETES_DIR}/pki`;
export const MANIFEST_DIR = `${KUBERNETES_DIR}/manifests`;
export const KUBELET_PKI_DIR = '/var/lib/kubelet/pki';
/** The kubelet's rotated client cert + key (one PEM), a symlink to kubelet-client-<time>.pem. */
export const KUBELET_CLIENT_CURRENT = `${KUBELET_PKI_DIR}/kubelet-client-current.pem`;
/** The kubelet's serving cert (self-signed by the kubelet unless serverTLSBootstrap). */
export const KUBELET_SERVING_CERT = `${KUBELET_PKI_DIR}/kubelet.crt`;
/** What a backup of a node's certificates holds: every file above. */
export const TREE_PATHS: readonly string[] = [KUBERNETES_DIR, KUBELET_PKI_DIR];
/**
 * Where operators keep their own copies of admin.conf (`cp /etc/kubernetes/admin.conf ~/.kube/config`, as
 * kubeadm init tells them): root's, and each home directory's. A CA rotation must update them too.
 */
export const USER_KUBECONFIG = { root: '/root/.kube/config', homes: '/home', passwd: '/etc/passwd', inHome: '.kube/config' } as const;

/**
 * Where a catalogue row's certificate lives: a cert/key pair of files in pki/, or the client credentials of a
 * kubeconfig (embedded, or referenced files; kubelet.conf's usually reference the kubelet's rotated pem).
 */
export type Storage =
  | { kind: 'pair'; certificate: string; key: string }
  | { kind: 'kubeconfig'; file: string; rotated?: { current: string; dir: string } };

const pair = (baseName: string): Storage & { kind: 'pair' } => ({ kind: 'pair', certificate: `${PKI_DIR}/${baseName}.crt`, key: `${PKI_DIR}/${baseName}.key` });
const kubeconfigFile = (name: string, rotated?: boolean): Storage & { kind: 'kubeconfig' } => ({ kind: 'kubeconfig', file: `${KUBERNETES_DIR}/${name}`, ...(rotated ? { rotated: { current: KUBELET_CLIENT_CURRENT, dir: KUBELET_PKI_DIR } } : {}) });

/** Cluster facts the SAN rules need (learned from manifests or given by flags). */
export interface ClusterFacts {
  nodeName: string;
  /** The node / advertise IP. */
  advertiseAddress: string;
  /** First IP of the service CIDR (10.96.0.1 by default). */
  serviceIp: string;
  dnsDomain: string;
  /** Extra apiserver SANs (ClusterConfiguration.apiServer.certSANs, a load balancer). */
  extraApiserverSans: string[];
}

export const DEFAULT_CLUSTER_FACTS: ClusterFacts = {
  nodeName: 'NODE_NAME',
  advertiseAddress: 'NODE_IP',
  serviceIp: '10.96.0.1',
  dnsDomain: 'cluster.local',
  extraApiserverSans: [],
};

export type CaName = 'ca' | 'front-proxy-ca' | 'etcd-ca';

export interface CaSpec {
  name: CaName;
  /** Path of .crt/.key without extension, relative to the pki dir. */
  baseName: string;
  commonName: string;
  /** CSR template file under templates/. */
  template: string;
  storage: Storage & { kind: 'pair' };
}

export type SanRule = 'none' | 'apiserver' | 'etcd-node';

export interface LeafSpec {
  /** kubeadm's name, as `kubeadm certs renew NAME` takes it. */
  name: string;
  baseName: string;
  ca: CaName;
  commonName: (facts: ClusterFacts) => string;
  /** Organizations by Kubernetes minor version (1.29 renamed the admin groups). */
  organizations: (minor: number) => string[];
  usages: string[];
  sans: SanRule;
  /** The component that reads it, for the restart order. */
  component: 'etcd' | 'kube-apiserver';
  template: string;
  storage: Storage & { kind: 'pair' };
}

export interface KubeconfigSpec {
  /** File name under /etc/kubernetes, also kubeadm's renew name. */
  name: string;
  commonName: (facts: ClusterFacts) => string;
  organizations: (minor: number) => string[];
  /** First Kubernetes minor that has it (super-admin.conf: 1.29). */
  sinceMinor?: number;
  component: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'admin';
  template: string;
  /** kubelet.conf: kubeadm does not renew it; the kubelet rotates it into var/lib/kubelet/pki. */
  kubeletRotated?: boolean;
  storage: Storage & { kind: 'kubeconfig' };
}

const SERVER = ['signing', 'key encipherment', 'server auth'];
const CLIENT = ['signing', 'key encipherment', 'client auth'];
/** What every kubeconfig's client certificate is for (kubeadm writes the same for each). */
export const KUBECONFIG_CLIENT_USAGES: readonly string[] = CLIENT;
const PEER = ['signing', 'key encipherment', 'server auth', 'client auth'];
const none = () => [];
/** Before 1.29 the admin identities were system:masters; 1.29 moved them to kubeadm:cluster-admins. */
const adminGroup = (minor: number) => [minor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters'];
/** etcd client certs dropped O=system:masters in 1.29. */
const etcdClientGroup = (minor: number) => (minor >= 29 ? [] : ['system:masters']);

export const CERTIFICATE_AUTHORITIES: readonly CaSpec[] = [
  { name: 'ca', baseName: 'ca', commonName: 'kubernetes', template: 'ca-csr.json', storage: pair('ca') },
  { name: 'front-proxy-ca', baseName: 'front-proxy-ca', commonName: 'front-proxy-ca', template: 'front-proxy-ca-csr.json', storage: pair('front-proxy-ca') },
  { name: 'etcd-ca', baseName: 'etcd/ca', commonName: 'etcd-ca', template: 'etcd-ca-csr.json', storage: pair('etcd/ca') },
];

export const LEAF_CERTIFICATES: readonly LeafSpec[] = [
  { name: 'apiserver', baseName: 'apiserver', ca: 'ca', commonName: () => 'kube-apiserver', organizations: none, usages: SERVER, sans: 'apiserver', component: 'kube-apiserver', template: 'apiserver-csr.json', storage: pair('apiserver') },
  { name: 'apiserver-kubelet-client', baseName: 'apiserver-kubelet-client', ca: 'ca', commonName: () => 'kube-apiserver-kubelet-client', organizations: adminGroup, usages: CLIENT, sans: 'none', component: 'kube-apiserver', template: 'apiserver-kubelet-client-csr.json', storage: pair('apiserver-kubelet-client') },
  { name: 'front-proxy-client', baseName: 'front-proxy-client', ca: 'front-proxy-ca', commonName: () => 'front-proxy-client', organizations: none, usages: CLIENT, sans: 'none', component: 'kube-apiserver', template: 'front-proxy-client-csr.json', storage: pair('front-proxy-client') },
  { name: 'etcd-server', baseName: 'etcd/server', ca: 'etcd-ca', commonName: (facts) => facts.nodeName, organizations: none, usages: PEER, sans: 'etcd-node', component: 'etcd', template: 'etcd-server-csr.json', storage: pair('etcd/server') },
  { name: 'etcd-peer', baseName: 'etcd/peer', ca: 'etcd-ca', commonName: (facts) => facts.nodeName, organizations: none, usages: PEER, sans: 'etcd-node', component: 'etcd', template: 'etcd-peer-csr.json', storage: pair('etcd/peer') },
  { name: 'etcd-healthcheck-client', baseName: 'etcd/healthcheck-client', ca: 'etcd-ca', commonName: () => 'kube-etcd-healthcheck-client', organizations: etcdClientGroup, usages: CLIENT, sans: 'none', component: 'etcd', template: 'etcd-healthcheck-client-csr.json', storage: pair('etcd/healthcheck-client') },
  { name: 'apiserver-etcd-client', baseName: 'apiserver-etcd-client', ca: 'etcd-ca', commonName: () => 'kube-apiserver-etcd-client', organizations: etcdClientGroup, usages: CLIENT, sans: 'none', component: 'kube-apiserver', template: 'apiserver-etcd-client-csr.json', storage: pair('apiserver-etcd-client') },
];

export const KUBECONFIGS: readonly KubeconfigSpec[] = [
  { name: 'admin.conf', commonName: () => 'kubernetes-admin', organizations: adminGroup, component: 'admin', template: 'admin-csr.json', storage: kubeconfigFile('admin.conf') },
  { name: 'super-admin.conf', commonName: () => 'kubernetes-super-admin', organizations: () => ['system:masters'], sinceMinor: 29, component: 'admin', template: 'super-admin-csr.json', storage: kubeconfigFile('super-admin.conf') },
  { name: 'controller-manager.conf', commonName: () => 'system:kube-controller-manager', organizations: none, component: 'kube-controller-manager', template: 'controller-manager-csr.json', storage: kubeconfigFile('controller-manager.conf') },
  { name: 'scheduler.conf', commonName: () => 'system:kube-scheduler', organizations: none, component: 'kube-scheduler', template: 'scheduler-csr.json', storage: kubeconfigFile('scheduler.conf') },
  { name: 'kubelet.conf', commonName: (facts) => `system:node:${facts.nodeName}`, organizations: () => ['system:nodes'], component: 'kubelet', template: 'kubelet-client-csr.json', kubeletRotated: true, storage: kubeconfigFile('kubelet.conf', true) },
];

/** The service account signing key pair: a key pair, not a certificate. Never "renewed". */
export const SERVICE_ACCOUNT_KEY = { name: 'sa', privateKey: 'sa.key', publicKey: 'sa.pub' } as const;

/** Restart order after a renewal (each waits for the previous one to be healthy). */
export const RESTART_ORDER = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'] as const;

/** CA lifetime kubeadm uses (10 years); its leaves get 1. */
export const CA_VALIDITY = '87600h';

export function caSpec(name: CaName): CaSpec {
  return CERTIFICATE_AUTHORITIES.find((ca) => ca.name === name)!;
}

/** kubeadm's SANs for a rule (what a fresh `kubeadm init` would write). */
export function sansFor(rule: SanRule, facts: ClusterFacts): string[] {
  switch (rule) {
    case 'apiserver':
      return [
        facts.nodeName,
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        `kubernetes.default.svc.${facts.dnsDomain}`,
        facts.serviceIp,
        facts.advertiseAddress,
        ...facts.extraApiserverSans,
      ];
    case 'etcd-node':
      return [facts.nodeName, 'localhost', facts.advertiseAddress, '127.0.0.1', '::1'];
    case 'none':
      return [];
  }
}

/** The catalogue row of a kubeconfig by file name (admin.conf, kubelet.conf, ...). */
export function kubeconfigSpec(name: string): KubeconfigSpec | undefined {
  return KUBECONFIGS.find((spec) => spec.name === name);
}

/** The catalogue row of a pki leaf by kubeadm's name (apiserver, etcd-server, ...). */
export function leafSpec(name: string): LeafSpec | undefined {
  return LEAF_CERTIFICATES.find((spec) => spec.name === name);
}

/** Every renewable name, in kubeadm's order (for `renew --all` and error hints). */
export function renewableNames(minor: number): string[] {
  return [...LEAF_CERTIFICATES.map((leaf) => leaf.name), ...KUBECONFIGS.filter((k) => (k.sinceMinor ?? 0) <= minor).map((k) => k.name)];
}
