// Scenario 4's input, built once outside timing: a sandbox kubeadm tree (ECDSA
// keys, for speed) plus ROOT/var/lib/etcd/member/snap/db of the asked size.
//
// The db's content decides gzip's speed, so it is shaped like a real one, page
// by page (4 KiB, bbolt's page size), each page chosen by a seeded xorshift:
//   50% incompressible pages: AES-128-CTR keystream (fixed key), standing for
//       values that are already compressed or encrypted;
//   50% etcd-like key/value text: /registry/<resource>/<ns>/<name> keys with
//       JSON objects (kind, metadata with uid/resourceVersion/labels, spec,
//       status) whose names, uids and numbers vary — compressible, but not
//       trivially (gzip -6 makes them about 3-4x smaller).
// Deterministic: the same size gives the same bytes, run after run.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { createCipheriv } from 'node:crypto';
import { join } from 'node:path';
import { buildSandboxTree } from '../../lib/ops/sandbox/sandbox.js';
import { writeTree } from '../../lib/host/tree.js';

export const BACKUP_DIRS = ['etc/kubernetes', 'var/lib/kubelet/pki', 'var/lib/etcd'];
export const DB_PATH = 'var/lib/etcd/member/snap/db';

export interface BackupInput {
  root: string;
  /** Every regular file's bytes under BACKUP_DIRS: the throughput numerator, the same for both contenders. */
  inputBytes: number;
  files: number;
  /** Every entry (dirs with a trailing "/") under BACKUP_DIRS, relative to root: what both archives must list. */
  entries: string[];
}

const PAGE = 4096;

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

const KINDS = [['pods', 'Pod'], ['services', 'Service'], ['configmaps', 'ConfigMap'], ['events', 'Event'], ['leases', 'Lease'], ['endpointslices', 'EndpointSlice'], ['replicasets', 'ReplicaSet']] as const;
const NAMESPACES = ['default', 'kube-system', 'monitoring', 'ingress-nginx', 'payments', 'frontend'];
const APPS = ['nginx', 'coredns', 'api', 'worker', 'redis', 'postgres', 'prometheus', 'fluent-bit'];

function textPage(next: () => number): string {
  const pick = <T>(list: readonly T[]) => list[next() % list.length]!;
  const hex = (digits: number) => {
    let text = '';
    while (text.length < digits) text += next().toString(16).padStart(8, '0');
    return text.slice(0, digits);
  };
  let page = '';
  while (page.length < PAGE) {
    const [resource, kind] = pick(KINDS);
    const ns = pick(NAMESPACES);
    const app = pick(APPS);
    const hash = hex(10);
    const name = `${app}-${hash}-${hex(5)}`;
    const rv = 100_000 + (next() % 9_000_000);
    page +=
      `/registry/${resource}/${ns}/${name}\u0000` +
      `{"kind":"${kind}","apiVersion":"v1","metadata":{"name":"${name}","namespace":"${ns}","uid":"${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}",` +
      `"resourceVersion":"${rv}","creationTimestamp":"2024-0${1 + (next() % 9)}-1${next() % 10}T0${next() % 10}:${10 + (next() % 50)}:${10 + (next() % 50)}Z",` +
      `"labels":{"app":"${app}","pod-template-hash":"${hash}"},"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1"}]},` +
      `"spec":{"nodeName":"worker-${next() % 20}","containers":[{"name":"${app}","image":"registry.example.com/${app}:v1.${next() % 30}.${next() % 10}",` +
      `"resources":{"requests":{"cpu":"${100 + (next() % 9) * 100}m","memory":"${128 << next() % 4}Mi"}}}]},"status":{"phase":"Running","podIP":"10.244.${next() % 256}.${next() % 256}"}}\n`;
  }
  return page;
}

/** Write `bytes` of etcd-db-like content (see the header) to `file`, 8 MiB at a time. */
export function writeEtcdLikeDb(file: string, bytes: number): void {
  const next = xorshift(0x5eed);
  const keystream = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x42), Buffer.alloc(16, 0));
  const chunkBytes = 2048 * PAGE;
  const zeros = Buffer.alloc(chunkBytes);
  const fd = openSync(file, 'w', 0o600);
  try {
    for (let written = 0; written < bytes; ) {
      const length = Math.min(chunkBytes, bytes - written);
      const chunk = keystream.update(zeros.subarray(0, length));
      for (let offset = 0; offset < length; offset += PAGE) {
        if (next() & 1) chunk.write(textPage(next), offset, Math.min(PAGE, length - offset), 'latin1');
      }
      for (let done = 0; done < length; ) done += writeSync(fd, chunk, done, length - done);
      written += length;
    }
  } finally {
    closeSync(fd);
  }
}

function listEntries(root: string, relative: string, out: string[], totals: { bytes: number; files: number }): void {
  const stats = lstatSync(join(root, relative));
  if (stats.isDirectory()) {
    out.push(`${relative}/`);
    for (const name of readdirSync(join(root, relative)).sort()) listEntries(root, `${relative}/${name}`, out, totals);
  } else {
    out.push(relative);
    if (stats.isFile()) {
      totals.bytes += stats.size;
      totals.files++;
    }
  }
}

export async function buildBackupInput(root: string, dbMb: number): Promise<BackupInput> {
  writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 } }));
  mkdirSync(join(root, 'var/lib/etcd/member/snap'), { recursive: true, mode: 0o700 });
  writeEtcdLikeDb(join(root, DB_PATH), dbMb * 1024 * 1024);
  const entries: string[] = [];
  const totals = { bytes: 0, files: 0 };
  for (const dir of BACKUP_DIRS) listEntries(root, dir, entries, totals);
  return { root, inputBytes: totals.bytes, files: totals.files, entries };
}
