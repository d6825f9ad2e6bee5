// `webhook` for every front end (CLI, wizard): seed 000's renewal of an
// admission webhook's serving cert and caBundle, live with kubectl or offline
// from exported manifests. Always writes the originals, the patched manifests,
// and apply/rollback scripts; front ends collect the options and print.
import { join } from 'node:path';
import { stringify } from 'yaml';
import { RescueError } from '../../errors.js';
import { exportedObjects, withoutResourceVersion } from '../exported-objects.js';
import { kubectlGetJson } from '../kubectl.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, writeFilesAtomically, FileToWrite, readText } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { issueWebhookMaterial, K8sObject, patchSecret, patchWebhookConfiguration, currentServingSans, serviceNames, WebhookTarget } from './webhook.js';
import { CONFIGURATION_KINDS, configurationsToPatch, type ConfigurationChoice, workloadsMountingSecret } from './webhook-objects.js';
import { parseCertificate } from '../../pki/certificate.js';
import { parsePrivateKey } from '../../pki/keys.js';
import { assertCanSign } from '../../pki/sign.js';
import { parseDuration } from '../../pki/validity.js';
import { recordWebhookRenewal } from '../audit/seeds.js';

/** What `webhook` takes: which configurations (either form of the flags, webhook-objects.ts), and the rest. */
export interface WebhookOptions extends ConfigurationChoice {
  namespace: string;
  service: string;
  secret: string;
  validity: string;
  caCert?: string;
  caKey?: string;
  from?: string;
  out: string;
  apply?: boolean;
  workload?: string;
  force?: boolean;
}

/** Where the renewal talks: what it did (say) and what needs the operator's eye (warn). */
export interface WebhookTalk {
  say(line: string): void;
  warn(line: string): void;
}

const kubectlGet = (host: Host, args: string[]): Promise<K8sObject | undefined> =>
  kubectlGetJson(host, args, {
    failure: (message) => new RescueError('ETCD_UNAVAILABLE', message, { hint: 'no cluster reachable? export the objects elsewhere (kubectl get ... -o yaml) and pass --from DIR' }),
  });

/** The workloads that mount the Secret, live; a failed listing (RBAC) is said and treated as none found, never guessed. */
async function liveWorkloadsMounting(host: Host, namespace: string, secretName: string, talk: WebhookTalk): Promise<string[]> {
  try {
    const list = await kubectlGet(host, ['deployments,statefulsets,daemonsets', '-n', namespace]);
    return workloadsMountingSecret(((list?.items as K8sObject[]) ?? []), namespace, secretName);
  } catch (error) {
    talk.warn(`could not list the workloads in ${namespace}: ${(error as Error).message}`);
    return [];
  }
}

/**
 * Renew a webhook's serving cert and caBundle: read everything first (bad input changes nothing), issue,
 * write the patched manifests, the originals and apply.sh/rollback.sh into --out, and with --apply run
 * apply.sh's kubectl lines, stopping at the first failure (rollback.sh undoes what was applied).
 */
export async function renewWebhook(host: Host, options: WebhookOptions, talk: WebhookTalk): Promise<void> {
  const { say, warn } = talk;
  const references = configurationsToPatch(options);
  const target: WebhookTarget = { namespace: options.namespace, service: options.service, secretName: options.secret, durationMs: parseDuration(options.validity, '--validity'), now: host.now() };
  if (Boolean(options.caCert) !== Boolean(options.caKey)) throw new RescueError('USAGE', '--ca-cert and --ca-key go together');
  if (options.caCert) {
    const ca = { certificate: parseCertificate(readText(options.caCert, 'CA certificate')), key: parsePrivateKey(readText(options.caKey!, 'CA key')) };
    assertCanSign(ca);
    target.ca = ca;
  }
  // Read everything first: bad input changes nothing.
  let secret: K8sObject | undefined;
  const configurations: K8sObject[] = [];
  let workloads: string[];
  const searched = options.from ? options.from : 'the cluster';
  if (options.from) {
    const objects = exportedObjects(options.from);
    secret = objects.find((object) => object.kind === 'Secret' && object.metadata?.name === options.secret);
    for (const { kind, name } of references) {
      const found = objects.find((object) => object.kind === CONFIGURATION_KINDS[kind] && object.metadata?.name === name);
      if (!found) throw new RescueError('FILE_NOT_FOUND', `no ${CONFIGURATION_KINDS[kind]} named ${name} in ${options.from}`, { hint: `kubectl get ${CONFIGURATION_KINDS[kind].toLowerCase()} ${name} -o yaml > ${options.from}/${kind}.yaml` });
      configurations.push(found);
    }
    workloads = workloadsMountingSecret(objects, options.namespace, options.secret);
  } else {
    secret = await kubectlGet(host, ['secret', options.secret, '-n', options.namespace]);
    for (const { kind, name } of references) {
      const found = await kubectlGet(host, [CONFIGURATION_KINDS[kind].toLowerCase(), name]);
      if (!found) throw new RescueError('FILE_NOT_FOUND', `${CONFIGURATION_KINDS[kind]} ${name} not found in the cluster`, { hint: `kubectl get ${CONFIGURATION_KINDS[kind].toLowerCase()} lists their names` });
      configurations.push(found);
    }
    workloads = options.workload ? [] : await liveWorkloadsMounting(host, options.namespace, options.secret, talk);
  }
  const current = currentServingSans(secret);
  if ('sans' in current) target.keptSans = current.sans;
  else warn(`${current.missing}: the new serving cert names only the service`);
  const material = await issueWebhookMaterial(target);
  const patchedSecret = patchSecret(secret, target, material);
  const patched = configurations.map((configuration) => patchWebhookConfiguration(configuration, target, material));

  const out = options.out;
  const yaml = (object: K8sObject) => stringify(object, { lineWidth: 0 });
  const files: FileToWrite[] = [
    { path: join(out, 'secret.yaml'), data: yaml(patchedSecret), mode: PRIVATE_KEY_MODE },
    ...patched.map((entry) => ({ path: join(out, `${entry.object.kind!.toLowerCase()}.yaml`), data: yaml(entry.object), mode: PUBLIC_MODE })),
    { path: join(out, 'ca.crt'), data: material.ca.pem, mode: PUBLIC_MODE },
    ...(material.caKeyPem ? [{ path: join(out, 'ca.key'), data: material.caKeyPem, mode: PRIVATE_KEY_MODE }] : []),
    { path: join(out, 'tls.crt'), data: material.serving.pem, mode: PUBLIC_MODE },
    { path: join(out, 'tls.key'), data: material.servingKeyPem, mode: PRIVATE_KEY_MODE },
    // rollback.sh applies these after apply.sh changed the objects: no stale resourceVersion in them.
    ...(secret ? [{ path: join(out, 'original', 'secret.yaml'), data: yaml(withoutResourceVersion(secret)), mode: PRIVATE_KEY_MODE }] : []),
    ...configurations.map((configuration) => ({ path: join(out, 'original', `${configuration.kind!.toLowerCase()}.yaml`), data: yaml(withoutResourceVersion(configuration)), mode: PUBLIC_MODE })),
  ];
  const applyLines = ['#!/bin/sh', '# Apply the renewed webhook certificate (written by rescue-kit webhook).', 'set -e', 'cd "$(dirname "$0")"', 'kubectl apply -f secret.yaml', ...patched.map((entry) => `kubectl apply -f ${entry.object.kind!.toLowerCase()}.yaml`)];
  // Restart what really mounts the Secret; a guessed name would fail at 3 a.m. or restart the wrong thing.
  const restarts = options.workload ? [options.workload] : workloads;
  const noWorkload = `no Deployment, StatefulSet or DaemonSet in ${options.namespace} mounts Secret ${options.secret} (searched ${searched})`;
  if (restarts.length) applyLines.push(...restarts.map((workload) => `kubectl -n ${options.namespace} rollout restart ${workload}`));
  else applyLines.push(`# ${noWorkload}:`, '# restart the webhook server yourself so it loads the new Secret (kubectl -n NS rollout restart KIND/NAME), or rerun with --workload KIND/NAME');
  const rollbackLines = ['#!/bin/sh', '# Put back the objects as they were before rescue-kit webhook.', 'set -e', 'cd "$(dirname "$0")/original"', ...(secret ? ['kubectl apply -f secret.yaml'] : [`kubectl -n ${options.namespace} delete secret ${options.secret}`]), ...configurations.map((configuration) => `kubectl apply -f ${configuration.kind!.toLowerCase()}.yaml`)];
  files.push({ path: join(out, 'apply.sh'), data: `${applyLines.join('\n')}\n`, mode: 0o755 }, { path: join(out, 'rollback.sh'), data: `${rollbackLines.join('\n')}\n`, mode: 0o755 });
  writeFilesAtomically(files, { overwrite: Boolean(options.force) });
  recordWebhookRenewal(host, target, material, { out, applied: Boolean(options.apply) }, say);

  const sans = material.serving.sans;
  say(`serving cert for ${[...sans.dns, ...sans.ips, ...sans.emails, ...sans.uris].join(', ')}, valid until ${material.serving.notAfter.toISOString()}`);
  const service = new Set(serviceNames(options.service, options.namespace));
  const kept = [...sans.dns.filter((name) => !service.has(name)), ...sans.ips, ...sans.emails, ...sans.uris];
  if (kept.length) say(`kept from the old serving cert: ${kept.join(', ')}`);
  for (const entry of patched) say(`${entry.object.kind} ${entry.object.metadata?.name}: caBundle replaced in ${entry.patched.join(', ')}`);
  if (restarts.length) say(`restart after applying: ${restarts.join(', ')}${options.workload ? ' (--workload)' : ` (they mount Secret ${options.secret})`}`);
  else warn(`${noWorkload}: apply.sh restarts nothing; restart the webhook server yourself, or pass --workload KIND/NAME`);
  say(`wrote ${out}/ (patched manifests, originals in original/, apply.sh, rollback.sh)`);
  if (!options.apply) return say(`next: sh ${out}/apply.sh`);
  for (const line of applyLines.filter((entry) => entry.startsWith('kubectl'))) {
    const args = line.split(' ').slice(1).map((arg) => (arg.endsWith('.yaml') ? join(out, arg) : arg));
    const result = await host.run('kubectl', args, { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new RescueError('FAILED_ROLLED_BACK', `${line} failed: ${result.stderr.trim()}`, { hint: `undo what was applied: sh ${out}/rollback.sh` });
    say(`${line}: ${result.stdout.trim()}`);
  }
}
