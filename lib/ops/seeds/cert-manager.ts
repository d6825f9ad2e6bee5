// Seed 002: cert-manager renewals stuck behind a failed CertificateRequest.
// Read Certificates and CertificateRequests (kubectl get ... -o json, live or
// recorded), say in plain words what is wrong with each Certificate, and give
// the fix: delete the failed request, then trigger re-issuance the way
// `cmctl renew` does — the Issuing condition set through the status subresource.
type Condition = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number };

export interface K8sResource {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[]; creationTimestamp?: string; generation?: number };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; notAfter?: string; renewalTime?: string; failureTime?: string; lastFailureTime?: string };
}

export type Diagnosis = 'ok' | 'failed-request' | 'denied' | 'pending' | 'renewal-overdue' | 'expired' | 'not-ready';

export interface CertificateFinding {
  namespace: string;
  name: string;
  diagnosis: Diagnosis;
  explanation: string;
  request?: string;
  /** kubectl argument vectors, in order. */
  fix: string[][];
}

const REVISION = 'cert-manager.io/certificate-revision';
const CERT_NAME = 'cert-manager.io/certificate-name';
const condition = (resource: K8sResource, type: string) => resource.status?.conditions?.find((entry) => entry.type === type);

function requestsOf(certificate: K8sResource, requests: K8sResource[]): K8sResource[] {
  return requests
    .filter((request) => request.metadata.namespace === certificate.metadata.namespace)
    .filter((request) => request.metadata.annotations?.[CERT_NAME] === certificate.metadata.name || request.metadata.ownerReferences?.some((owner) => owner.kind === 'Certificate' && owner.name === certificate.metadata.name))
    .sort((a, b) => Number(b.metadata.annotations?.[REVISION] ?? 0) - Number(a.metadata.annotations?.[REVISION] ?? 0) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
}

/** What `cmctl renew` does: set Issuing=True (reason ManuallyTriggered), keeping every other condition. */
export function renewPatch(certificate: K8sResource, now: Date): string {
  const others = (certificate.status?.conditions ?? []).filter((entry) => entry.type !== 'Issuing');
  const issuing: Condition = {
    type: 'Issuing',
    status: 'True',
    reason: 'ManuallyTriggered',
    message: 'Certificate re-issuance manually triggered',
    lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(certificate.metadata.generation !== undefined ? { observedGeneration: certificate.metadata.generation } : {}),
  };
  return JSON.stringify({ status: { conditions: [...others, issuing] } });
}

function renewCommand(certificate: K8sResource, now: Date): string[] {
  return ['-n', certificate.metadata.namespace ?? 'default', 'patch', 'certificate', certificate.metadata.name, '--subresource=status', '--type=merge', '-p', renewPatch(certificate, now)];
}

export function diagnose(resources: K8sResource[], now: Date, pendingLimitMs = 3_600_000): CertificateFinding[] {
  const certificates = resources.filter((resource) => resource.kind === 'Certificate');
  const requests = resources.filter((resource) => resource.kind === 'CertificateRequest');
  return certificates.map((certificate): CertificateFinding => {
    const base = { namespace: certificate.metadata.namespace ?? 'default', name: certificate.metadata.name };
    const ready = condition(certificate, 'Ready');
    const [latest] = requestsOf(certificate, requests);
    const deleteLatest = latest ? [['-n', base.namespace, 'delete', 'certificaterequest', latest.metadata.name]] : [];
    const notAfter = certificate.status?.notAfter ? new Date(certificate.status.notAfter) : undefined;
    const renewalTime = certificate.status?.renewalTime ? new Date(certificate.status.renewalTime) : undefined;
    if (latest && condition(latest, 'Denied')?.status === 'True') {
      const denied = condition(latest, 'Denied')!;
      return { ...base, diagnosis: 'denied', request: latest.metadata.name, explanation: `the latest request ${latest.metadata.name} was DENIED by an approver (${denied.reason ?? ''}: ${denied.message ?? ''}); cert-manager will not retry it. Fix the approval policy first, then delete the request and re-trigger.`, fix: [...deleteLatest, renewCommand(certificate, now)] };
    }
    const latestReady = latest ? condition(latest, 'Ready') : undefined;
    if (latest && latestReady?.status === 'False' && (latestReady.reason === 'Failed' || latest.status?.failureTime)) {
      return { ...base, diagnosis: 'failed-request', request: latest.metadata.name, explanation: `the latest request ${latest.metadata.name} FAILED (${latestReady.message ?? latestReady.reason}); the failed request blocks further attempts until it is deleted (seed 002). Delete it and trigger re-issuance.`, fix: [...deleteLatest, renewCommand(certificate, now)] };
    }
    if (latest && latestReady?.status === 'False' && latestReady.reason === 'Pending') {
      const since = Date.parse(latestReady.lastTransitionTime ?? latest.metadata.creationTimestamp ?? '') || now.getTime();
      if (now.getTime() - since > pendingLimitMs) {
        return { ...base, diagnosis: 'pending', request: latest.metadata.name, explanation: `the latest request ${latest.metadata.name} has been PENDING for ${Math.round((now.getTime() - since) / 60_000)} minutes (${latestReady.message ?? ''}); the issuer is not answering. Check it (kubectl describe issuer/clusterissuer), then delete the request and re-trigger.`, fix: [...deleteLatest, renewCommand(certificate, now)] };
      }
      return { ...base, diagnosis: 'ok', request: latest.metadata.name, explanation: `renewal in progress: ${latest.metadata.name} is pending (${latestReady.message ?? ''})`, fix: [] };
    }
    if (notAfter && notAfter <= now) {
      return { ...base, diagnosis: 'expired', explanation: `the certificate EXPIRED on ${notAfter.toISOString()} and no request is failing; trigger re-issuance.`, fix: [renewCommand(certificate, now)] };
    }
    if (renewalTime && renewalTime <= now) {
      return { ...base, diagnosis: 'renewal-overdue', explanation: `renewal was due on ${renewalTime.toISOString()} and has not happened; trigger it.`, fix: [renewCommand(certificate, now)] };
    }
    if (ready?.status !== 'True') {
      return { ...base, diagnosis: 'not-ready', explanation: `Ready is ${ready?.status ?? 'unknown'} (${ready?.reason ?? ''}: ${ready?.message ?? ''}); see kubectl describe certificate -n ${base.namespace} ${base.name}.`, fix: [] };
    }
    return { ...base, diagnosis: 'ok', explanation: `ready${notAfter ? `, valid until ${notAfter.toISOString()}` : ''}${renewalTime ? `, renews at ${renewalTime.toISOString()}` : ''}`, fix: [] };
  });
}

/** One shell-safe line per fix step (for the operator to read or paste). */
export function shellLine(args: string[]): string {
  return ['kubectl', ...args.map((arg) => (/^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))].join(' ');
}
