// Which legacy token Secrets sa's distrust would break: the signature of each Secret's token checked
// against the old and the new public key (RS256 for RSA sa keys, ES256/ES384 for ECDSA ones), with
// tokens minted the way kube-apiserver signs them (test/helpers/service-account-token.ts).
import { expect } from 'chai';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { resignLine, tokenSecretsOfOldKey } from '../lib/ops/ca/legacy-tokens.js';
import { mintServiceAccountToken } from './helpers/service-account-token.js';

const pair = (options: { rsa?: boolean; curve?: string }) => {
  const { privateKey, publicKey } = options.rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: options.curve! });
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: (publicKey as KeyObject).export({ type: 'spki', format: 'pem' }).toString() };
};
const secret = (name: string, token: string, type = 'kubernetes.io/service-account-token') => ({ kind: 'Secret', type, metadata: { namespace: 'apps', name, annotations: { 'kubernetes.io/service-account.name': 'builder' } }, data: { token: Buffer.from(token).toString('base64') } });

describe('legacy token Secrets of the old service-account key', () => {
  for (const [label, options] of [['RSA (RS256)', { rsa: true }], ['ECDSA P-256 (ES256)', { curve: 'prime256v1' }], ['ECDSA P-384 (ES384)', { curve: 'secp384r1' }]] as const) {
    it(`${label}: a token only the old key signed is listed; one of the new key, another issuer's, a forged one and a non-token Secret are not`, () => {
      const [old, fresh, stranger] = [pair(options), pair(options), pair(options)];
      const oldToken = mintServiceAccountToken(old.key);
      const [head, body] = oldToken.split('.');
      const forged = `${head}.${body}.${mintServiceAccountToken(stranger.key).split('.')[2]}`;
      const objects = [secret('old', oldToken), secret('new', mintServiceAccountToken(fresh.key)), secret('stranger', mintServiceAccountToken(stranger.key)), secret('forged', forged), secret('opaque', oldToken, 'Opaque'), { kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { namespace: 'apps', name: 'pending' }, data: {} }];
      const found = tokenSecretsOfOldKey(objects, [old.pub], fresh.pub);
      expect(found).to.deep.equal([{ namespace: 'apps', name: 'old', serviceAccount: 'builder' }]);
      expect(resignLine(found[0]!)).to.equal(`kubectl -n apps patch secret old --type=json -p '[{"op":"remove","path":"/data/token"}]'`);
    });
  }

  it('an alg that does not fit the key (ES256 header on an RSA signature, "none") is not taken for a signature of it', () => {
    const old = pair({ rsa: true });
    const token = mintServiceAccountToken(old.key);
    const [, body, signature] = token.split('.');
    const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
    const objects = [secret('es', `${header('ES256')}.${body}.${signature}`), secret('none', `${header('none')}.${body}.`), secret('garbage', 'not-a-jwt')];
    expect(tokenSecretsOfOldKey(objects, [old.pub], pair({ rsa: true }).pub)).to.deep.equal([]);
  });
});
