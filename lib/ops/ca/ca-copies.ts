// Copies of a rotating CA outside the node's own files: PEM bundles inside Kubernetes objects (the
// kube-public/cluster-info ConfigMap, webhook and APIService caBundles, CRD conversion webhooks) and in
// users' kubeconfigs. One rule for all of them, so a copy never disagrees with the node's bundle:
//   trust, reissue: the new CA is added where the old one is trusted (order kept: clients use a pool);
//   distrust:       every certificate with the OLD key leaves (by key, so a re-dated old CA goes too).
// A bundle that carries neither the old nor the new CA belongs to someone else and is left alone.
import { RescueError } from '../../errors.js';
import { Certificate, parseCertificates } from '../../pki/certificate.js';
import type { K8sObject } from '../seeds/webhook.js';
import type { RotationPhase } from './rotation-state.js';
import { parseDocument } from 'yaml';
import { clusterCaField, parseKubeconfig, patchKubeconfig, type ScalarEdit } from '../inventory/kubeconfig.js';

/** The CA being rotated: the certificates of the old key (one, or a re-dated copy too) and the new one. */
export interface RotatingCa {
  old: Certificate[];
  new: Certificate;
}

export const rotatingCaFromPems = (oldPem: string, newPem: string): RotatingCa => ({ old: parseCertificates(oldPem), new: parseCertificates(newPem)[0]! });

const sameKey = (a: Certificate, b: Certificate) => a.spkiDer.equals(b.spkiDer);

/**
 * The bundle a copy should hold after `phase`, or undefined when it needs no change (or does not carry this
 * CA at all: see carriesCa). `where` names the copy in the error a damaged bundle raises.
 */
export function rotatedBundle(pem: string, ca: RotatingCa, phase: RotationPhase, where: string): string | undefined {
  let certificates: Certificate[];
  try {
    certificates = parseCertificates(pem);
  } catch (error) {
    throw new RescueError('INVALID_PEM', `${where}: its CA bundle does not parse: ${(error as Error).message}`, { hint: 'fix or re-export that object; nothing was changed' });
  }
  if (!carriesCa(certificates, ca)) return undefined;
  const isOld = (certificate: Certificate) => ca.old.some((old) => sameKey(old, certificate));
  const kept = phase === 'distrust' ? certificates.filter((certificate) => !isOld(certificate)) : certificates;
  const next = kept.some((certificate) => sameKey(certificate, ca.new)) ? kept : [...kept, ca.new];
  const text = next.map((certificate) => certificate.pem).join('');
  return next.length === certificates.length && next.every((certificate, index) => certificate.der.equals(certificates[index]!.der)) ? undefined : text;
}

export function carriesCa(certificates: Certificate[], ca: RotatingCa): boolean {
  return certificates.some((certificate) => sameKey(certificate, ca.new) || ca.old.some((old) => sameKey(old, certificate)));
}

const decode = (base64: string) => Buffer.from(base64, 'base64').toString();
const encode = (text: string) => Buffer.from(text).toString('base64');

/** Who a caBundle is for: the server the apiserver calls with it (a webhook's url, or a Service). */
export type ServerRef = { url: string } | { service: { namespace: string; name: string; port?: number } };

/** One place in an object that holds a base64 PEM bundle: how to read and write it, and whose server it verifies. */
interface BundleSlot {
  label: string;
  server?: ServerRef;
  get(): string | undefined;
  set(base64: string): void;
}

type Json = Record<string, any>;

function slotsOf(object: K8sObject): BundleSlot[] {
  const o = object as Json;
  // A clientConfig names a url or a service (port 443 unless given); an APIService's spec names a service.
  const serverOf = (config: Json | undefined): ServerRef | undefined =>
    typeof config?.url === 'string' ? { url: config.url } : config?.service?.name ? { service: { namespace: config.service.namespace ?? 'default', name: config.service.name, port: config.service.port } } : undefined;
  const at = (holder: Json | undefined, field: string, label: string, server: ServerRef | undefined): BundleSlot[] =>
    holder && typeof holder[field] === 'string' && holder[field] ? [{ label, server, get: () => holder[field], set: (value) => (holder[field] = value) }] : [];
  switch (object.kind) {
    case 'ValidatingWebhookConfiguration':
    case 'MutatingWebhookConfiguration':
      return ((o.webhooks ?? []) as Json[]).flatMap((webhook, index) => at(webhook.clientConfig, 'caBundle', `webhooks[${index}] (${webhook.name ?? '?'}).clientConfig.caBundle`, serverOf(webhook.clientConfig)));
    case 'APIService':
      return at(o.spec, 'caBundle', 'spec.caBundle', serverOf(o.spec));
    case 'CustomResourceDefinition': {
      const config = o.spec?.conversion?.webhook?.clientConfig;
      return at(config, 'caBundle', 'spec.conversion.webhook.clientConfig.caBundle', serverOf(config));
    }
    default:
      return [];
  }
}

/** A copy that changes: the object as read, as it must be written, and what changed in it. */
export interface PatchedCopy {
  original: K8sObject;
  patched: K8sObject;
  changed: string[];
}

export const objectLabel = (object: K8sObject) => `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '?'}`;

/** A caBundle that carries the rotating CA, and the server it verifies. */
export interface CarriedBundle {
  object: K8sObject;
  label: string;
  server?: ServerRef;
}

/** Every caBundle in these objects that still trusts the old CA (what distrust would change), with its server. */
export function bundlesTrustingOld(objects: K8sObject[], ca: RotatingCa): CarriedBundle[] {
  return objects.flatMap((object) =>
    slotsOf(object)
      .filter((slot) => {
        try {
          return parseCertificates(decode(slot.get()!)).some((certificate) => ca.old.some((old) => sameKey(old, certificate)));
        } catch {
          return false; // patchCaBundles names a damaged bundle
        }
      })
      .map((slot) => ({ object, label: slot.label, server: slot.server })),
  );
}

/**
 * The caBundles (webhooks, APIServices, CRD conversion) that carry the rotating CA, patched for `phase`;
 * `keep(object, label)` true leaves that one bundle as it is (its server does not serve a new-CA cert yet).
 */
export function patchCaBundles(objects: K8sObject[], ca: RotatingCa, phase: RotationPhase, keep?: (object: K8sObject, label: string) => boolean): PatchedCopy[] {
  return objects.flatMap((original) => {
    const patched = structuredClone(original);
    const changed = slotsOf(patched).flatMap((slot) => {
      if (keep?.(original, slot.label)) return [];
      const next = rotatedBundle(decode(slot.get()!), ca, phase, `${objectLabel(original)} ${slot.label}`);
      if (next === undefined) return [];
      slot.set(encode(next));
      return [slot.label];
    });
    return changed.length ? [{ original, patched, changed }] : [];
  });
}

/** What cluster-info says, and what it must say. */
export interface ClusterInfoOutcome {
  copy?: PatchedCopy;
  /** Why it is left alone, when it is. */
  note?: string;
}

/**
 * kube-public/cluster-info: the kubeconfig `kubeadm join` reads (with a bootstrap token) to learn the CA. Only
 * data.kubeconfig's certificate-authority-data changes; the jws-kubeconfig-* signatures are re-made by the
 * controller-manager's bootstrapsigner when the ConfigMap changes, so they are left for it.
 */
export function patchClusterInfo(configMap: K8sObject | undefined, ca: RotatingCa, phase: RotationPhase): ClusterInfoOutcome {
  if (!configMap) return { note: 'no ConfigMap kube-public/cluster-info (the cluster does not use bootstrap-token discovery): nothing to update' };
  const data = (configMap as Json).data as Record<string, string> | undefined;
  const text = data?.kubeconfig;
  if (!text) return { note: 'kube-public/cluster-info has no data.kubeconfig: left alone' };
  const document = parseDocument(text);
  if (document.errors.length) throw new RescueError('INVALID_CONFIG', `kube-public/cluster-info data.kubeconfig is not valid YAML: ${document.errors[0]!.message}`, { hint: 'repair it (kubeadm init phase bootstrap-token recreates it); nothing was changed' });
  const clusters = ((document.toJS() as Json)?.clusters ?? []) as Json[];
  let changed = false;
  clusters.forEach((entry, index) => {
    const value = entry.cluster?.['certificate-authority-data'];
    if (typeof value !== 'string') return;
    const next = rotatedBundle(decode(value), ca, phase, `kube-public/cluster-info clusters[${index}]`);
    if (next === undefined) return;
    document.setIn(['clusters', index, 'cluster', 'certificate-authority-data'], encode(next));
    changed = true;
  });
  if (!changed) {
    const carries = clusters.some((entry) => typeof entry.cluster?.['certificate-authority-data'] === 'string' && carriesCa(parseCertificates(decode(entry.cluster['certificate-authority-data'])), ca));
    return { note: carries ? 'kube-public/cluster-info already holds the right CA bundle' : 'kube-public/cluster-info carries a CA that is not the one being rotated: left alone (check which cluster it describes)' };
  }
  const patched = structuredClone(configMap) as Json;
  patched.data.kubeconfig = document.toString({ lineWidth: 0 });
  return { copy: { original: configMap, patched: patched as K8sObject, changed: ['data.kubeconfig certificate-authority-data'] } };
}

/**
 * A user's kubeconfig (~/.kube/config, often a copy of admin.conf): each cluster whose CA data carries the
 * rotating CA gets the rotated bundle, in place (every other byte kept); other clusters' entries are left
 * alone. Undefined when nothing changes.
 */
export function rotatedKubeconfigCaData(text: string, file: string, ca: RotatingCa, phase: RotationPhase, extra: ScalarEdit[] = []): string | undefined {
  const { document, view } = parseKubeconfig(text, file);
  const config = document.toJS() as Json;
  const edits: ScalarEdit[] = view.clustersWithCaData.flatMap((index) => {
    const next = rotatedBundle(decode(config.clusters[index].cluster['certificate-authority-data']), ca, phase, `${file} clusters[${index}]`);
    return next === undefined ? [] : [{ path: clusterCaField(index), value: encode(next) }];
  });
  if (!edits.length && !extra.length) return undefined;
  return patchKubeconfig(text, [...edits, ...extra], file, document);
}

/** Whether the kubeconfig's clusters carry the rotating CA (so it belongs to this cluster). */
export function kubeconfigCarriesCa(text: string, file: string, ca: RotatingCa): boolean {
  const { document, view } = parseKubeconfig(text, file);
  const config = document.toJS() as Json;
  return view.clustersWithCaData.some((index) => {
    try {
      return carriesCa(parseCertificates(decode(config.clusters[index].cluster['certificate-authority-data'])), ca);
    } catch {
      return false;
    }
  });
}
