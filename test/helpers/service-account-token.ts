// Service-account tokens as the kube-apiserver's TokenRequest issues them (a JWS, RS256 for an RSA
// sa.key, ES256/ES384 for an ECDSA one, signature in the JOSE r||s form), for tests that present a
// pod's token to the apiserver stand-ins.
import { createPrivateKey, KeyObject, sign } from 'node:crypto';

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function algorithmOf(key: KeyObject): { alg: string; hash: string } {
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', hash: 'sha256' };
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return { alg: 'ES256', hash: 'sha256' };
  if (curve === 'secp384r1') return { alg: 'ES384', hash: 'sha384' };
  throw new Error(`no JWS algorithm for a ${key.asymmetricKeyType} ${curve ?? ''} key`);
}

/** A bound-style token for system:serviceaccount:NAMESPACE:NAME, signed by the private key PEM given. */
export function mintServiceAccountToken(keyPem: string | Buffer, options: { namespace?: string; name?: string; lifetimeS?: number; now?: number } = {}): string {
  const key = createPrivateKey(keyPem);
  const { alg, hash } = algorithmOf(key);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const sub = `system:serviceaccount:${options.namespace ?? 'default'}:${options.name ?? 'rig-pod'}`;
  const head = `${b64url({ alg, typ: 'JWT' })}.${b64url({ iss: SERVICE_ACCOUNT_ISSUER, aud: [SERVICE_ACCOUNT_ISSUER], sub, iat: now, nbf: now, exp: now + (options.lifetimeS ?? 3600) })}`;
  const signature = sign(hash, Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${signature.toString('base64url')}`;
}
