// Renewal: a template that keeps what the old certificate said (subject bytes,
// SANs, usages, CA-ness, extensions we do not write), as `kubeadm certs renew`
// does, with new validity; plus the list of what a renewal would change.
import { Certificate } from './certificate.js';
import { ExtKeyUsageName, EXT_KEY_USAGE_OIDS, Extension, OID } from './extensions.js';
import { CertificateTemplate } from './sign.js';
import { mergeSans, SubjectAltNames, emptySans } from './san.js';

const REWRITTEN = new Set<string>(Object.values(OID));

export interface RenewalOptions {
  durationMs: number;
  /** Extra SANs to add (`--add-san`). */
  addSans?: SubjectAltNames;
}

export function renewalTemplate(old: Certificate, options: RenewalOptions): CertificateTemplate {
  const knownEku = old.extKeyUsage.filter((name): name is ExtKeyUsageName => name in EXT_KEY_USAGE_OIDS);
  const unknownEku = old.extKeyUsage.filter((name) => !(name in EXT_KEY_USAGE_OIDS));
  const extra: Extension[] = old.extensions.filter((extension) => !REWRITTEN.has(extension.oid));
  if (unknownEku.length) {
    // An EKU we cannot name: keep the old extension bytes rather than drop the OID.
    extra.push(old.extensions.find((extension) => extension.oid === OID.extKeyUsage)!);
  }
  return {
    subject: old.subjectDer,
    sans: mergeSans(old.sans, options.addSans ?? emptySans()),
    usages: { keyUsage: [...old.keyUsage], extKeyUsage: unknownEku.length ? [] : knownEku },
    isCA: old.isCA,
    maxPathLen: old.maxPathLen,
    durationMs: options.durationMs,
    extraExtensions: extra,
  };
}

/** Human-readable differences between two certificates' identity (not validity/serial/key). */
export function identityDifferences(before: Certificate, after: Certificate): string[] {
  const differences: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!before.subjectDer.equals(after.subjectDer)) differences.push(`subject: ${before.subjectText} -> ${after.subjectText}`);
  if (!before.issuerDer.equals(after.issuerDer)) differences.push(`issuer: ${before.issuerText} -> ${after.issuerText}`);
  for (const kind of ['dns', 'ips', 'emails', 'uris'] as const) {
    const a = [...before.sans[kind]].sort();
    const b = [...after.sans[kind]].sort();
    if (!same(a, b)) differences.push(`SAN ${kind}: [${a.join(', ')}] -> [${b.join(', ')}]`);
  }
  if (!same(before.keyUsage, after.keyUsage)) differences.push(`key usage: [${before.keyUsage.join(', ')}] -> [${after.keyUsage.join(', ')}]`);
  if (!same([...before.extKeyUsage].sort(), [...after.extKeyUsage].sort())) {
    differences.push(`extended key usage: [${before.extKeyUsage.join(', ')}] -> [${after.extKeyUsage.join(', ')}]`);
  }
  if (before.isCA !== after.isCA) differences.push(`CA: ${before.isCA} -> ${after.isCA}`);
  return differences;
}
