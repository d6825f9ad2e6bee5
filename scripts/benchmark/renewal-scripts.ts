// Scenario 5, the operator's loops over a kubeadm tree: tar czf backup, then
// per pki leaf re-sign with the existing key, per kubeconfig extract the
// client cert and key (sed + base64 -d), re-sign, re-embed (base64 -w0 + sed -i).
import { join } from 'node:path';
import { CA_CONFIG, LEAF_DAYS } from './constants.js';
import { sh } from './measure.js';
import { slug, type RenewalJob } from './renewal-jobs.js';

const extract = (kubeconfig: string, field: string, out: string) => `sed -n 's/^ *${field}: //p' ${sh(kubeconfig)} | base64 -d > ${sh(out)}`;
const embed = (kubeconfig: string, crt: string) => `sed -i "s|^\\( *client-certificate-data:\\).*|\\1 $(base64 -w0 ${sh(crt)})|" ${sh(kubeconfig)}`;

interface Loop {
  /** Where the operator's temporary files go (CSRs, serial file, extracted kubeconfig certs). */
  scratch: string;
  /** The backup archive, tar czf of etc/kubernetes, taken first. */
  backup: string;
}

function preamble(root: string, loop: Loop, shell: string): string[] {
  return [shell, `mkdir -p ${sh(loop.scratch)}`, `tar czf ${sh(loop.backup)} -C ${sh(root)} etc/kubernetes`];
}

/** The cert and key an openssl/cfssl step reads, and where the new cert goes (kubeconfigs: extracted first). */
function sources(root: string, job: RenewalJob, loop: Loop) {
  const dir = join(root, 'etc', 'kubernetes');
  const base = join(loop.scratch, slug(job));
  if (!job.kubeconfig) return { prepare: [], crt: join(dir, job.file), key: join(dir, job.keyFile!), out: join(dir, job.file), finish: [], base };
  const kubeconfig = join(dir, job.file);
  return {
    prepare: [extract(kubeconfig, 'client-certificate-data', `${base}.old.crt`), extract(kubeconfig, 'client-key-data', `${base}.key`)],
    crt: `${base}.old.crt`,
    key: `${base}.key`,
    out: `${base}.crt`,
    finish: [embed(kubeconfig, `${base}.crt`)],
    base,
  };
}

export function opensslRenewalScript(root: string, jobs: RenewalJob[], loop: Loop): string {
  const dir = join(root, 'etc', 'kubernetes');
  const lines = preamble(root, loop, 'set -e');
  for (const job of jobs) {
    const { prepare, crt, key, out, finish, base } = sources(root, job, loop);
    lines.push(...prepare);
    lines.push(`openssl x509 -x509toreq -in ${sh(crt)} -signkey ${sh(key)} -out ${sh(`${base}.csr`)}`);
    lines.push(
      `openssl x509 -req -in ${sh(`${base}.csr`)} -CA ${sh(join(dir, job.caCrt))} -CAkey ${sh(join(dir, job.caKey))} -CAserial ${sh(join(loop.scratch, 'serial'))} -CAcreateserial -days ${LEAF_DAYS} -sha256 -extfile ${sh(job.extFile)} -out ${sh(out)}`,
    );
    lines.push(...finish);
  }
  return lines.join('\n');
}

export function cfsslRenewalScript(root: string, jobs: RenewalJob[], loop: Loop): string {
  const dir = join(root, 'etc', 'kubernetes');
  const lines = preamble(root, loop, 'set -eo pipefail');
  for (const job of jobs) {
    const { prepare, crt, key, out, finish, base } = sources(root, job, loop);
    lines.push(...prepare);
    // cfssl signs a CSR: make it from the existing cert + key (OpenSSL 3.0's x509toreq drops the SANs: -hostname puts them back).
    lines.push(`openssl x509 -x509toreq -in ${sh(crt)} -signkey ${sh(key)} -out ${sh(`${base}.csr`)}`);
    const hostname = job.hosts.length ? ` -hostname ${sh(job.hosts.join(','))}` : '';
    lines.push(
      `cfssl sign -ca ${sh(join(dir, job.caCrt))} -ca-key ${sh(join(dir, job.caKey))} -config ${sh(CA_CONFIG)} -profile ${job.profile}${hostname} ${sh(`${base}.csr`)} | cfssljson -bare ${sh(`${base}.cfssl`)}`,
    );
    lines.push(`cat ${sh(`${base}.cfssl.pem`)} > ${sh(out)}`);
    lines.push(...finish);
  }
  return lines.join('\n');
}
