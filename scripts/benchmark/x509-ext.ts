// What an operator tells openssl and cfssl to keep a certificate's identity:
// the -extfile (usages, SANs) and the cfssl profile, read off the old cert.
import type { Certificate } from '../../lib/index.js';

const OPENSSL_KU: Record<string, string> = {
  'digital signature': 'digitalSignature',
  'content commitment': 'nonRepudiation',
  'key encipherment': 'keyEncipherment',
  'data encipherment': 'dataEncipherment',
  'key agreement': 'keyAgreement',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
};
const OPENSSL_EKU: Record<string, string> = { 'server auth': 'serverAuth', 'client auth': 'clientAuth' };

export type CfsslProfile = 'server' | 'client' | 'peer';

/** openssl x509 -extfile text with the old certificate's usages, SANs and key identifiers. */
export function extFileText(certificate: Certificate): string {
  const lines = [
    'basicConstraints = critical, CA:FALSE',
    `keyUsage = critical, ${certificate.keyUsage.map((name) => OPENSSL_KU[name]).join(', ')}`,
    `extendedKeyUsage = ${certificate.extKeyUsage.map((name) => OPENSSL_EKU[name]).join(', ')}`,
  ];
  // Key identifiers as the old cert had them (kubeadm 1.14's CAs have no SKI: openssl 3.0 refuses `keyid` then).
  if (certificate.subjectKeyId) lines.push('subjectKeyIdentifier = hash');
  if (certificate.authorityKeyId) lines.push('authorityKeyIdentifier = keyid');
  const sans = [...certificate.sans.dns.map((dns) => `DNS:${dns}`), ...certificate.sans.ips.map((ip) => `IP:${ip}`)];
  if (sans.length) lines.push(`subjectAltName = ${sans.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The conf/ca-config.json profile with the old certificate's EKUs. */
export function profileOf(certificate: Certificate): CfsslProfile {
  const server = certificate.extKeyUsage.includes('server auth');
  const client = certificate.extKeyUsage.includes('client auth');
  return server && client ? 'peer' : server ? 'server' : 'client';
}
