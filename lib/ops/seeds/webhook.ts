// Seed 000: an admission webhook whose serving certificate expired. Issue a
// CA (or use one given) and a serving cert for SVC.NS.svc (plus every SAN the
// old cert had), then patch the Secret (tls.crt, tls.key, ca.crt) and the
// caBundle of every webhook in the Validating/MutatingWebhookConfigurations
// that call that service. Pure: K8s objects in, patched objects out; the
// command does kubectl and files.
import { KeyObject } from 'node:crypto';
import { RescueError } from '../../errors.js';
import { Certificate, parseCertificate } from '../../pki/certificate.js';
import { parseUsages } from '../../pki/extensions.js';
import { exportPrivateKeyPem, generateKey, KeySpec } from '../../pki/keys.js';
import { classifyHosts, SubjectAltNames } from '../../pki/san.js';
import { issueCertificate, Signer } from '../../pki/sign.js';

export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown> & { name?: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface WebhookTarget {
  namespace: string;
  service: string;
  secretName: string;
  durationMs: number;
  now: Date;
  key?: KeySpec;
  /** Use this CA instead of making one. */
  ca?: Signer;
  /** SANs of the cert being replaced, kept beside the service names (as `renew` keeps identities). */
  keptSans?: SubjectAltNames;
}

export interface WebhookMaterial {
  ca: Certificate;
  caKeyPem?: string;
  serving: Certificate;
  servingKeyPem: string;
}

/** The four names a Service is reached by from inside the cluster. */
export function serviceNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** The service forms first, then whatever else the old cert answered to (another namespace's name, 127.0.0.1 for a probe). */
export function servingSans(service: string, namespace: string, kept?: SubjectAltNames): SubjectAltNames {
  const sans = classifyHosts(serviceNames(service, namespace));
  const unique = (list: string[]) => [...new Set(list)];
  if (!kept) return sans;
  return { dns: unique([...sans.dns, ...kept.dns]), ips: unique([...sans.ips, ...kept.ips]), emails: unique([...sans.emails, ...kept.emails]), uris: unique([...sans.uris, ...kept.uris]) };
}

/** The SANs of the serving cert in the Secret now, or why there are none to keep (no Secret, no tls.crt, not a certificate). */
export function currentServingSans(secret: K8sObject | undefined): { sans: SubjectAltNames } | { missing: string } {
  if (!secret) return { missing: 'there is no Secret yet' };
  const encoded = (secret.data as Record<string, string> | undefined)?.['tls.crt'];
  if (!encoded) return { missing: 'the Secret has no tls.crt' };
  try {
    return { sans: parseCertificate(Buffer.from(encoded, 'base64')).sans };
  } catch (error) {
    return { missing: `the Secret's tls.crt is not a readable certificate (${(error as Error).message})` };
  }
}

export async function issueWebhookMaterial(target: WebhookTarget): Promise<WebhookMaterial> {
  const keySpec = target.key ?? { algo: 'rsa', size: 2048 };
  let ca = target.ca;
  let caKeyPem: string | undefined;
  if (!ca) {
    const caKey: KeyObject = await generateKey(keySpec);
    const commonName = `${target.service}.${target.namespace}.svc-ca`;
    const { certificate } = issueCertificate({
      template: { subject: { CN: commonName }, sans: classifyHosts([commonName]), usages: parseUsages(['digital signature', 'key encipherment', 'cert sign']), isCA: true, durationMs: target.durationMs },
      subjectKey: caKey,
      now: target.now,
    });
    ca = { certificate, key: caKey };
    caKeyPem = exportPrivateKeyPem(caKey);
  }
  const servingKey = await generateKey(keySpec);
  const { certificate: serving } = issueCertificate({
    template: {
      subject: { CN: `${target.service}.${target.namespace}.svc` },
      sans: servingSans(target.service, target.namespace, target.keptSans),
      usages: parseUsages(['signing', 'key encipherment', 'server auth']),
      isCA: false,
      durationMs: target.durationMs,
    },
    subjectKey: servingKey,
    issuer: ca,
    now: target.now,
    beyondIssuer: 'cap',
  });
  return { ca: ca.certificate, caKeyPem, serving, servingKeyPem: exportPrivateKeyPem(servingKey) };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Fields the API server owns: drop them so `kubectl apply` of the patched object does not conflict. */
function forApply(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  if (copy.metadata) {
    for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'selfLink', 'generation']) delete copy.metadata[field];
    delete copy.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
  }
  delete copy.status;
  return copy;
}

export function patchSecret(secret: K8sObject | undefined, target: WebhookTarget, material: WebhookMaterial): K8sObject {
  if (secret && (secret.kind !== 'Secret' || secret.metadata?.name !== target.secretName)) {
    throw new RescueError('INVALID_CONFIG', `expected Secret ${target.namespace}/${target.secretName}, got ${secret.kind} ${secret.metadata?.name}`, { hint: 'export it with: kubectl get secret NAME -n NS -o yaml' });
  }
  const base: K8sObject = secret ? forApply(secret) : { apiVersion: 'v1', kind: 'Secret', metadata: { name: target.secretName, namespace: target.namespace }, type: 'kubernetes.io/tls' };
  return { ...base, data: { ...((base.data as Record<string, string>) ?? {}), 'tls.crt': b64(material.serving.pem), 'tls.key': b64(material.servingKeyPem), 'ca.crt': b64(material.ca.pem) } };
}

export interface PatchedConfiguration {
  object: K8sObject;
  /** Names of the webhooks whose caBundle was replaced. */
  patched: string[];
}

/** Replace caBundle in every webhook of the configuration that calls SVC in NS. */
export function patchWebhookConfiguration(configuration: K8sObject, target: WebhookTarget, material: WebhookMaterial): PatchedConfiguration {
  if (!/^(Validating|Mutating)WebhookConfiguration$/.test(configuration.kind ?? '')) {
    throw new RescueError('INVALID_CONFIG', `expected a Validating/MutatingWebhookConfiguration, got ${configuration.kind}`, { hint: 'export it with: kubectl get validatingwebhookconfiguration NAME -o yaml' });
  }
  const object = forApply(configuration);
  const patched: string[] = [];
  for (const webhook of (object.webhooks as { name: string; clientConfig?: { service?: { name?: string; namespace?: string }; caBundle?: string } }[]) ?? []) {
    const service = webhook.clientConfig?.service;
    if (service?.name === target.service && service.namespace === target.namespace) {
      webhook.clientConfig!.caBundle = b64(material.ca.pem);
      patched.push(webhook.name);
    }
  }
  if (!patched.length) {
    throw new RescueError('INVALID_CONFIG', `${configuration.kind} ${configuration.metadata?.name} has no webhook calling service ${target.namespace}/${target.service}`, {
      hint: 'check --service and --namespace against clientConfig.service in the configuration',
    });
  }
  return { object, patched };
}
