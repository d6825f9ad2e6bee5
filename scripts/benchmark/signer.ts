// A CA (certificate + key) loaded from files, checked able to sign.
import { assertCanSign, parseCertificate, parsePrivateKey, type Signer } from '../../lib/index.js';
import { readText } from '../../lib/host/fs.js';

export function loadSignerFromFiles(caCrt: string, caKey: string): Signer {
  const signer = { certificate: parseCertificate(readText(caCrt, 'CA certificate')), key: parsePrivateKey(readText(caKey, 'CA key')) };
  assertCanSign(signer);
  return signer;
}
