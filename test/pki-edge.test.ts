// Edge cases found in review: IPv6 zones, an imported P-521 CA, cfssl's max_path_len semantics.
import { expect } from 'chai';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCaConfig } from '../lib/config/ca-config.js';
import { csrRequestFromJson } from '../lib/config/csr-json.js';
import { generateCertificate } from '../lib/config/gencert.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { parsePrivateKey } from '../lib/pki/keys.js';
import { classifyHosts } from '../lib/pki/san.js';
import { tempDir } from './helpers/env.js';


describe('pki edge cases', () => {
  it('refuses an IPv6 zone instead of silently dropping it', () => {
    expect(() => classifyHosts(['fe80::1%eth0'])).to.throw(/IPv6 zone/);
    expect(classifyHosts(['fe80::1']).ips).to.deep.equal(['fe80::1']);
  });

  it('an openssl-made P-521 CA signs with ECDSA-SHA512 (as Go does) and openssl verifies the leaf', async () => {
    const dir = tempDir();
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-subj', '/CN=p521-ca', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    const { readFileSync } = await import('node:fs');
    const issuer = { certificate: parseCertificate(readFileSync(join(dir, 'ca.crt'))), key: parsePrivateKey(readFileSync(join(dir, 'ca.key'))) };
    const profile = loadCaConfig(readFileSync('conf/ca-config.json', 'utf8')).profile('server');
    const leaf = await generateCertificate(csrRequestFromJson({ CN: 'leaf', hosts: ['leaf.example'], key: { algo: 'ecdsa', size: 256 } }), profile, issuer, { now: new Date() });
    writeFileSync(join(dir, 'leaf.pem'), leaf.certificate.pem);
    expect(leaf.certificate.signatureAlgorithmOid).to.equal('1.2.840.10045.4.3.4');
    const verify = await execa('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'leaf.pem')], { reject: false });
    expect(verify.exitCode, String(verify.stderr)).to.equal(0);
  });

  it('max_path_len 0 without max_path_len_zero means no limit (cfssl/Go); with it, exactly 0', () => {
    const config = (constraint: object) =>
      loadCaConfig(JSON.stringify({ signing: { profiles: { ica: { expiry: '1h', usages: ['cert sign'], ca_constraint: { is_ca: true, ...constraint } } } } })).profile('ica');
    expect(config({ max_path_len: 0 }).maxPathLen).to.equal(undefined);
    expect(config({ max_path_len: 0, max_path_len_zero: true }).maxPathLen).to.equal(0);
    expect(config({ max_path_len: 2 }).maxPathLen).to.equal(2);
  });
});
