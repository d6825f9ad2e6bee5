// Legacy service-account token Secrets (type kubernetes.io/service-account-token): long-lived JWTs the
// token controller signed once with the sa.key of its time and never signs again on its own. The 24 h
// grace after reissue covers projected tokens only; on clusters before 1.22 (the 1.11 and 1.14 trees)
// every pod authenticates with one of these, so sa's distrust would turn all of them into 401s. The
// controller re-signs a Secret whose token is removed (tokens_controller: a missing token is
// "update needed"), with the key it signs with now: that is the fix this file prints.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { exportedObjects } from '../exported-objects.js';
import { kubectlGetJson, kubectlUnreachable } from '../kubectl.js';
import type { K8sObject } from '../seeds/webhook.js';

export const TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
/** What the operator runs where kubectl reaches the cluster, for --token-secrets-from. */
export const EXPORT_TOKEN_SECRETS = `kubectl get secrets -A --field-selector type=${TOKEN_SECRET_TYPE} -o json > token-secrets.json`;

// The JWS algorithms kube-apiserver's service-account authenticator accepts; ECDSA signatures are r||s.
const HASH_OF: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };

export interface TokenSecret {
  namespace: string;
  name: string;
  serviceAccount?: string;
}

/** Does this compact JWS verify with this public key? (Signature only: who signed it is the question.) */
function signedBy(token: string, key: KeyObject): boolean {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return false;
  try {
    const alg = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string }).alg ?? '';
    const hash = HASH_OF[alg];
    if (!hash || (alg.startsWith('ES') !== (key.asymmetricKeyType === 'ec'))) return false;
    return verify(hash, Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** The token Secrets whose token an old key signed and the new key did not: they stop working at distrust. */
export function tokenSecretsOfOldKey(objects: K8sObject[], oldPublicPems: string[], newPublicPem: string): TokenSecret[] {
  const olds = oldPublicPems.map((pem) => createPublicKey(pem));
  const fresh = createPublicKey(newPublicPem);
  return objects
    .filter((object) => (object.kind ?? 'Secret') === 'Secret' && object.type === TOKEN_SECRET_TYPE)
    .flatMap((secret) => {
      const encoded = (secret.data as Record<string, string> | undefined)?.token;
      const token = encoded ? Buffer.from(encoded, 'base64').toString() : '';
      if (!token || signedBy(token, fresh) || !olds.some((key) => signedBy(token, key))) return [];
      const metadata = secret.metadata ?? {};
      return [{ namespace: metadata.namespace ?? 'default', name: metadata.name ?? '?', serviceAccount: (metadata.annotations as Record<string, string> | undefined)?.['kubernetes.io/service-account.name'] }];
    });
}

/** The exact line that makes the token controller sign this Secret again (with the key it signs with now). */
export const resignLine = (secret: TokenSecret) => `kubectl -n ${secret.namespace} patch secret ${secret.name} --type=json -p '[{"op":"remove","path":"/data/token"}]'`;

export type TokenSecretsRead = { objects: K8sObject[]; source: string } | { unchecked: string };

/** The token Secrets from an export (--token-secrets-from) or live with this kubeconfig; `unchecked` says why not. */
export async function readTokenSecrets(host: Host, options: { from?: string; kubeconfig?: string }): Promise<TokenSecretsRead> {
  if (options.from) return { objects: exportedObjects(options.from), source: options.from };
  if (!options.kubeconfig) return { unchecked: 'no admin.conf on this node' };
  const down = await kubectlUnreachable(host, options.kubeconfig);
  if (down) return { unchecked: `kubectl does not reach the cluster with admin.conf (${down})` };
  // All Secrets, filtered here: a field selector on type is not served by every apiserver in the field.
  const list = await kubectlGetJson(host, ['secrets', '-A'], {
    kubeconfig: options.kubeconfig,
    failure: (message) => new RescueError('PRECONDITION', `sa: the legacy token Secrets could not be listed: ${message}`, { hint: `export them where kubectl reaches the cluster (${EXPORT_TOKEN_SECRETS}) and pass --token-secrets-from token-secrets.json` }),
  });
  return { objects: (list?.items as K8sObject[] | undefined) ?? [], source: 'the live cluster' };
}

const SHOWN = 10;

/**
 * sa's distrust gate: refused (unless --force) while a token Secret still holds a token only the old key
 * signed, or while they cannot be looked at (the API down and no export given): on an old cluster that is
 * every pod. Returns the warnings of a forced run; never names a token, only its Secret.
 */
export async function refuseWhileLegacyTokensOfOldKey(host: Host, keys: { oldPems: string[]; newPem: string }, options: { from?: string; kubeconfig?: string; force?: boolean }): Promise<string[]> {
  const read = await readTokenSecrets(host, options);
  if ('unchecked' in read) {
    const why = `sa: the legacy token Secrets (${TOKEN_SECRET_TYPE}) were not checked: ${read.unchecked}; any signed by the old key would be rejected after distrust`;
    if (options.force) return [`${why} (distrusted with --force)`];
    throw new RescueError('PRECONDITION', why, { hint: `export them where kubectl reaches the cluster (${EXPORT_TOKEN_SECRETS}) and pass --token-secrets-from token-secrets.json; or distrust anyway with --force` });
  }
  const old = tokenSecretsOfOldKey(read.objects, keys.oldPems, keys.newPem);
  if (!old.length) return [];
  const names = old.map((secret) => `${secret.namespace}/${secret.name}`);
  const listed = `${names.slice(0, SHOWN).join(', ')}${names.length > SHOWN ? ` and ${names.length - SHOWN} more` : ''}`;
  if (options.force) return [`sa: distrusted with --force although ${old.length} legacy token Secret(s) in ${read.source} hold tokens of the old key only (now rejected): ${listed}`];
  throw new RescueError('PRECONDITION', `sa: distrust would reject the tokens of ${old.length} legacy token Secret(s) in ${read.source}, signed by the old key only: ${listed}`, {
    hint: `once every control plane has done reissue, let the token controller sign them again with the new key, then restart the pods that mount them:\n  ${old.slice(0, SHOWN).map(resignLine).join('\n  ')}${old.length > SHOWN ? `\n  (the same for the ${old.length - SHOWN} more)` : ''}\nor distrust anyway with --force`,
  });
}
