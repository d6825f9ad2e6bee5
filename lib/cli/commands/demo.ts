// `rescue-kit demo`: a sandbox kubeadm tree whose leaves expired a month ago,
// then the rescue: every expired leaf re-issued from its CA with its own key,
// keeping subject, SANs and usages, verified against the CA.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERTIFICATE_AUTHORITIES, caSpec, LEAF_CERTIFICATES } from '../../catalogue/kubeadm.js';
import { parseCertificate } from '../../pki/certificate.js';
import { parsePrivateKey } from '../../pki/keys.js';
import { renewalTemplate, identityDifferences } from '../../pki/renewal.js';
import { issueCertificate } from '../../pki/sign.js';
import { formatResidual, parseDuration } from '../../pki/validity.js';
import { validityAt, verifyChain } from '../../pki/verify.js';
import { PUBLIC_MODE, readText, writeFilesAtomically } from '../../host/fs.js';
import { writeTree } from '../../host/tree.js';
import { buildSandboxTree } from '../../ops/sandbox.js';
import { bold, green, red, say, table } from '../output.js';

export async function demo(options: { dir?: string }): Promise<void> {
  const started = Date.now();
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'rescue-kit-demo-'));
  const now = new Date();
  say(bold('1. building a sandbox kubeadm control plane whose certificates expired 30 days ago'));
  writeTree(root, await buildSandboxTree({ now, expiredDaysAgo: 30 }));
  const pki = join(root, 'etc/kubernetes/pki');
  say(`   ${root}/etc/kubernetes (pki, kubeconfigs, manifests)\n`);

  const status = () =>
    LEAF_CERTIFICATES.map((spec) => {
      const certificate = parseCertificate(readText(join(pki, `${spec.baseName}.crt`), spec.name));
      const state = validityAt(certificate, new Date());
      const label = state === 'valid' ? green('OK') : red(state.toUpperCase());
      return [spec.name, certificate.notAfter.toISOString(), formatResidual(certificate.notAfter.getTime() - Date.now()), spec.ca, label];
    });
  say(bold('2. what has expired'));
  say(table(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'STATUS'], status()));

  say(bold('\n3. re-issuing every leaf from its CA, keeping its key, subject, SANs and usages'));
  const cas = new Map(
    CERTIFICATE_AUTHORITIES.map((ca) => [
      ca.name,
      { certificate: parseCertificate(readText(join(pki, `${ca.baseName}.crt`), ca.name)), key: parsePrivateKey(readText(join(pki, `${ca.baseName}.key`), ca.name)) },
    ]),
  );
  const files = LEAF_CERTIFICATES.map((spec) => {
    const old = parseCertificate(readText(join(pki, `${spec.baseName}.crt`), spec.name));
    const key = parsePrivateKey(readText(join(pki, `${spec.baseName}.key`), spec.name));
    const issuer = cas.get(spec.ca)!;
    const { certificate } = issueCertificate({ template: renewalTemplate(old, { durationMs: parseDuration('1y') }), subjectKey: key, issuer, now });
    const differences = identityDifferences(old, certificate);
    const chain = verifyChain(certificate, { roots: [issuer.certificate], now });
    say(`   ${chain.ok ? green('✓') : red('✗')} ${spec.name.padEnd(26)} ${certificate.notAfter.toISOString()}  (${caSpec(spec.ca).baseName}.crt)${differences.length ? `  differs: ${differences.join('; ')}` : ''}`);
    return { path: join(pki, `${spec.baseName}.crt`), data: certificate.pem, mode: PUBLIC_MODE };
  });
  writeFilesAtomically(files, { overwrite: true });

  say(bold('\n4. after the rescue'));
  say(table(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'STATUS'], status()));
  say(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s. Files: ${root}/etc/kubernetes`);
  say(`try: openssl verify -CAfile ${pki}/ca.crt ${pki}/apiserver.crt`);
  process.stdout.write(`${root}\n`);
}
