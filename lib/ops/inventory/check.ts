// `check`: the status of every discovered certificate at `now` — the table
// kubeadm's check-expiration prints, plus what it cannot see (key mismatch,
// broken chain, missing files, kubelet certs) — and a stable JSON form.
import { keyMatchesCertificate, isIssuedBy } from '../../pki/verify.js';
import { SubjectAltNames } from '../../pki/san.js';
import { posix } from 'node:path';
import { Inventory, InventoryItem, kubeconfigFileOf } from './discover.js';
import { isUnsafeKeyMode, KeyFile, octalMode } from './key-modes.js';

export type Status = 'OK' | 'WARN' | 'EXPIRED' | 'NOT-YET-VALID' | 'MISSING' | 'UNREADABLE' | 'KEY-MISMATCH' | 'CHAIN-BROKEN';

/** Worst first: the status shown is the worst problem found. */
export const SEVERITY: Status[] = ['MISSING', 'UNREADABLE', 'KEY-MISMATCH', 'CHAIN-BROKEN', 'EXPIRED', 'NOT-YET-VALID', 'WARN', 'OK'];

/** check's exit statuses (documented in README): cron and monitoring branch on them. */
export const CHECK_EXIT = { ok: 0, warn: 10, broken: 11 } as const;

export interface CheckEntry {
  name: string;
  kind: 'ca' | 'certificate' | 'kubeconfig';
  /** Host path of the PEM (or of the kubeconfig that embeds it); null when missing. */
  path: string | null;
  kubeconfig: { file: string; user: string | null; embedded: boolean } | null;
  certificateAuthority: string | null;
  /** kubeadm's EXTERNALLY MANAGED: the CA key is not on this host (so it cannot re-sign). */
  externallyManaged: boolean;
  subject: string | null;
  issuer: string | null;
  sans: SubjectAltNames | null;
  serial: string | null;
  serialDecimal: string | null;
  notBefore: string | null;
  notAfter: string | null;
  secondsLeft: number | null;
  status: Status;
  problems: string[];
}

export interface CheckReport {
  schemaVersion: 1;
  layout: Inventory['layout'];
  /** kubeadm layout: 'worker' when the tree is a joined worker's (only kubelet.conf and the CA cert expected). */
  node?: Inventory['node'];
  root: string;
  now: string;
  warnSeconds: number;
  summary: Record<Status, number>;
  certificates: CheckEntry[];
  authorities: CheckEntry[];
  /** Every private key file check knows, with its mode; unsafe (group/other bits) ones carry a problem and the fix. */
  keyFiles: KeyFileEntry[];
}

export interface KeyFileEntry {
  /** Host path (the kubeconfig when the key is embedded in it). */
  path: string;
  /** "0600" */
  mode: string;
  embedded: boolean;
  /** Group or other can read it: a WARN-level problem (exit 10 unless something is worse). */
  unsafe: boolean;
  problem: string | null;
  /** The command that fixes it: the file itself (past a symlink, whose absolute target chmod would follow out of --root), real path. */
  fix: string | null;
}

export interface CheckOptions {
  now: Date;
  warnMs: number;
}

export function checkInventory(inventory: Inventory, options: CheckOptions): CheckReport {
  const byName = new Map(inventory.authorities.map((ca) => [ca.name, ca]));
  const authorities = inventory.authorities.map((ca) => entryFor(ca, undefined, options));
  const certificates = inventory.items.map((item) => entryFor(item, item.caName ? byName.get(item.caName) : undefined, options));
  const summary = Object.fromEntries(SEVERITY.map((status) => [status, 0])) as Record<Status, number>;
  for (const entry of [...authorities, ...certificates]) summary[entry.status]++;
  return {
    schemaVersion: 1,
    layout: inventory.layout,
    node: inventory.node,
    root: inventory.root,
    now: options.now.toISOString(),
    warnSeconds: Math.floor(options.warnMs / 1000),
    summary,
    certificates,
    authorities,
    keyFiles: inventory.keyFiles.map((file) => keyFileEntry(file, inventory.root)),
  };
}

function keyFileEntry(file: KeyFile, root: string): KeyFileEntry {
  const mode = octalMode(file.mode);
  const unsafe = isUnsafeKeyMode(file.mode);
  const what = file.embedded ? 'embeds a private key' : 'private key';
  const via = file.resolvedPath !== file.hostPath ? ` (symlink -> ${file.resolvedPath})` : '';
  return {
    path: file.hostPath,
    mode,
    embedded: file.embedded,
    unsafe,
    problem: unsafe ? `${what} readable by group/others (mode ${mode}; want 0600 or 0400)${via}` : null,
    fix: unsafe ? `chmod 600 ${posix.join(root, file.resolvedPath)}` : null,
  };
}

function entryFor(item: InventoryItem, ca: InventoryItem | undefined, { now, warnMs }: CheckOptions): CheckEntry {
  const statuses: Status[] = [];
  const problems: string[] = [];
  const certificate = item.certificate?.value;
  const isKubeconfig = item.kind === 'kubeconfig';
  const kubeconfigFile = isKubeconfig ? kubeconfigFileOf(item) : undefined;

  if (!item.certificate) {
    statuses.push('MISSING');
    // A kubeconfig that is there but has no client cert is UNREADABLE (discover says why): MISSING means no file.
    problems.push(isKubeconfig ? `${kubeconfigFile} is missing` : 'certificate file is missing');
  } else if (!certificate) {
    statuses.push('UNREADABLE');
    problems.push(`cannot read ${item.certificate.hostPath}: ${item.certificate.error}`);
  }
  if (certificate) {
    if (item.key?.value && !keyMatchesCertificate(item.key.value, certificate)) {
      statuses.push('KEY-MISMATCH');
      problems.push(`private key ${item.key.embedded ? `in ${item.key.hostPath}` : item.key.hostPath} does not match the certificate`);
    } else if (item.key?.error) {
      statuses.push('UNREADABLE');
      problems.push(`cannot read key ${item.key.hostPath}: ${item.key.error}`);
    } else if (!item.key && item.kind !== 'ca' && item.expected) {
      statuses.push('MISSING');
      problems.push('private key is missing');
    }
    const caCertificate = ca?.certificate?.value;
    if (item.kind !== 'ca' && item.caName && caCertificate && !isIssuedBy(certificate, caCertificate)) {
      statuses.push('CHAIN-BROKEN');
      problems.push(`not signed by the ${item.caName} CA (${ca?.certificate?.hostPath})`);
    }
    if (item.kind === 'ca' && !certificate.isCA) {
      statuses.push('CHAIN-BROKEN');
      problems.push('this CA certificate is not marked CA:TRUE');
    }
    const left = certificate.notAfter.getTime() - now.getTime();
    if (now < certificate.notBefore) {
      statuses.push('NOT-YET-VALID');
      problems.push(`not valid before ${certificate.notBefore.toISOString()} (check the clock: date -u)`);
    } else if (left <= 0) {
      statuses.push('EXPIRED');
      problems.push(`expired ${Math.floor(-left / 86_400_000)} days ago`);
    } else if (left <= warnMs) {
      statuses.push('WARN');
      problems.push(`expires in ${Math.floor(left / 86_400_000)} days`);
    }
  }
  const status = SEVERITY.find((candidate) => statuses.includes(candidate)) ?? 'OK';
  const signer = item.kind === 'ca' ? item : ca;
  return {
    name: item.name,
    kind: item.kind,
    path: item.certificate?.hostPath ?? (kubeconfigFile ?? null),
    kubeconfig: isKubeconfig ? { file: kubeconfigFile!, user: item.kubeconfigUser ?? null, embedded: item.certificate?.embedded ?? false } : null,
    certificateAuthority: item.kind === 'ca' ? null : (item.caName ?? null),
    externallyManaged: Boolean(signer && !signer.key),
    subject: certificate?.subjectText ?? null,
    issuer: certificate?.issuerText ?? null,
    sans: certificate?.sans ?? null,
    serial: certificate?.serialHex ?? null,
    serialDecimal: certificate?.serialDecimal ?? null,
    notBefore: certificate?.notBefore.toISOString() ?? null,
    notAfter: certificate?.notAfter.toISOString() ?? null,
    secondsLeft: certificate ? Math.floor((certificate.notAfter.getTime() - now.getTime()) / 1000) : null,
    status,
    problems,
  };
}

/** The exit status a check run maps to. */
export function checkExitCode(report: CheckReport): number {
  const all = [...report.certificates, ...report.authorities];
  if (all.some((entry) => entry.status !== 'OK' && entry.status !== 'WARN')) return CHECK_EXIT.broken;
  // A group/world-readable key is a warning: it leaks nothing by itself being reported, and nothing is broken yet.
  if (all.some((entry) => entry.status === 'WARN') || report.keyFiles.some((file) => file.unsafe)) return CHECK_EXIT.warn;
  return CHECK_EXIT.ok;
}
