// Text of the sandbox's kubeconfigs and static pod manifests, laid out exactly
// as kubeadm writes them (so YAML edits in later steps meet the real shape).
import { ClusterFacts } from '../../catalogue/kubeadm.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

export interface KubeconfigText {
  caPem: string;
  server: string;
  user: string;
  certPem?: string;
  keyPem?: string;
  /** kubelet.conf since 1.x: the client cert is a file the kubelet rotates. */
  clientCertFile?: string;
}

export function kubeconfigYaml(config: KubeconfigText): string {
  const credentials = config.clientCertFile
    ? `    client-certificate: ${config.clientCertFile}\n    client-key: ${config.clientCertFile}\n`
    : `    client-certificate-data: ${b64(config.certPem!)}\n    client-key-data: ${b64(config.keyPem!)}\n`;
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${b64(config.caPem)}
    server: ${config.server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: ${config.user}
  name: ${config.user}@kubernetes
current-context: ${config.user}@kubernetes
kind: Config
preferences: {}
users:
- name: ${config.user}
  user:
${credentials}`;
}

const pod = (name: string, image: string, command: string[]) => `apiVersion: v1
kind: Pod
metadata:
  labels:
    component: ${name}
    tier: control-plane
  name: ${name}
  namespace: kube-system
spec:
  containers:
  - command:
${command.map((arg) => `    - ${arg}`).join('\n')}
    image: ${image}
    name: ${name}
  hostNetwork: true
  priorityClassName: system-node-critical
`;

/** Static pod manifests for Kubernetes 1.<minor> (the image tag is how discovery learns the version). */
export function manifestsFor(facts: ClusterFacts, minor = 28): Record<string, string> {
  const tag = `v1.${minor}.2`;
  const ip = facts.advertiseAddress;
  return {
    'etcd.yaml': pod('etcd', 'registry.k8s.io/etcd:3.5.9-0', [
      'etcd',
      `--advertise-client-urls=https://${ip}:2379`,
      '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
      '--client-cert-auth=true',
      '--data-dir=/var/lib/etcd',
      `--initial-advertise-peer-urls=https://${ip}:2380`,
      `--initial-cluster=${facts.nodeName}=https://${ip}:2380`,
      '--key-file=/etc/kubernetes/pki/etcd/server.key',
      `--listen-client-urls=https://127.0.0.1:2379,https://${ip}:2379`,
      `--listen-peer-urls=https://${ip}:2380`,
      `--name=${facts.nodeName}`,
      '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt',
      '--peer-client-cert-auth=true',
      '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
      '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
      '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
    ]),
    'kube-apiserver.yaml': pod('kube-apiserver', `registry.k8s.io/kube-apiserver:${tag}`, [
      'kube-apiserver',
      `--advertise-address=${ip}`,
      '--client-ca-file=/etc/kubernetes/pki/ca.crt',
      '--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt',
      '--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt',
      '--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key',
      '--etcd-servers=https://127.0.0.1:2379',
      '--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
      '--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key',
      '--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt',
      '--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key',
      '--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt',
      '--secure-port=6443',
      '--service-account-key-file=/etc/kubernetes/pki/sa.pub',
      '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
      `--service-cluster-ip-range=10.96.0.0/12`,
      '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
      '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
    ]),
    'kube-controller-manager.yaml': pod('kube-controller-manager', `registry.k8s.io/kube-controller-manager:${tag}`, [
      'kube-controller-manager',
      '--kubeconfig=/etc/kubernetes/controller-manager.conf',
      '--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt',
      '--cluster-signing-key-file=/etc/kubernetes/pki/ca.key',
      '--root-ca-file=/etc/kubernetes/pki/ca.crt',
      '--service-account-private-key-file=/etc/kubernetes/pki/sa.key',
    ]),
    'kube-scheduler.yaml': pod('kube-scheduler', `registry.k8s.io/kube-scheduler:${tag}`, [
      'kube-scheduler',
      '--kubeconfig=/etc/kubernetes/scheduler.conf',
    ]),
  };
}
