// Scenario 5, setup and checks (never timed): fresh copies of the real
// kubeadm 1.14 fixture, what each of its 11 certificates must stay (identity,
// key, CA), and the check of a renewed tree, whoever renewed it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate, type Certificate } from '../../lib/index.js';
import { CERTIFICATE_AUTHORITIES, KUBECONFIGS, LEAF_CERTIFICATES, type CaName } from '../../lib/catalogue/kubeadm.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE } from '../../lib/host/fs.js';
import { KUBEADM_FIXTURE } from './constants.js';
import { run } from './measure.js';
import { attr, hostsOf, verifyOutputs, type Expected, type Verification } from './verify.js';
import { extFileText, profileOf, type CfsslProfile } from './x509-ext.js';

export interface RenewalJob {
  /** rescue-kit's name (apiserver, admin.conf, ...), also the slug of work files. */
  name: string;
  /** Under the tree's etc/kubernetes: the cert (pki leaves) or the kubeconfig. */
  file: string;
  /** pki leaves only: the key beside the cert. */
  keyFile?: string;
  kubeconfig: boolean;
  /** Under etc/kubernetes. */
  caCrt: string;
  caKey: string;
  old: Certificate;
  hosts: string[];
  /** Absolute: openssl x509 -extfile (made once, as an operator keeps one per cert). */
  extFile: string;
  profile: CfsslProfile;
}

export const slug = (job: RenewalJob) => job.name.replace(/\W+/g, '-');

/** A fresh copy of the fixture as ROOT/etc/kubernetes, writable (the fixture's files may be read-only). */
export function copyFixture(root: string): string {
  mkdirSync(join(root, 'etc'), { recursive: true });
  run('cp', ['-r', KUBEADM_FIXTURE, join(root, 'etc', 'kubernetes')], 'copy the kubeadm fixture');
  run('chmod', ['-R', 'u+w', root], 'chmod -R u+w');
  return root;
}

const kubeconfigField = (text: string, key: string, where: string) => {
  const match = new RegExp(`^\\s*${key}: (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${where} has no ${key}`);
  return Buffer.from(match[1]!, 'base64').toString();
};

/** The fixture's 7 pki leaves and 4 kubeconfigs, with the -extfile each needs. */
export function renewalJobs(inputs: string): RenewalJob[] {
  mkdirSync(inputs, { recursive: true });
  const caFiles = (ca: CaName) => {
    const spec = CERTIFICATE_AUTHORITIES.find((entry) => entry.name === ca)!;
    return { caCrt: `pki/${spec.baseName}.crt`, caKey: `pki/${spec.baseName}.key` };
  };
  const jobs: RenewalJob[] = [];
  const add = (job: Omit<RenewalJob, 'hosts' | 'extFile' | 'profile'>) => {
    const extFile = join(inputs, `${job.name.replace(/\W+/g, '-')}.ext`);
    writeFileSync(extFile, extFileText(job.old));
    jobs.push({ ...job, hosts: hostsOf(job.old), extFile, profile: profileOf(job.old) });
  };
  for (const leaf of LEAF_CERTIFICATES) {
    const file = `pki/${leaf.baseName}.crt`;
    if (!existsSync(join(KUBEADM_FIXTURE, file))) continue;
    add({ name: leaf.name, file, keyFile: `pki/${leaf.baseName}.key`, kubeconfig: false, ...caFiles(leaf.ca), old: parseCertificate(readFileSync(join(KUBEADM_FIXTURE, file), 'utf8')) });
  }
  for (const spec of KUBECONFIGS) {
    if (!existsSync(join(KUBEADM_FIXTURE, spec.name))) continue;
    const text = readFileSync(join(KUBEADM_FIXTURE, spec.name), 'utf8');
    add({ name: spec.name, file: spec.name, kubeconfig: true, ...caFiles('ca'), old: parseCertificate(kubeconfigField(text, 'client-certificate-data', spec.name)) });
  }
  const leaves = jobs.filter((job) => !job.kubeconfig).length;
  if (leaves !== 7 || jobs.length !== 11) throw new Error(`expected 7 pki leaves + 4 kubeconfigs in the fixture, found ${leaves} + ${jobs.length - leaves}`);
  return jobs;
}

/**
 * Check a renewed tree: every cert verifies against its CA, carries its old key
 * (kubeconfigs: the key still in the kubeconfig), identity and usages, a new
 * validity; and the backup the contender made is there.
 */
export function verifyRenewedTree(label: string, root: string, jobs: RenewalJob[], scratch: string, backup: () => boolean): Verification {
  const dir = join(root, 'etc', 'kubernetes');
  mkdirSync(scratch, { recursive: true });
  const problems: string[] = [];
  const expected: Expected[] = [];
  for (const job of jobs) {
    let crt = join(dir, job.file);
    let key = join(dir, job.keyFile ?? '');
    if (job.kubeconfig) {
      try {
        const text = readFileSync(crt, 'utf8');
        crt = join(scratch, `${slug(job)}.crt`);
        key = join(scratch, `${slug(job)}.key`);
        writeFileSync(crt, kubeconfigField(text, 'client-certificate-data', job.name), { mode: PUBLIC_MODE });
        writeFileSync(key, kubeconfigField(text, 'client-key-data', job.name), { mode: PRIVATE_KEY_MODE });
      } catch (error) {
        problems.push(`${label} ${job.name}: ${(error as Error).message}`);
        continue;
      }
    }
    expected.push({
      crt,
      key,
      caCrt: join(dir, job.caCrt),
      commonName: job.old.commonName!,
      organizations: attr(job.old, 'O'),
      hosts: job.hosts,
      extKeyUsage: job.old.extKeyUsage,
      spki: { equals: job.old.spkiDer },
    });
  }
  const result = verifyOutputs(label, expected);
  if (!backup()) result.problems.push(`${label}: no backup archive`);
  return { checked: jobs.length, ok: result.ok, problems: [...problems, ...result.problems] };
}
