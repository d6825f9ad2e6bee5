// `rescue-kit webhook`: renew an admission webhook's serving cert and caBundle
// (seed 000), live with kubectl or offline from exported manifests. Always
// writes the originals, the patched manifests, and apply/rollback scripts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { RescueError, withFile } from '../../errors.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, writeFilesAtomically, FileToWrite, readText } from '../../host/fs.js';
import { createHost } from '../../host/host.js';
import { issueWebhookMaterial, K8sObject, patchSecret, patchWebhookConfiguration, serviceNames, WebhookTarget } from '../../ops/seeds/webhook.js';
import { parseCertificate } from '../../pki/certificate.js';
import { parsePrivateKey } from '../../pki/keys.js';
import { assertCanSign } from '../../pki/sign.js';
import { parseDuration } from '../../pki/validity.js';
import { say } from '../output.js';
import { recordWebhookRenewal } from '../../ops/audit/seeds.js';

export interface WebhookOptions {
  namespace: string;
  service: string;
  secret: string;
  webhookConfig: string;
  kind: 'validating' | 'mutating' | 'both';
  validity: string;
  caCert?: string;
  caKey?: string;
  from?: string;
  out: string;
  apply?: boolean;
  workload?: string;
  force?: boolean;
}

const KINDS = { validating: 'ValidatingWebhookConfiguration', mutating: 'MutatingWebhookConfiguration' } as const;

function objectsIn(dir: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const file of readdirSync(dir).filter((name) => /\.(ya?ml|json)$/.test(name))) {
    const path = join(dir, file);
    withFile(path, () => {
      for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
        if ('errors' in document && document.errors.length) throw new RescueError('INVALID_CONFIG', `not valid YAML/JSON: ${document.errors[0]!.message}`, { hint: 'export again with kubectl get ... -o yaml' });
        const value = document.toJS() as K8sObject | null;
        if (!value) continue;
        objects.push(...(value.kind === 'List' ? ((value.items as K8sObject[]) ?? []) : [value]));
      }
    });
  }
  return objects;
}

async function kubectlGet(args: string[]): Promise<K8sObject | undefined> {
  const host = createHost();
  const result = await host.run('kubectl', ['get', ...args, '-o', 'json'], { timeoutMs: 30_000 });
  if (result.exitCode === 0) return JSON.parse(result.stdout) as K8sObject;
  if (/NotFound/.test(result.stderr)) return undefined;
  throw new RescueError('ETCD_UNAVAILABLE', `kubectl get ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`, {
    hint: 'no cluster reachable? export the objects elsewhere (kubectl get ... -o yaml) and pass --from DIR',
  });
}

export async function webhook(options: WebhookOptions): Promise<void> {
  const kinds = options.kind === 'both' ? (['validating', 'mutating'] as const) : ([options.kind] as const);
  const target: WebhookTarget = { namespace: options.namespace, service: options.service, secretName: options.secret, durationMs: parseDuration(options.validity, '--validity'), now: new Date() };
  if (Boolean(options.caCert) !== Boolean(options.caKey)) throw new RescueError('USAGE', '--ca-cert and --ca-key go together');
  if (options.caCert) {
    const ca = { certificate: parseCertificate(readText(options.caCert, 'CA certificate')), key: parsePrivateKey(readText(options.caKey!, 'CA key')) };
    assertCanSign(ca);
    target.ca = ca;
  }
  // Read everything first: bad input changes nothing.
  let secret: K8sObject | undefined;
  const configurations: K8sObject[] = [];
  if (options.from) {
    const objects = objectsIn(options.from);
    secret = objects.find((object) => object.kind === 'Secret' && object.metadata?.name === options.secret);
    for (const kind of kinds) {
      const found = objects.find((object) => object.kind === KINDS[kind] && object.metadata?.name === options.webhookConfig);
      if (!found) throw new RescueError('FILE_NOT_FOUND', `no ${KINDS[kind]} named ${options.webhookConfig} in ${options.from}`, { hint: `kubectl get ${KINDS[kind].toLowerCase()} ${options.webhookConfig} -o yaml > ${options.from}/${kind}.yaml` });
      configurations.push(found);
    }
  } else {
    secret = await kubectlGet(['secret', options.secret, '-n', options.namespace]);
    for (const kind of kinds) {
      const found = await kubectlGet([KINDS[kind].toLowerCase(), options.webhookConfig]);
      if (!found) throw new RescueError('FILE_NOT_FOUND', `${KINDS[kind]} ${options.webhookConfig} not found in the cluster`);
      configurations.push(found);
    }
  }
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
    ...(secret ? [{ path: join(out, 'original', 'secret.yaml'), data: yaml(secret), mode: PRIVATE_KEY_MODE }] : []),
    ...configurations.map((configuration) => ({ path: join(out, 'original', `${configuration.kind!.toLowerCase()}.yaml`), data: yaml(configuration), mode: PUBLIC_MODE })),
  ];
  const applyLines = ['#!/bin/sh', '# Apply the renewed webhook certificate (written by rescue-kit webhook).', 'set -e', 'cd "$(dirname "$0")"', 'kubectl apply -f secret.yaml', ...patched.map((entry) => `kubectl apply -f ${entry.object.kind!.toLowerCase()}.yaml`)];
  applyLines.push(options.workload ? `kubectl -n ${options.namespace} rollout restart ${options.workload}` : `# then restart the webhook server so it loads the new Secret, e.g.: kubectl -n ${options.namespace} rollout restart deployment/<name>`);
  const rollbackLines = ['#!/bin/sh', '# Put back the objects as they were before rescue-kit webhook.', 'set -e', 'cd "$(dirname "$0")/original"', ...(secret ? ['kubectl apply -f secret.yaml'] : [`kubectl -n ${options.namespace} delete secret ${options.secret}`]), ...configurations.map((configuration) => `kubectl apply -f ${configuration.kind!.toLowerCase()}.yaml`)];
  files.push({ path: join(out, 'apply.sh'), data: `${applyLines.join('\n')}\n`, mode: 0o755 }, { path: join(out, 'rollback.sh'), data: `${rollbackLines.join('\n')}\n`, mode: 0o755 });
  writeFilesAtomically(files, { overwrite: Boolean(options.force) });
  recordWebhookRenewal(createHost(), target, material, { out, applied: Boolean(options.apply) }, say);

  say(`serving cert for ${serviceNames(options.service, options.namespace).join(', ')}, valid until ${material.serving.notAfter.toISOString()}`);
  for (const entry of patched) say(`${entry.object.kind} ${options.webhookConfig}: caBundle replaced in ${entry.patched.join(', ')}`);
  say(`wrote ${out}/ (patched manifests, originals in original/, apply.sh, rollback.sh)`);
  if (!options.apply) return say(`next: sh ${out}/apply.sh`);
  const host = createHost();
  for (const line of applyLines.filter((entry) => entry.startsWith('kubectl'))) {
    const args = line.split(' ').slice(1).map((arg) => (arg.endsWith('.yaml') ? join(out, arg) : arg));
    const result = await host.run('kubectl', args, { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new RescueError('FAILED_ROLLED_BACK', `${line} failed: ${result.stderr.trim()}`, { hint: `undo what was applied: sh ${out}/rollback.sh` });
    say(`${line}: ${result.stdout.trim()}`);
  }
}
