// The etcd gate for a member of a cluster: after this member was restarted on
// renewed certs, is it serving them, and does the cluster have quorum with
// every member healthy? When every member's peer cert had expired, the first
// renewed member cannot reach quorum until a second one is renewed: that state
// is recognised (its peers answer, with expired certs) and accepted as
// "pending", so the first node is not rolled back for a quorum it cannot reach.
// The order is written down in ./README.md ("etcd in a cluster").
import { readFileSync } from 'node:fs';
import type { Host } from '../../host/host.js';
import type { ClusterFromManifests } from '../inventory/manifests.js';
import { EtcdClient, etcdClient, etcdctl, reachable } from './etcd.js';
import { ClientCredentials, proveServedCertificates, servedCertificate, servingEndpoints } from './served-cert.js';

export interface EtcdMember {
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

export interface PeerState {
  name: string;
  peerUrl: string;
  /** healthy: answers `endpoint health`; expired: its peer port presents an expired cert; down: nothing answers. */
  state: 'healthy' | 'expired' | 'unhealthy' | 'down';
  detail: string;
}

export interface EtcdGateResult {
  ok: boolean;
  detail: string;
  /**
   * Set when the gate passed without a full cluster: quorum (or a member's link) waits for other members to
   * be renewed. Says what the operator does next. The apiserver gate of the same run relaxes its /livez.
   */
  pending?: string;
  /** False only in the first-member state: this member has no quorum yet (its apiserver cannot be live). */
  quorum: boolean;
  members: PeerState[];
}

const quorumOf = (size: number) => Math.floor(size / 2) + 1;

/** Members from the manifest's --initial-cluster (name=peerURL,...): all we know when member list cannot answer. */
function membersFromManifest(cluster: ClusterFromManifests): EtcdMember[] {
  const flags = cluster.components.find((entry) => entry.component === 'etcd')?.flags;
  const byName = new Map<string, string[]>();
  for (const entry of (flags?.get('initial-cluster') ?? '').split(',').filter(Boolean)) {
    const [name, url] = entry.split('=');
    if (name && url) byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls, clientUrls: [] }));
}

/** `member list` from this member (served from its own state in etcd 3.4: it answers without quorum). */
async function memberList(host: Host, client: EtcdClient): Promise<EtcdMember[] | undefined> {
  const result = await etcdctl(host, client, ['--dial-timeout=2s', '--command-timeout=3s', 'member', 'list', '-w', 'json'], 8_000);
  if (result.exitCode !== 0) return undefined;
  try {
    const parsed = JSON.parse(result.stdout) as { members?: { name?: string; peerURLs?: string[]; clientURLs?: string[] }[] };
    return (parsed.members ?? []).map((member) => ({ name: member.name || '(not started)', peerUrls: member.peerURLs ?? [], clientUrls: member.clientURLs ?? [] }));
  } catch {
    return undefined;
  }
}

/** `endpoint health --cluster -w json`: every member's client URL, as member list gives them. */
async function clusterHealth(host: Host, client: EtcdClient): Promise<Map<string, { health: boolean; error?: string }>> {
  const result = await etcdctl(host, client, ['--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health', '--cluster', '-w', 'json'], 15_000);
  const health = new Map<string, { health: boolean; error?: string }>();
  try {
    for (const entry of JSON.parse(result.stdout) as { endpoint: string; health: boolean; error?: string }[]) health.set(entry.endpoint, entry);
  } catch {
    // No JSON: etcdctl could not even list the members (this member does not answer).
  }
  return health;
}

/** Is this member itself healthy (a linearizable read through it: needs quorum)? */
async function selfHealthy(host: Host, client: EtcdClient): Promise<{ ok: boolean; detail: string }> {
  const result = await etcdctl(host, client, ['--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health'], 10_000);
  return { ok: result.exitCode === 0, detail: `${result.stdout}${result.stderr}`.trim().split('\n').pop() ?? '' };
}

/** What the peer port of another member presents: expired, valid, or nothing. */
async function peerCertState(url: string, credentials: ClientCredentials, now: Date): Promise<{ state: 'expired' | 'valid' | 'down'; detail: string }> {
  const { hostname, port } = new URL(url);
  try {
    const served = await servedCertificate(hostname.replace(/^\[|\]$/g, ''), Number(port || 2380), { client: credentials, timeoutMs: 3000 });
    return served.notAfter.getTime() <= now.getTime()
      ? { state: 'expired', detail: `peer cert serial ${served.serialHex} expired ${served.notAfter.toISOString()}` }
      : { state: 'valid', detail: `peer cert serial ${served.serialHex} valid until ${served.notAfter.toISOString()}` };
  } catch (error) {
    return { state: 'down', detail: `peer port does not answer: ${(error as Error).message}` };
  }
}

/**
 * One look at the cluster from this member. Passes (ok) when:
 *  - full: this member serves the renewed certs on every client and peer URL, and every member is healthy;
 *  - pending, quorum reached: this member is healthy, and the members that are not present expired peer certs;
 *  - pending, first member: this member serves the renewed certs, cannot have quorum because too few members
 *    hold valid peer certs, and every other member answers on its peer port with an expired cert.
 * Anything else (old cert served, a member down, a valid member unhealthy) fails, and is retried until the
 * timeout; then the run rolls back.
 */
export async function etcdClusterGate(host: Host, cluster: ClusterFromManifests, client: EtcdClient): Promise<EtcdGateResult> {
  const credentials: ClientCredentials = { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) };
  const endpoints = servingEndpoints(cluster, 'etcd');
  // The peer port serves as soon as etcd runs (raft needs it); etcd 3.4 completes client TLS handshakes only
  // once it is ready, i.e. has joined quorum. So the peer proof comes first and must pass on its own.
  const peerProof = await proveServedCertificates(host, endpoints.filter((endpoint) => endpoint.what === 'etcd peer'), credentials);
  if (!peerProof.ok) return { ok: false, detail: peerProof.detail, members: [], quorum: false };
  const clientProof = await proveServedCertificates(host, endpoints.filter((endpoint) => endpoint.what !== 'etcd peer'), credentials, 2500);
  const clientWaits = !clientProof.ok && /no TLS handshake/.test(clientProof.detail);
  if (!clientProof.ok && !clientWaits) return { ok: false, detail: clientProof.detail, members: [], quorum: false };
  const proof = { detail: clientWaits ? `${peerProof.detail}; client port waits for quorum (${clientProof.detail})` : `${clientProof.detail}; ${peerProof.detail}` };
  const self = clientWaits ? { ok: false, detail: 'not serving clients yet' } : await selfHealthy(host, client);
  const members = (clientWaits ? undefined : await memberList(host, client)) ?? membersFromManifest(cluster);
  const name = cluster.nodeName;
  if (members.length <= 1 && clientWaits) {
    return {
      ok: false,
      detail: `${proof.detail}; etcd serves no clients yet and no other member is known (member list needs a serving member; --initial-cluster lists only this one): if it is one of several members whose peer certs all expired, renew first the node whose --initial-cluster lists every member`,
      members: [],
      quorum: false,
    };
  }
  if (members.length <= 1) {
    return self.ok ? { ok: true, detail: `${proof.detail}; etcdctl endpoint health: ${self.detail}`, members: [], quorum: true } : { ok: false, detail: `etcdctl endpoint health: ${self.detail}`, members: [], quorum: false };
  }
  const health = self.ok ? await clusterHealth(host, client) : new Map<string, { health: boolean; error?: string }>();
  const now = host.now();
  const states: PeerState[] = [];
  for (const member of members) {
    const peerUrl = member.peerUrls[0] ?? '';
    if (member.name === name) {
      states.push({ name: member.name, peerUrl, state: self.ok ? 'healthy' : 'unhealthy', detail: self.detail });
      continue;
    }
    const answers = member.clientUrls.map((url) => health.get(url)).filter(Boolean);
    if (answers.length && answers.every((entry) => entry!.health)) {
      states.push({ name: member.name, peerUrl, state: 'healthy', detail: 'healthy' });
      continue;
    }
    const peer = peerUrl ? await peerCertState(peerUrl, credentials, now) : { state: 'down' as const, detail: 'no peer URL' };
    const error = answers.find((entry) => entry?.error)?.error;
    states.push({ name: member.name, peerUrl, state: peer.state === 'valid' ? 'unhealthy' : peer.state, detail: `${peer.detail}${error ? `; ${error}` : ''}` });
  }
  const size = members.length;
  const quorum = quorumOf(size);
  const healthy = states.filter((state) => state.state === 'healthy').length;
  const expired = states.filter((state) => state.state === 'expired');
  const blocking = states.filter((state) => state.name !== name && (state.state === 'down' || state.state === 'unhealthy'));
  const summary = states.map((state) => `${state.name} ${state.state}`).join(', ');
  if (healthy === size) return { ok: true, detail: `${proof.detail}; etcdctl endpoint health --cluster: quorum ${healthy}/${size}, every member healthy`, members: states, quorum: true };
  if (blocking.length) {
    return { ok: false, detail: `etcd cluster not healthy: ${blocking.map((state) => `${state.name} ${state.state} (${state.detail})`).join('; ')}`, members: states, quorum: self.ok };
  }
  const next = expired.map((state) => `${state.name} (${state.peerUrl})`).join(', ');
  if (self.ok) {
    return { ok: true, detail: `${proof.detail}; quorum ${healthy}/${size}`, pending: `${expired.length} member(s) still present expired peer certs: renew ${next} next`, members: states, quorum: true };
  }
  const validMembers = size - expired.length;
  if (validMembers < quorum) {
    return {
      ok: true,
      detail: `${proof.detail}; no quorum yet (${summary})`,
      pending: `etcd cannot have quorum until ${quorum} of ${size} members hold renewed peer certs (${validMembers} do now): go on and renew ${next}; this member joins quorum then`,
      members: states,
      quorum: false,
    };
  }
  return { ok: false, detail: `etcd member ${name ?? ''} is not healthy though ${validMembers} of ${size} members hold valid peer certs: ${self.detail}`, members: states, quorum: false };
}

/**
 * Before anything is written: would restarting this member take a healthy cluster below quorum (another
 * member already down)? Then the renewal must wait, not cost the cluster its writes. Undefined when the
 * restart is safe or nothing can be learned (a single member, no answer, expired certs everywhere:
 * restarting a member of a cluster without quorum loses nothing).
 */
export async function restartWouldLoseQuorum(host: Host, cluster: ClusterFromManifests): Promise<string | undefined> {
  const client = await etcdClient(host, cluster);
  if (!client) return undefined;
  try {
    if (!(await reachable(client.endpoints[0]!))) return undefined;
    // A member that completes no handshake (not ready: no quorum) or serves an expired cert has no quorum to
    // lose; asking etcdctl would only wait out its dial timeout.
    const { hostname, port } = new URL(client.endpoints[0]!);
    const credentials = { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) };
    const served = await servedCertificate(hostname.replace(/^\[|\]$/g, ''), Number(port || 2379), { client: credentials, timeoutMs: 1500 }).catch(() => undefined);
    if (!served || served.notAfter.getTime() <= host.now().getTime()) return undefined;
    const members = await memberList(host, client);
    if (!members || members.length < 2) return undefined;
    const health = await clusterHealth(host, client);
    const healthy = (member: EtcdMember) => member.clientUrls.length > 0 && member.clientUrls.some((url) => health.get(url)?.health);
    const self = members.find((member) => member.name === cluster.nodeName);
    if (!self || !healthy(self)) return undefined;
    const others = members.filter((member) => member !== self);
    const left = others.filter(healthy).length;
    const quorum = quorumOf(members.length);
    if (left >= quorum) return undefined;
    const unhealthy = others.filter((member) => !healthy(member)).map((member) => member.name);
    return `restarting etcd on ${self.name} now would leave ${left} of ${members.length} members healthy, below quorum (${quorum}): ${unhealthy.join(', ')} not healthy`;
  } finally {
    client.dispose();
  }
}
