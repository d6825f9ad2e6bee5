// Scenarios 1 and 2, setup (never timed): a sandbox kubeadm tree (RSA 2048)
// and, per leaf certificate, everything the contenders need.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate, type Certificate } from '../../lib/index.js';
import { CERTIFICATE_AUTHORITIES, KUBECONFIGS, LEAF_CERTIFICATES, type CaName } from '../../lib/catalogue/kubeadm.js';
import { buildSandboxTree } from '../../lib/ops/sandbox/sandbox.js';
import { writeTree } from '../../lib/host/tree.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE } from '../../lib/host/fs.js';
import { run } from './measure.js';
import { attr, hostsOf, type Expected } from './verify.js';
import { extFileText, profileOf, type CfsslProfile } from './x509-ext.js';

export interface Job {
  name: string;
  crt: string;
  key: string;
  caCrt: string;
  caKey: string;
  old: Certificate;
  oldSpki: Buffer;
  /** openssl x509 -extfile with the old certificate's SANs and usages. */
  extFile: string;
  /** CSR made from the old cert + key (openssl x509 -x509toreq), for cfssl sign. */
  reuseCsr: string;
  /** cfssl CSR JSON with the cert's CN/O/hosts and a new RSA-2048 key. */
  csrJson: string;
  /** openssl req -subj. */
  subj: string;
  hosts: string[];
  profile: CfsslProfile;
}

export const outName = (job: Job) => job.name.replace(/\W+/g, '-');

/** Build the sandbox tree and everything the contenders need, outside any timed region. */
export async function prepareKubeadmSet(work: string): Promise<{ jobs: Job[]; tree: string }> {
  const tree = join(work, 'tree');
  writeTree(tree, await buildSandboxTree({ now: new Date(), key: { algo: 'rsa', size: 2048 } }));
  const pki = join(tree, 'etc/kubernetes/pki');
  const caPaths = (ca: CaName) => {
    const spec = CERTIFICATE_AUTHORITIES.find((entry) => entry.name === ca)!;
    return { caCrt: join(pki, `${spec.baseName}.crt`), caKey: join(pki, `${spec.baseName}.key`) };
  };
  const sources: { name: string; crt: string; key: string; ca: CaName }[] = LEAF_CERTIFICATES.map((leaf) => ({
    name: leaf.name,
    crt: join(pki, `${leaf.baseName}.crt`),
    key: join(pki, `${leaf.baseName}.key`),
    ca: leaf.ca,
  }));
  // The three kubeconfig client certs: cert + key out of the kubeconfig into files.
  const kubeconfigDir = join(work, 'kubeconfig-certs');
  mkdirSync(kubeconfigDir, { recursive: true });
  for (const name of ['admin', 'controller-manager', 'scheduler']) {
    if (!KUBECONFIGS.some((spec) => spec.name === `${name}.conf`)) throw new Error(`no ${name}.conf in the catalogue`);
    const text = readFileSync(join(tree, 'etc/kubernetes', `${name}.conf`), 'utf8');
    const field = (key: string) => {
      const match = new RegExp(`^\\s*${key}: (\\S+)$`, 'm').exec(text);
      if (!match) throw new Error(`${name}.conf has no ${key}`);
      return Buffer.from(match[1]!, 'base64').toString();
    };
    const crt = join(kubeconfigDir, `${name}.crt`);
    const key = join(kubeconfigDir, `${name}.key`);
    writeFileSync(crt, field('client-certificate-data'), { mode: PUBLIC_MODE });
    writeFileSync(key, field('client-key-data'), { mode: PRIVATE_KEY_MODE });
    sources.push({ name: `${name}.conf`, crt, key, ca: 'ca' });
  }
  if (sources.length !== 10) throw new Error(`expected 10 certificates, found ${sources.length}`);

  const inputs = join(work, 'inputs');
  mkdirSync(inputs, { recursive: true });
  const jobs = sources.map((source): Job => {
    const old = parseCertificate(readFileSync(source.crt, 'utf8'));
    const { caCrt, caKey } = caPaths(source.ca);
    const slug = source.name.replace(/\W+/g, '-');
    const extFile = join(inputs, `${slug}.ext`);
    writeFileSync(extFile, extFileText(old));
    const reuseCsr = join(inputs, `${slug}.reuse.csr`);
    run('openssl', ['x509', '-x509toreq', '-in', source.crt, '-signkey', source.key, '-out', reuseCsr], `openssl x509 -x509toreq ${source.name}`);
    const hosts = hostsOf(old);
    const organizations = attr(old, 'O');
    const commonName = old.commonName!;
    const csrJson = join(inputs, `${slug}-csr.json`);
    writeFileSync(
      csrJson,
      JSON.stringify({ CN: commonName, names: organizations.map((O) => ({ O })), hosts, key: { algo: 'rsa', size: 2048 } }, null, 2),
    );
    const subj = [...organizations.map((o) => `/O=${o}`), `/CN=${commonName}`].join('');
    return {
      name: source.name,
      crt: source.crt,
      key: source.key,
      caCrt,
      caKey,
      old,
      oldSpki: old.spkiDer,
      extFile,
      reuseCsr,
      csrJson,
      subj,
      hosts,
      profile: profileOf(old),
    };
  });
  return { jobs, tree };
}

export function expectedFor(jobs: Job[], dir: string, keyName: (job: Job) => string, crtName: (job: Job) => string, reused: boolean): Expected[] {
  return jobs.map((job) => ({
    crt: join(dir, crtName(job)),
    key: keyName(job),
    caCrt: job.caCrt,
    commonName: job.old.commonName!,
    organizations: attr(job.old, 'O'),
    hosts: job.hosts,
    extKeyUsage: job.old.extKeyUsage,
    spki: reused ? { equals: job.oldSpki } : { differsFrom: job.oldSpki },
  }));
}
