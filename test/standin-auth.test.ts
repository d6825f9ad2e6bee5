// The stand-ins' authentication pieces on their own (test/fakes/standin-auth.mjs, standin-aggregator.mjs):
// a service-account token signed by openssl (not by our minter) verifies against a two-key sa.pub and
// against no other key; tampered, expired, unsigned and foreign-issuer tokens are refused; the
// ConfigMap merge keeps every unexpired CA (the old one too), drops expired ones and duplicates.
import { expect } from 'chai';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { exportPrivateKeyPem, generateKey } from '../lib/pki/keys.js';
import { emptySans } from '../lib/pki/san.js';
import { parseUsages } from '../lib/pki/extensions.js';
import { issueCertificate } from '../lib/pki/sign.js';
import { repoRoot, tempDir } from './helpers/env.js';
import { mintServiceAccountToken, SERVICE_ACCOUNT_ISSUER } from './helpers/service-account-token.js';

const fake = (name: string): Promise<any> => import(pathToFileURL(join(repoRoot, 'test', 'fakes', name)).href);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const DAY_MS = 86_400_000;

async function selfSignedCa(cn: string, now: Date, durationMs: number): Promise<string> {
  const key = await generateKey({ algo: 'ecdsa', size: 256 });
  return issueCertificate({ template: { subject: { CN: cn }, sans: emptySans(), usages: parseUsages(['cert sign']), isCA: true, durationMs }, subjectKey: key, now }).certificate.pem;
}

describe('apiserver stand-in authentication: service-account tokens and the extension-apiserver-authentication merge', function () {
  this.timeout(30_000);

  it('an RS256 token signed by openssl verifies against a sa.pub holding two keys, and against neither key alone when it is not its signer', async () => {
    const { readServiceAccountKeys, verifyServiceAccountToken } = await fake('standin-auth.mjs');
    const dir = tempDir('rk-standin-auth-');
    const signer = await generateKey({ algo: 'rsa', size: 2048 });
    const other = await generateKey({ algo: 'ecdsa', size: 256 });
    const pub = (key: Awaited<ReturnType<typeof generateKey>>) => createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'signer.key'), exportPrivateKeyPem(signer), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), pub(other) + pub(signer)); // the signer second, as in a rotation's [old, new]
    writeFileSync(join(dir, 'other.pub'), pub(other));
    const now = Math.floor(Date.now() / 1000);
    const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ iss: SERVICE_ACCOUNT_ISSUER, aud: [SERVICE_ACCOUNT_ISSUER], sub: 'system:serviceaccount:kube-system:probe', exp: now + 600 })}`;
    writeFileSync(join(dir, 'head'), head);
    const signed = await execa('openssl', ['dgst', '-sha256', '-sign', join(dir, 'signer.key'), join(dir, 'head')], { encoding: 'buffer' });
    const token = `${head}.${Buffer.from(signed.stdout).toString('base64url')}`;
    const options = { issuers: [SERVICE_ACCOUNT_ISSUER], audiences: [SERVICE_ACCOUNT_ISSUER] };

    const keys = readServiceAccountKeys([join(dir, 'sa.pub')]);
    expect(keys).to.have.length(2);
    expect(verifyServiceAccountToken(token, keys, options).name).to.equal('system:serviceaccount:kube-system:probe');
    expect(() => verifyServiceAccountToken(token, readServiceAccountKeys([join(dir, 'other.pub')]), options)).to.throw(/not verified/);
    const [h, p, s] = token.split('.');
    const forged = `${h}.${b64url({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'system:serviceaccount:kube-system:admin' })}.${s}`;
    expect(() => verifyServiceAccountToken(forged, keys, options)).to.throw(/not verified/);
    expect(() => verifyServiceAccountToken(`${b64url({ alg: 'none' })}.${p}.`, keys, options)).to.throw(/algorithm none/);
    expect(() => verifyServiceAccountToken(token, keys, { ...options, issuers: ['https://elsewhere'] })).to.throw(/issuer/);
  });

  it('ES256 tokens of the minter: accepted while valid, refused once expired (beyond the 60 s leeway) or for another audience', async () => {
    const { verifyServiceAccountToken } = await fake('standin-auth.mjs');
    const key = await generateKey({ algo: 'ecdsa', size: 256 });
    const keys = [createPublicKey(key)];
    const options = { issuers: [SERVICE_ACCOUNT_ISSUER], audiences: [SERVICE_ACCOUNT_ISSUER] };
    const pem = exportPrivateKeyPem(key);
    expect(verifyServiceAccountToken(mintServiceAccountToken(pem), keys, options).groups).to.include('system:serviceaccounts:default');
    expect(() => verifyServiceAccountToken(mintServiceAccountToken(pem, { now: Date.now() - 2 * 3600_000 }), keys, options)).to.throw(/expired/);
    expect(() => verifyServiceAccountToken(mintServiceAccountToken(pem), keys, { ...options, audiences: ['vault'] })).to.throw(/audience/);
  });

  it('the ConfigMap merge (combineCertLists): existing then own, unexpired only, no duplicates — a CA never leaves while valid', async () => {
    const { combineCertLists } = await fake('standin-aggregator.mjs');
    const now = new Date();
    const oldCa = await selfSignedCa('front-proxy-ca', now, 3650 * DAY_MS);
    const newCa = await selfSignedCa('front-proxy-ca', now, 3650 * DAY_MS);
    const expired = await selfSignedCa('front-proxy-ca', new Date(now.getTime() - 2 * DAY_MS), DAY_MS);
    const merged: string = combineCertLists(oldCa + expired, newCa + oldCa);
    const blocks = merged.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
    expect(blocks.map((block) => block.trim())).to.deep.equal([oldCa.trim(), newCa.trim()]);
    expect(combineCertLists(undefined, newCa).trim()).to.equal(newCa.trim());
  });
});
