// Authentication as the real kube-apiserver does it, for the apiserver stand-in: a union of the x509
// authenticator (a client cert verified against --client-ca-file, done by the TLS layer with
// requestCert on and rejectUnauthorized off) and the service-account token authenticator (a JWT
// verified against every public key of every --service-account-key-file, read once at start as the
// real one does), wrapped like kube-apiserver's authenticator/config.go: a request that presents
// credentials none of them accepts is 401 (a bad token or an unverified cert is never "anonymous");
// one that presents none is system:anonymous, which kubeadm's default RBAC lets read only the health
// endpoints (403 elsewhere); --anonymous-auth=false makes that 401 too.
// Not modelled: bound-token lookups (the pod/secret a token names must exist), token caches, webhooks.
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Every value of a repeated `--name=value` flag (the real --service-account-key-file is a string array). */
export function repeatedFlag(argv, name) {
  return argv.map((arg) => arg.startsWith(`--${name}=`) && arg.slice(name.length + 3)).filter(Boolean);
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/** Every key in the files: public keys, and private ones (the real flag takes both), one KeyObject each. */
export function readServiceAccountKeys(files) {
  const keys = [];
  for (const file of files) {
    const blocks = readFileSync(file, 'utf8').match(PEM_BLOCK) ?? [];
    if (!blocks.length) throw new Error(`${file}: no PEM key in it`);
    for (const block of blocks) keys.push(createPublicKey(block));
  }
  return keys;
}

// The JWS algorithms the apiserver's service-account validator accepts, with what each needs of a key.
const ALGORITHMS = {
  RS256: { hash: 'sha256', type: 'rsa' },
  RS384: { hash: 'sha384', type: 'rsa' },
  RS512: { hash: 'sha512', type: 'rsa' },
  ES256: { hash: 'sha256', type: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', type: 'ec', curve: 'secp384r1' },
  ES512: { hash: 'sha512', type: 'ec', curve: 'secp521r1' },
};
const LEEWAY_S = 60; // go-jose's DefaultLeeway, which the validator uses for exp/nbf

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** The user a service-account JWT names, or a thrown reason it is refused. */
export function verifyServiceAccountToken(token, keys, { issuers = [], audiences = [], now = Date.now() } = {}) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWS compact token');
  const header = b64json(parts[0]);
  const algorithm = ALGORITHMS[header.alg];
  if (!algorithm) throw new Error(`algorithm ${header.alg} not accepted`);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const fits = (key) => key.asymmetricKeyType === algorithm.type && (!algorithm.curve || key.asymmetricKeyDetails?.namedCurve === algorithm.curve);
  const verified = keys.filter(fits).some((key) => verify(algorithm.hash, signed, { key, dsaEncoding: 'ieee-p1363' }, signature));
  if (!verified) throw new Error('token signature not verified by any --service-account-key-file key');
  const claims = b64json(parts[1]);
  const seconds = now / 1000;
  if (typeof claims.exp === 'number' && seconds > claims.exp + LEEWAY_S) throw new Error('token has expired');
  if (typeof claims.nbf === 'number' && seconds < claims.nbf - LEEWAY_S) throw new Error('token not valid yet');
  if (issuers.length && !issuers.includes(claims.iss)) throw new Error(`token issuer ${claims.iss} is not --service-account-issuer`);
  const aud = [claims.aud ?? []].flat();
  if (audiences.length && !aud.some((entry) => audiences.includes(entry))) throw new Error('token audience not accepted');
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? claims['kubernetes.io/serviceaccount/service-account.name'] ?? '');
  if (!match) throw new Error(`token subject ${claims.sub} is not a service account`);
  return { name: claims.sub, groups: ['system:serviceaccounts', `system:serviceaccounts:${match[1]}`, 'system:authenticated'] };
}

/** The authenticator of one stand-in, from its command line (flags map plus raw argv for repeated flags). */
export function createAuthenticator(flags, argv) {
  const keys = readServiceAccountKeys(repeatedFlag(argv, 'service-account-key-file'));
  const issuers = repeatedFlag(argv, 'service-account-issuer');
  const audiences = flags.get('api-audiences')?.split(',') ?? issuers; // the real default: the issuer
  const anonymous = flags.get('anonymous-auth') !== 'false';
  /**
   * {user} when authenticated; {status: 401, reason} when credentials were presented and none verified;
   * {anonymous: true} when nothing was presented (and anonymous auth is on).
   */
  return function authenticate(req) {
    const reasons = [];
    const peer = req.socket.getPeerCertificate();
    if (peer && Object.keys(peer).length) {
      if (req.socket.authorized) return { user: { name: peer.subject?.CN, groups: [peer.subject?.O ?? []].flat() } };
      reasons.push(`client certificate: ${req.socket.authorizationError}`);
    }
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer) {
      try {
        return { user: verifyServiceAccountToken(bearer[1], keys, { issuers, audiences }) };
      } catch (error) {
        reasons.push(`token: ${error.message}`);
      }
    }
    if (reasons.length || !anonymous) return { status: 401, reason: reasons.join('; ') || 'no credentials' };
    return { anonymous: true };
  };
}

/** What kubeadm's default RBAC (system:public-info-viewer) lets system:anonymous read. */
export const anonymousMayRead = (path) => ['/healthz', '/livez', '/readyz', '/version'].includes(path);
