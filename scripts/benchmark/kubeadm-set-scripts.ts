// Scenarios 1 and 2, the operator's loops: openssl and cfssl, one cert after another.
import { join } from 'node:path';
import { CA_CONFIG, LEAF_DAYS } from './constants.js';
import { sh } from './measure.js';
import { outName, type Job } from './kubeadm-set-jobs.js';

export function opensslReuseScript(jobs: Job[], out: string): string {
  const lines = ['set -e'];
  for (const job of jobs) {
    const base = join(out, outName(job));
    lines.push(`openssl x509 -x509toreq -in ${sh(job.crt)} -signkey ${sh(job.key)} -out ${sh(`${base}.csr`)}`);
    lines.push(
      `openssl x509 -req -in ${sh(`${base}.csr`)} -CA ${sh(job.caCrt)} -CAkey ${sh(job.caKey)} -CAcreateserial -days ${LEAF_DAYS} -sha256 -extfile ${sh(job.extFile)} -out ${sh(`${base}.crt`)}`,
    );
  }
  return lines.join('\n');
}

export function cfsslReuseScript(jobs: Job[], out: string): string {
  const lines = ['set -eo pipefail'];
  for (const job of jobs) {
    // x509toreq (OpenSSL 3.0) drops the SANs from the CSR: pass them as -hostname, as an operator must.
    const hostname = job.hosts.length ? ` -hostname ${sh(job.hosts.join(','))}` : '';
    lines.push(
      `cfssl sign -ca ${sh(job.caCrt)} -ca-key ${sh(job.caKey)} -config ${sh(CA_CONFIG)} -profile ${job.profile}${hostname} ${sh(job.reuseCsr)} | cfssljson -bare ${sh(join(out, outName(job)))}`,
    );
  }
  return lines.join('\n');
}

export function opensslNewKeysScript(jobs: Job[], out: string): string {
  const lines = ['set -e'];
  for (const job of jobs) {
    const base = join(out, outName(job));
    lines.push(`openssl req -new -newkey rsa:2048 -nodes -keyout ${sh(`${base}.key`)} -subj ${sh(job.subj)} -out ${sh(`${base}.csr`)} 2>/dev/null`);
    lines.push(
      `openssl x509 -req -in ${sh(`${base}.csr`)} -CA ${sh(job.caCrt)} -CAkey ${sh(job.caKey)} -CAcreateserial -days ${LEAF_DAYS} -sha256 -extfile ${sh(job.extFile)} -out ${sh(`${base}.crt`)}`,
    );
  }
  return lines.join('\n');
}

export function cfsslNewKeysScript(jobs: Job[], out: string): string {
  const lines = ['set -eo pipefail'];
  for (const job of jobs) {
    lines.push(
      `cfssl gencert -ca ${sh(job.caCrt)} -ca-key ${sh(job.caKey)} -config ${sh(CA_CONFIG)} -profile ${job.profile} ${sh(job.csrJson)} | cfssljson -bare ${sh(join(out, outName(job)))}`,
    );
  }
  return lines.join('\n');
}
