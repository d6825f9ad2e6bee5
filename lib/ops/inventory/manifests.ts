// Read kubeadm's static pod manifests for what they say about the node: which
// cert files each component uses, etcd's endpoints and data dir, the version.
import { parse } from 'yaml';
import type { Host } from '../../host/host.js';

import { MANIFEST_DIR } from '../../catalogue/kubeadm.js';
export { MANIFEST_DIR };

export interface ComponentManifest {
  component: string;
  hostPath: string;
  flags: Map<string, string>;
  image?: string;
}

export interface ClusterFromManifests {
  components: ComponentManifest[];
  /** Kubernetes minor version from the apiserver image tag (e.g. 14 for v1.14.0). */
  minor?: number;
  etcd?: { dataDir?: string; clientUrls: string[]; certFile?: string; keyFile?: string; caFile?: string };
  nodeName?: string;
  advertiseAddress?: string;
}

function flagsOf(command: unknown[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const argument of command) {
    const match = /^--([^=]+)=(.*)$/.exec(String(argument));
    if (match) flags.set(match[1]!, match[2]!);
  }
  return flags;
}

const cache = new WeakMap<Host, ClusterFromManifests>();

/** The manifests as they are on disk; read once per Host (a run reads them in discover, backup and health). */
export function readManifests(host: Host): ClusterFromManifests {
  let cluster = cache.get(host);
  if (!cluster) {
    cluster = parseManifests(host);
    cache.set(host, cluster);
  }
  return cluster;
}

function parseManifests(host: Host): ClusterFromManifests {
  const components: ComponentManifest[] = [];
  for (const name of host.list(MANIFEST_DIR).filter((file) => /\.ya?ml$/.test(file))) {
    const hostPath = `${MANIFEST_DIR}/${name}`;
    try {
      const pod = parse(host.read(hostPath)?.toString() ?? '') as { metadata?: { name?: string; labels?: Record<string, string> }; spec?: { containers?: { command?: unknown[]; image?: string }[] } };
      const container = pod?.spec?.containers?.[0];
      if (!container) continue;
      const component = pod.metadata?.labels?.component ?? pod.metadata?.name ?? name.replace(/\.ya?ml$/, '');
      components.push({ component, hostPath, flags: flagsOf(container.command ?? []), image: container.image });
    } catch {
      // A manifest we cannot parse teaches us nothing; check reports certs, not manifests.
    }
  }
  const apiserver = components.find((entry) => entry.component === 'kube-apiserver');
  const etcdPod = components.find((entry) => entry.component === 'etcd');
  const tag = /:v?(\d+)\.(\d+)/.exec(apiserver?.image ?? '');
  const result: ClusterFromManifests = { components, minor: tag ? Number(tag[2]) : undefined };
  if (etcdPod) {
    const flags = etcdPod.flags;
    result.etcd = {
      dataDir: flags.get('data-dir'),
      clientUrls: (flags.get('listen-client-urls') ?? '').split(',').filter(Boolean),
      certFile: flags.get('cert-file'),
      keyFile: flags.get('key-file'),
      caFile: flags.get('trusted-ca-file'),
    };
    result.nodeName = flags.get('name');
  }
  result.advertiseAddress = apiserver?.flags.get('advertise-address');
  return result;
}
