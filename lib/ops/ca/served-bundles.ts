// Before a caBundle stops trusting the old cluster CA, the server it verifies must present a certificate
// of the new one: otherwise every call the apiserver makes to that webhook or APIService fails its TLS
// check after distrust (with failurePolicy: Fail, every request the webhook matches is refused). So the
// server is asked, the way the apiserver reaches it: a url directly; a Service through its Endpoints
// (pod addresses, which a control plane routes to) with the SNI NAME.NAMESPACE.svc the apiserver sends.
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { parseCertificateDer } from '../../pki/certificate.js';
import { isIssuedBy } from '../../pki/verify.js';
import { kubectlGetJson } from '../kubectl.js';
import { servedCertificate } from '../renewal/served-cert.js';
import type { K8sObject } from '../seeds/webhook.js';
import { bundlesTrustingOld, objectLabel, type CarriedBundle, type RotatingCa, type ServerRef } from './ca-copies.js';

/** What a bundle's server presents: a cert of the new CA, of the old one only, or nothing we could read. */
export type ServedVerdict = { state: 'new' } | { state: 'old'; at: string } | { state: 'unknown'; why: string };

interface Target {
  host: string;
  port: number;
  servername?: string;
}

type Json = Record<string, any>;
/** At most this many addresses of one Service are asked (a DaemonSet webhook can have hundreds). */
const MAX_TARGETS = 5;
const HANDSHAKE_MS = 3000;

/** Where the apiserver would connect for this Service port: the Endpoints' addresses and the port they serve it on. */
async function serviceTargets(host: Host, kubeconfig: string, service: { namespace: string; name: string; port?: number }): Promise<Target[] | string> {
  const failure = (message: string) => new RescueError('PRECONDITION', message);
  const get = (kind: string) => kubectlGetJson(host, ['-n', service.namespace, kind, service.name], { kubeconfig, failure }).catch((error: Error) => error.message);
  const [svc, endpoints] = await Promise.all([get('service'), get('endpoints')]);
  if (typeof svc === 'string' || typeof endpoints === 'string') return [svc, endpoints].find((value) => typeof value === 'string') as string;
  if (!svc) return `service ${service.namespace}/${service.name} not found`;
  const wanted = service.port ?? 443;
  const port = ((svc.spec as Json | undefined)?.ports as Json[] | undefined)?.find((entry) => entry.port === wanted);
  if (!port) return `service ${service.namespace}/${service.name} has no port ${wanted}`;
  const servername = `${service.name}.${service.namespace}.svc`;
  const targets = (((endpoints?.subsets as Json[] | undefined) ?? []) as Json[]).flatMap((subset) => {
    const ports = (subset.ports ?? []) as Json[];
    const served = ports.length === 1 ? ports[0] : ports.find((entry) => entry.name === port.name);
    if (!served?.port) return [];
    return ((subset.addresses ?? []) as Json[]).map((address) => ({ host: String(address.ip), port: Number(served.port), servername }));
  });
  return targets.length ? targets.slice(0, MAX_TARGETS) : `service ${service.namespace}/${service.name} has no ready endpoints`;
}

/** A webhook url's host and port; servedCertificate sends the host as SNI unless it is an IP, as the apiserver does. */
function urlTargets(text: string): Target[] | string {
  try {
    const url = new URL(text);
    return [{ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) }];
  } catch {
    return `url ${text} does not parse`;
  }
}

/** Ask every address of the server; one that presents an old-CA-only cert decides (the apiserver may pick it). */
export async function servedVerdict(host: Host, kubeconfig: string, server: ServerRef, ca: RotatingCa): Promise<ServedVerdict> {
  const targets = 'url' in server ? urlTargets(server.url) : await serviceTargets(host, kubeconfig, server.service);
  if (typeof targets === 'string') return { state: 'unknown', why: targets };
  const unreadable: string[] = [];
  let fresh = 0;
  for (const target of targets) {
    const at = `${target.host}:${target.port}`;
    try {
      const leaf = parseCertificateDer((await servedCertificate(target.host, target.port, { servername: target.servername, timeoutMs: HANDSHAKE_MS })).der);
      if (isIssuedBy(leaf, ca.new)) fresh++;
      else if (ca.old.some((old) => isIssuedBy(leaf, old))) return { state: 'old', at };
      else unreadable.push(`${at} presents a cert of neither CA (issuer ${leaf.issuerText})`);
    } catch (error) {
      unreadable.push(`${at}: ${(error as Error).message}`);
    }
  }
  return fresh && !unreadable.length ? { state: 'new' } : { state: 'unknown', why: unreadable.join('; ') };
}

export interface BundleCheck extends CarriedBundle {
  verdict: ServedVerdict;
}

const describeServer = (server: ServerRef | undefined) => (!server ? 'no server named' : 'url' in server ? server.url : `service ${server.service.namespace}/${server.service.name}:${server.service.port ?? 443}`);

/** Every caBundle that still trusts the old CA, with what its server presents now. */
export async function checkServedBundles(host: Host, kubeconfig: string, objects: K8sObject[], ca: RotatingCa): Promise<BundleCheck[]> {
  const checks: BundleCheck[] = [];
  for (const bundle of bundlesTrustingOld(objects, ca)) {
    const verdict: ServedVerdict = bundle.server ? await servedVerdict(host, kubeconfig, bundle.server, ca) : { state: 'unknown', why: 'no server named' };
    checks.push({ ...bundle, verdict });
  }
  return checks;
}

/** One line for the operator about a bundle whose server is not on the new CA yet. */
export function servedNote(check: BundleCheck, distrust: boolean): string {
  const what = `${objectLabel(check.object)} ${check.label} (${describeServer(check.server)})`;
  const why = check.verdict.state === 'old' ? `its server at ${check.verdict.at} still presents a cert of the old CA` : check.verdict.state === 'unknown' ? `its server could not be checked: ${check.verdict.why}` : 'its server presents a new-CA cert';
  return distrust ? `kept the old CA in ${what}: ${why}; re-issue its serving cert from the new CA, then run rescue-kit ca in-cluster DIR again (--no-server-check removes it regardless)` : `${what}: ${why}; it must present a new-CA cert before distrust`;
}
