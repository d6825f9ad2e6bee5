// rescue-kit's benchmark: ours (in-process) against the shell loops an operator
// would otherwise run with openssl and cfssl, on the same files, in one run.
// Not a test: it prints a table (and JSON with --json).
//
//   scripts/bench [--quick] [--json] [--only reuse|newkeys|ecdsa|ecdsa1000]
//
// Scenario 1: kubeadm's 10 leaf certs re-issued with their existing keys.
// Scenario 2: the same 10 certs with new RSA-2048 keys.
// Scenario 3: 1000 ECDSA P-256 kubelet client certs (ours in a child process so
//             its peak RSS is its own; openssl and cfssl do 50, extrapolated).
//
// `--only ecdsa1000` is the child: it measures our 1000 certificates in this
// process and reports total time and VmHWM (`--only ecdsa` runs scenario 3). The parent adds --ca-dir,
// --out and --json-line so the child signs with the shared CA and its output
// can be verified.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  csrRequestFromJson,
  exportPrivateKeyPem,
  generateCertificate,
  generateKey,
  initCa,
  issueCertificate,
  loadCaConfig,
  parseCertificate,
  parsePrivateKey,
  renewalTemplate,
  spkiDer,
  assertCanSign,
  type Certificate,
  type Signer,
} from '../lib/index.js';
import { CERTIFICATE_AUTHORITIES, KUBECONFIGS, LEAF_CERTIFICATES, type CaName } from '../lib/catalogue/kubeadm.js';
import { buildSandboxTree } from '../lib/ops/sandbox.js';
import { writeTree } from '../lib/host/tree.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically, type FileToWrite } from '../lib/host/fs.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CA_CONFIG = join(ROOT, 'conf', 'ca-config.json');
const DAY = 86_400_000;
const LEAF_DAYS = 365;

// ---------------------------------------------------------------- arguments

interface Args {
  quick: boolean;
  json: boolean;
  /** A scenario of the comparison, or 'ecdsa1000': the child (our 1000 ECDSA certs measured in this process). */
  only?: 'reuse' | 'newkeys' | 'ecdsa' | 'ecdsa1000';
  /** Child mode only: sign with this CA (ca.crt/ca.key), write under --out, print one JSON line. */
  caDir?: string;
  out?: string;
  jsonLine: boolean;
  count: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, json: false, jsonLine: false, count: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next!;
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--json') args.json = true;
    else if (arg === '--json-line') args.jsonLine = true;
    else if (arg === '--ca-dir') args.caDir = value();
    else if (arg === '--out') args.out = value();
    else if (arg === '--count') args.count = Number(value());
    else if (arg === '--only') {
      const only = value();
      if (!['reuse', 'newkeys', 'ecdsa', 'ecdsa1000'].includes(only)) usage(`--only takes reuse, newkeys, ecdsa or ecdsa1000 (got "${only}")`);
      args.only = only as Args['only'];
    } else if (arg === '-h' || arg === '--help') usage();
    else usage(`unknown argument "${arg}"`);
  }
  return args;
}

function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}`);
  console.error('usage: scripts/bench [--quick] [--json] [--only reuse|newkeys|ecdsa|ecdsa1000]');
  console.error('  --quick          one repetition per contender (smoke run)');
  console.error('  --json           also print the results as JSON');
  console.error('  --only reuse     scenario 1 only (kubeadm set, reused keys)');
  console.error('  --only newkeys   scenario 2 only (kubeadm set, new RSA-2048 keys)');
  console.error('  --only ecdsa     scenario 3 only (1000 ECDSA kubelet certs vs openssl/cfssl)');
  console.error('  --only ecdsa1000 no comparison: our 1000 ECDSA certs in this process, with its VmHWM');
  console.error('                   (what scenario 3 runs as a child; --count N, --ca-dir DIR, --out DIR, --json-line)');
  process.exit(problem ? 2 : 0);
}

// ---------------------------------------------------------------- helpers

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtRatio = (ratio: number) => `${ratio < 0.1 ? ratio.toFixed(3) : ratio.toFixed(2)}x`;
const fmtMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const pad = (text: string, width: number) => text.padEnd(width);
const lpad = (text: string, width: number) => text.padStart(width);

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

interface Timing {
  ms: number;
  cpuMs: number;
}

/** Wall and CPU time of `bash script` (the operator's loop); stdout/stderr discarded, exit status checked. */
function timeScript(script: string, what: string): Timing {
  const cpuBefore = childrenCpuMs();
  const start = performance.now();
  const result = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpuBefore };
}

const sh = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

let clockTicks: number | undefined;
/** CPU time (user + system, ms) of this process's waited-for children, from /proc/self/stat (10 ms resolution). */
function childrenCpuMs(): number {
  clockTicks ??= Number(run('getconf', ['CLK_TCK'], 'getconf CLK_TCK').trim()) || 100;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
}

/** CPU time (user + system, ms) of this process, all threads (the libuv pool included). */
function ownCpuMs(since?: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1000;
}

function vmHwmBytes(): number {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

// ---------------------------------------------------------------- the certificate set (scenarios 1 and 2)

interface Job {
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
  profile: 'server' | 'client' | 'peer';
}

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

function hostsOf(certificate: Certificate): string[] {
  return [...certificate.sans.dns, ...certificate.sans.ips];
}

function extFileText(certificate: Certificate): string {
  const lines = [
    'basicConstraints = critical, CA:FALSE',
    `keyUsage = critical, ${certificate.keyUsage.map((name) => OPENSSL_KU[name]).join(', ')}`,
    `extendedKeyUsage = ${certificate.extKeyUsage.map((name) => OPENSSL_EKU[name]).join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  const sans = [...certificate.sans.dns.map((dns) => `DNS:${dns}`), ...certificate.sans.ips.map((ip) => `IP:${ip}`)];
  if (sans.length) lines.push(`subjectAltName = ${sans.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function profileOf(certificate: Certificate): Job['profile'] {
  const server = certificate.extKeyUsage.includes('server auth');
  const client = certificate.extKeyUsage.includes('client auth');
  return server && client ? 'peer' : server ? 'server' : 'client';
}

const attr = (certificate: Certificate, type: string) => certificate.subject.filter((a) => a.type === type).map((a) => a.value);

/** Build the sandbox tree and everything the contenders need, outside any timed region. */
async function prepareKubeadmSet(work: string): Promise<{ jobs: Job[]; tree: string }> {
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

const outName = (job: Job) => job.name.replace(/\W+/g, '-');

// ---------------------------------------------------------------- verification (never timed)

interface Expected {
  crt: string;
  /** The private key file that must match the certificate. */
  key: string;
  caCrt: string;
  commonName: string;
  organizations: string[];
  hosts: string[];
  extKeyUsage: string[];
  /** Reused keys: the SPKI the new cert must carry. New keys: the SPKI it must not carry. */
  spki?: { equals?: Buffer; differsFrom?: Buffer };
}

interface Verification {
  checked: number;
  ok: number;
  problems: string[];
}

function verifyOutputs(label: string, expected: Expected[]): Verification {
  const problems: string[] = [];
  const now = Date.now();
  // openssl verify, one call per CA.
  const byCa = new Map<string, string[]>();
  for (const item of expected) byCa.set(item.caCrt, [...(byCa.get(item.caCrt) ?? []), item.crt]);
  const verified = new Set<string>();
  for (const [caCrt, crts] of byCa) {
    const result = spawnSync('openssl', ['verify', '-CAfile', caCrt, ...crts], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const line of result.stdout.split('\n')) {
      const match = /^(.*): OK$/.exec(line);
      if (match) verified.add(match[1]!);
    }
  }
  const sorted = (values: string[]) => [...values].sort().join(',');
  for (const item of expected) {
    const fail = (why: string) => problems.push(`${label} ${item.crt.split('/').slice(-1)[0]}: ${why}`);
    if (!verified.has(item.crt)) fail('openssl verify did not say OK');
    let certificate: Certificate;
    try {
      certificate = parseCertificate(readFileSync(item.crt, 'utf8'));
    } catch (error) {
      fail(`unreadable (${(error as Error).message})`);
      continue;
    }
    const keySpki = spkiDer(parsePrivateKey(readFileSync(item.key, 'utf8')));
    if (!certificate.spkiDer.equals(keySpki)) fail('certificate does not match its key');
    if (item.spki?.equals && !certificate.spkiDer.equals(item.spki.equals)) fail('key was not reused');
    if (item.spki?.differsFrom && certificate.spkiDer.equals(item.spki.differsFrom)) fail('key was not replaced');
    if (certificate.commonName !== item.commonName) fail(`CN ${certificate.commonName} != ${item.commonName}`);
    if (sorted(attr(certificate, 'O')) !== sorted(item.organizations)) fail(`O [${attr(certificate, 'O')}] != [${item.organizations}]`);
    if (sorted(hostsOf(certificate)) !== sorted(item.hosts)) fail(`SANs [${hostsOf(certificate)}] != [${item.hosts}]`);
    if (sorted(certificate.extKeyUsage) !== sorted(item.extKeyUsage)) fail(`EKU [${certificate.extKeyUsage}] != [${item.extKeyUsage}]`);
    if (certificate.isCA) fail('is a CA');
    if (certificate.notAfter.getTime() < now + (LEAF_DAYS - 2) * DAY) fail(`expires too soon (${certificate.notAfter.toISOString()})`);
    if (certificate.notBefore.getTime() > now) fail('not yet valid');
  }
  const bad = new Set(problems.map((problem) => problem.split(':')[0]));
  return { checked: expected.length, ok: expected.length - bad.size, problems };
}

function expectedFor(jobs: Job[], dir: string, keyName: (job: Job) => string, crtName: (job: Job) => string, reused: boolean): Expected[] {
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

// ---------------------------------------------------------------- contenders, scenarios 1 and 2

interface Phases {
  [phase: string]: number;
}

function loadSignerFromFiles(caCrt: string, caKey: string): Signer {
  const signer = { certificate: parseCertificate(readText(caCrt, 'CA certificate')), key: parsePrivateKey(readText(caKey, 'CA key')) };
  assertCanSign(signer);
  return signer;
}

/** Scenario 1, ours: read, renewalTemplate + issueCertificate with the existing key, write (rescue-kit's atomic writer). */
function oursReuse(jobs: Job[], out: string): Timing & { phases: Phases } {
  mkdirSync(out, { recursive: true });
  const phases: Phases = { 'read+parse': 0, 'template+issue': 0, write: 0 };
  const cpu = process.cpuUsage();
  const start = performance.now();
  const now = new Date();
  const signers = new Map<string, Signer>();
  const files: FileToWrite[] = [];
  for (const job of jobs) {
    let t = performance.now();
    let signer = signers.get(job.caCrt);
    if (!signer) signers.set(job.caCrt, (signer = loadSignerFromFiles(job.caCrt, job.caKey)));
    const old = parseCertificate(readText(job.crt, 'certificate'));
    const key = parsePrivateKey(readText(job.key, 'private key'));
    phases['read+parse']! += performance.now() - t;
    t = performance.now();
    const template = renewalTemplate(old, { durationMs: LEAF_DAYS * DAY });
    const { certificate } = issueCertificate({ template, subjectKey: key, issuer: signer, now });
    phases['template+issue']! += performance.now() - t;
    files.push({ path: join(out, `${outName(job)}.crt`), data: certificate.pem, mode: PUBLIC_MODE });
  }
  const t = performance.now();
  writeFilesAtomically(files);
  phases.write = performance.now() - t;
  return { ms: performance.now() - start, cpuMs: ownCpuMs(cpu), phases };
}

/** Scenario 2, ours: new RSA-2048 keys generated in parallel, same identities, write cert + key. */
async function oursNewKeys(jobs: Job[], out: string): Promise<Timing & { phases: Phases }> {
  mkdirSync(out, { recursive: true });
  const phases: Phases = { 'keys ready at (wall, overlaps read)': 0, 'read+parse': 0, 'template+issue': 0, write: 0 };
  const cpu = process.cpuUsage();
  const start = performance.now();
  const now = new Date();
  const keysPromise = Promise.all(jobs.map(() => generateKey({ algo: 'rsa', size: 2048 })));
  // Read while the thread pool generates keys.
  let t = performance.now();
  const signers = new Map<string, Signer>();
  const olds = jobs.map((job) => {
    if (!signers.has(job.caCrt)) signers.set(job.caCrt, loadSignerFromFiles(job.caCrt, job.caKey));
    return parseCertificate(readText(job.crt, 'certificate'));
  });
  phases['read+parse'] = performance.now() - t;
  const keys = await keysPromise;
  phases['keys ready at (wall, overlaps read)'] = performance.now() - start;
  t = performance.now();
  const files: FileToWrite[] = [];
  jobs.forEach((job, index) => {
    const key = keys[index]!;
    const template = renewalTemplate(olds[index]!, { durationMs: LEAF_DAYS * DAY });
    const { certificate } = issueCertificate({ template, subjectKey: key, issuer: signers.get(job.caCrt)!, now });
    files.push(
      { path: join(out, `${outName(job)}.crt`), data: certificate.pem, mode: PUBLIC_MODE },
      { path: join(out, `${outName(job)}.key`), data: exportPrivateKeyPem(key), mode: PRIVATE_KEY_MODE },
    );
  });
  phases['template+issue'] = performance.now() - t;
  t = performance.now();
  writeFilesAtomically(files);
  phases.write = performance.now() - t;
  return { ms: performance.now() - start, cpuMs: ownCpuMs(cpu), phases };
}

function opensslReuseScript(jobs: Job[], out: string): string {
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

function cfsslReuseScript(jobs: Job[], out: string): string {
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

function opensslNewKeysScript(jobs: Job[], out: string): string {
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

function cfsslNewKeysScript(jobs: Job[], out: string): string {
  const lines = ['set -eo pipefail'];
  for (const job of jobs) {
    lines.push(
      `cfssl gencert -ca ${sh(job.caCrt)} -ca-key ${sh(job.caKey)} -config ${sh(CA_CONFIG)} -profile ${job.profile} ${sh(job.csrJson)} | cfssljson -bare ${sh(join(out, outName(job)))}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- scenario 3: ECDSA P-256 kubelet client certs

const nodeCn = (index: number) => `system:node:node-${index}`;

/** The child: our N certificates in this process. Returns time, phases and VmHWM. */
async function oursEcdsa(count: number, caDir: string | undefined, out: string | undefined) {
  const setupNow = new Date();
  // Setup (untimed): the CA, unless the parent gave one, and the profile.
  let ownTemp: string | undefined;
  if (!caDir) {
    ownTemp = mkdtempSync(join(tmpdir(), 'rescue-kit-bench-child-'));
    caDir = ownTemp;
    const ca = await initCa(csrRequestFromJson({ CN: 'kubernetes', key: { algo: 'ecdsa', size: 256 } }), { now: setupNow });
    writeFilesAtomically([
      { path: join(caDir, 'ca.crt'), data: ca.certificate.pem, mode: PUBLIC_MODE },
      { path: join(caDir, 'ca.key'), data: ca.keyPem, mode: PRIVATE_KEY_MODE },
    ]);
  }
  const outDir = out ?? join(ownTemp ?? mkdtempSync(join(tmpdir(), 'rescue-kit-bench-child-')), 'certs');
  mkdirSync(outDir, { recursive: true });
  const rssBefore = vmHwmBytes();

  const phases: Phases = { 'load CA+profile': 0, 'csr+sign (sync)': 0, write: 0 };
  const cpu = process.cpuUsage();
  const start = performance.now();
  let t = performance.now();
  const issuer = loadSignerFromFiles(join(caDir, 'ca.crt'), join(caDir, 'ca.key'));
  const profile = loadCaConfig(readText(CA_CONFIG, 'CA config'), CA_CONFIG).profile('client');
  phases['load CA+profile'] = performance.now() - t;
  const now = new Date();
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const key = await generateKey({ algo: 'ecdsa', size: 256 });
      let t0 = performance.now();
      const request = csrRequestFromJson({ CN: nodeCn(index), names: [{ O: 'system:nodes' }], key: { algo: 'ecdsa', size: 256 } });
      const generated = await generateCertificate(request, profile, issuer, { now, key });
      phases['csr+sign (sync)']! += performance.now() - t0;
      t0 = performance.now();
      writeFilesAtomically([
        { path: join(outDir, `node-${index}.crt`), data: generated.certificate.pem, mode: PUBLIC_MODE },
        { path: join(outDir, `node-${index}.key`), data: generated.keyPem, mode: PRIVATE_KEY_MODE },
      ]);
      phases.write! += performance.now() - t0;
    }),
  );
  const ms = performance.now() - start;
  const cpuMs = ownCpuMs(cpu);
  phases['rest (keygen wait, event loop)'] = ms - phases['load CA+profile']! - phases['csr+sign (sync)']! - phases.write!;
  const result = { count, ms, cpuMs, certsPerSecond: (count / ms) * 1000, vmHwm: vmHwmBytes(), vmHwmBeforeTimed: rssBefore, rssAtEnd: process.memoryUsage().rss, phases };
  if (ownTemp) rmSync(ownTemp, { recursive: true, force: true });
  else if (!out) rmSync(dirname(outDir), { recursive: true, force: true });
  return result;
}

function opensslEcdsaScript(count: number, caDir: string, extFile: string, out: string): string {
  const lines = ['set -e'];
  for (let index = 0; index < count; index++) {
    const base = join(out, `node-${index}`);
    lines.push(`openssl ecparam -name prime256v1 -genkey -noout -out ${sh(`${base}.key`)}`);
    lines.push(`openssl req -new -key ${sh(`${base}.key`)} -subj ${sh(`/O=system:nodes/CN=${nodeCn(index)}`)} -out ${sh(`${base}.csr`)}`);
    lines.push(
      `openssl x509 -req -in ${sh(`${base}.csr`)} -CA ${sh(join(caDir, 'ca.crt'))} -CAkey ${sh(join(caDir, 'ca.key'))} -CAcreateserial -days ${LEAF_DAYS} -sha256 -extfile ${sh(extFile)} -out ${sh(`${base}.crt`)}`,
    );
  }
  return lines.join('\n');
}

function cfsslEcdsaScript(count: number, caDir: string, csrDir: string, out: string): string {
  const lines = ['set -eo pipefail'];
  for (let index = 0; index < count; index++) {
    lines.push(
      `cfssl gencert -ca ${sh(join(caDir, 'ca.crt'))} -ca-key ${sh(join(caDir, 'ca.key'))} -config ${sh(CA_CONFIG)} -profile client ${sh(join(csrDir, `node-${index}-csr.json`))} | cfssljson -bare ${sh(join(out, `node-${index}`))}`,
    );
  }
  return lines.join('\n');
}

function ecdsaExpected(dir: string, count: number, caCrt: string, keyFile: (index: number) => string, crtFile: (index: number) => string): Expected[] {
  return Array.from({ length: count }, (_, index) => ({
    crt: join(dir, crtFile(index)),
    key: join(dir, keyFile(index)),
    caCrt,
    commonName: nodeCn(index),
    organizations: ['system:nodes'],
    hosts: [],
    extKeyUsage: ['client auth'],
  }));
}

// ---------------------------------------------------------------- the parent

interface ContenderResult {
  runsMs: number[];
  medianMs: number;
  /** CPU time (user + system) of each run and its median: robust against a busy machine, blind to fsync waits. */
  cpuRunsMs: number[];
  medianCpuMs: number;
  certs: number;
  perCertMs: number;
  verification: Verification;
  phases?: Phases;
  vmHwmBytes?: number[];
}

interface ScenarioResult {
  id: 'reuse' | 'newkeys' | 'ecdsa1000';
  title: string;
  contenders: Record<'ours' | 'openssl' | 'cfssl', ContenderResult>;
  ratios: { oursOverOpenssl: number; oursOverCfssl: number; basis: string };
  targets: { name: string; value: string; pass: boolean }[];
  notes: string[];
}

function summarise(timings: Timing[], certs: number, verification: Verification, extra: Partial<ContenderResult> = {}): ContenderResult {
  const runsMs = timings.map((timing) => timing.ms);
  const cpuRunsMs = timings.map((timing) => timing.cpuMs);
  const medianMs = median(runsMs);
  return { runsMs, medianMs, cpuRunsMs, medianCpuMs: median(cpuRunsMs), certs, perCertMs: medianMs / certs, verification, ...extra };
}

function medianPhases(all: Phases[]): Phases {
  const result: Phases = {};
  for (const name of Object.keys(all[0] ?? {})) result[name] = median(all.map((phases) => phases[name] ?? 0));
  return result;
}

function mergeVerification(list: Verification[]): Verification {
  return { checked: list.reduce((n, v) => n + v.checked, 0), ok: list.reduce((n, v) => n + v.ok, 0), problems: list.flatMap((v) => v.problems) };
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function scenarioKubeadm(id: 'reuse' | 'newkeys', jobs: Job[], work: string, reps: number): Promise<ScenarioResult> {
  const reused = id === 'reuse';
  const runs = { ours: [] as Timing[], openssl: [] as Timing[], cfssl: [] as Timing[] };
  const checks = { ours: [] as Verification[], openssl: [] as Verification[], cfssl: [] as Verification[] };
  const phases: Phases[] = [];
  for (let rep = 0; rep < reps; rep++) {
    // Interleaved, so drift on the machine hits every contender alike.
    const dir = (who: string) => join(work, 'out', id, who, `rep-${rep}`);
    progress(`${id}: rep ${rep + 1}/${reps}`);

    const oursOut = dir('ours');
    const ours = reused ? oursReuse(jobs, oursOut) : await oursNewKeys(jobs, oursOut);
    runs.ours.push(ours);
    phases.push(ours.phases);

    const opensslOut = dir('openssl');
    mkdirSync(opensslOut, { recursive: true });
    const opensslScript = join(work, `${id}-openssl-${rep}.sh`);
    writeFileSync(opensslScript, reused ? opensslReuseScript(jobs, opensslOut) : opensslNewKeysScript(jobs, opensslOut));
    runs.openssl.push(timeScript(opensslScript, `${id} openssl loop`));

    const cfsslOut = dir('cfssl');
    mkdirSync(cfsslOut, { recursive: true });
    const cfsslScript = join(work, `${id}-cfssl-${rep}.sh`);
    writeFileSync(cfsslScript, reused ? cfsslReuseScript(jobs, cfsslOut) : cfsslNewKeysScript(jobs, cfsslOut));
    runs.cfssl.push(timeScript(cfsslScript, `${id} cfssl loop`));

    // Outside timing: is every output right?
    checks.ours.push(verifyOutputs('ours', expectedFor(jobs, oursOut, (job) => (reused ? job.key : join(oursOut, `${outName(job)}.key`)), (job) => `${outName(job)}.crt`, reused)));
    checks.openssl.push(verifyOutputs('openssl', expectedFor(jobs, opensslOut, (job) => (reused ? job.key : join(opensslOut, `${outName(job)}.key`)), (job) => `${outName(job)}.crt`, reused)));
    checks.cfssl.push(verifyOutputs('cfssl', expectedFor(jobs, cfsslOut, (job) => (reused ? job.key : join(cfsslOut, `${outName(job)}-key.pem`)), (job) => `${outName(job)}.pem`, reused)));
  }
  const n = jobs.length;
  const ours = summarise(runs.ours, n, mergeVerification(checks.ours), { phases: medianPhases(phases) });
  const openssl = summarise(runs.openssl, n, mergeVerification(checks.openssl));
  const cfssl = summarise(runs.cfssl, n, mergeVerification(checks.cfssl));
  const oursOverOpenssl = ours.medianMs / openssl.medianMs;
  const oursOverCfssl = ours.medianMs / cfssl.medianMs;
  const targets = reused
    ? [
        { name: 'ours/openssl <= 0.5x', value: fmtRatio(oursOverOpenssl), pass: oursOverOpenssl <= 0.5 },
        { name: 'ours/cfssl <= 0.5x', value: fmtRatio(oursOverCfssl), pass: oursOverCfssl <= 0.5 },
      ]
    : [];
  return {
    id,
    title: reused ? `Scenario 1: kubeadm set, ${n} leaf certs, reused keys` : `Scenario 2: kubeadm set, ${n} leaf certs, new RSA-2048 keys`,
    contenders: { ours, openssl, cfssl },
    ratios: { oursOverOpenssl, oursOverCfssl, basis: 'median wall time, same 10 certs' },
    targets,
    notes: reused
      ? [
          'ours: in-process, reads CA/cert/key files, renewalTemplate + issueCertificate, writes via writeFilesAtomically (fsync)',
          'openssl: per cert x509 -x509toreq + x509 -req -extfile (2 processes); cfssl: per cert cfssl sign -hostname SANs | cfssljson -bare (CSR from x509toreq made beforehand)',
        ]
      : [
          'ours: 10 generateKey in parallel (Promise.all, libuv pool), issue, write cert+key via writeFilesAtomically (fsync)',
          'openssl: per cert req -newkey rsa:2048 -nodes + x509 -req -extfile, sequential; cfssl: per cert gencert | cfssljson -bare, sequential',
        ],
  };
}

function runChild(args: string[]): ReturnType<typeof oursEcdsa> extends Promise<infer T> ? T : never {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--only', 'ecdsa1000', '--json-line', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`child (--only ecdsa1000) failed (exit ${result.status}):\n${result.stderr}`);
  const line = result.stdout.trim().split('\n').pop()!;
  return JSON.parse(line);
}

async function scenarioEcdsa(work: string, reps: number): Promise<ScenarioResult> {
  const count = 1000;
  const sample = 50;
  const base = join(work, 'ecdsa');
  const caDir = join(base, 'ca');
  const ca = await initCa(csrRequestFromJson({ CN: 'kubernetes', key: { algo: 'ecdsa', size: 256 } }), { now: new Date() });
  writeFilesAtomically([
    { path: join(caDir, 'ca.crt'), data: ca.certificate.pem, mode: PUBLIC_MODE },
    { path: join(caDir, 'ca.key'), data: ca.keyPem, mode: PRIVATE_KEY_MODE },
  ]);
  const caCrt = join(caDir, 'ca.crt');
  const extFile = join(base, 'client.ext');
  writeFileSync(
    extFile,
    ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment', 'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', ''].join('\n'),
  );
  const csrDir = join(base, 'csr-json');
  mkdirSync(csrDir, { recursive: true });
  for (let index = 0; index < sample; index++) {
    writeFileSync(join(csrDir, `node-${index}-csr.json`), JSON.stringify({ CN: nodeCn(index), names: [{ O: 'system:nodes' }], key: { algo: 'ecdsa', size: 256 } }));
  }

  const runs = { ours: [] as Timing[], openssl: [] as Timing[], cfssl: [] as Timing[] };
  const hwm: number[] = [];
  const childPhases: Phases[] = [];
  const checks = { ours: [] as Verification[], openssl: [] as Verification[], cfssl: [] as Verification[] };
  for (let rep = 0; rep < reps; rep++) {
    progress(`ecdsa1000: rep ${rep + 1}/${reps}`);
    const oursOut = join(base, 'out', 'ours', `rep-${rep}`);
    const child = runChild(['--ca-dir', caDir, '--out', oursOut]);
    runs.ours.push(child);
    hwm.push(child.vmHwm);
    childPhases.push({ ...child.phases, 'VmHWM before timed region (MB)': child.vmHwmBeforeTimed / 1024 / 1024 });
    const written = readdirSync(oursOut).filter((file) => file.endsWith('.crt')).length;
    const oursCheck = verifyOutputs('ours', ecdsaExpected(oursOut, count, caCrt, (i) => `node-${i}.key`, (i) => `node-${i}.crt`));
    if (written !== count) oursCheck.problems.push(`ours: ${written} certificates written, expected ${count}`);
    checks.ours.push(oursCheck);

    const opensslOut = join(base, 'out', 'openssl', `rep-${rep}`);
    mkdirSync(opensslOut, { recursive: true });
    const opensslScript = join(base, `openssl-${rep}.sh`);
    writeFileSync(opensslScript, opensslEcdsaScript(sample, caDir, extFile, opensslOut));
    runs.openssl.push(timeScript(opensslScript, 'ecdsa openssl loop'));
    checks.openssl.push(verifyOutputs('openssl', ecdsaExpected(opensslOut, sample, caCrt, (i) => `node-${i}.key`, (i) => `node-${i}.crt`)));

    const cfsslOut = join(base, 'out', 'cfssl', `rep-${rep}`);
    mkdirSync(cfsslOut, { recursive: true });
    const cfsslScript = join(base, `cfssl-${rep}.sh`);
    writeFileSync(cfsslScript, cfsslEcdsaScript(sample, caDir, csrDir, cfsslOut));
    runs.cfssl.push(timeScript(cfsslScript, 'ecdsa cfssl loop'));
    checks.cfssl.push(verifyOutputs('cfssl', ecdsaExpected(cfsslOut, sample, caCrt, (i) => `node-${i}-key.pem`, (i) => `node-${i}.pem`)));
    // 1000 certs x reps add up; keep only what was verified.
    for (const dir of [oursOut, opensslOut, cfsslOut]) rmSync(dir, { recursive: true, force: true });
  }
  const ours = summarise(runs.ours, count, mergeVerification(checks.ours), { phases: medianPhases(childPhases), vmHwmBytes: hwm });
  const openssl = summarise(runs.openssl, sample, mergeVerification(checks.openssl));
  const cfssl = summarise(runs.cfssl, sample, mergeVerification(checks.cfssl));
  const oursOverOpenssl = ours.perCertMs / openssl.perCertMs;
  const oursOverCfssl = ours.perCertMs / cfssl.perCertMs;
  const peak = Math.max(...hwm);
  return {
    id: 'ecdsa1000',
    title: `Scenario 3: ${count} ECDSA P-256 kubelet client certs (CN system:node:node-N, O system:nodes, profile client), keys generated`,
    contenders: { ours, openssl, cfssl },
    ratios: { oursOverOpenssl, oursOverCfssl, basis: `per-cert time (ours ${count}, openssl/cfssl ${sample} extrapolated)` },
    targets: [
      { name: `${count} ECDSA < 5 s`, value: fmtMs(ours.medianMs), pass: ours.medianMs < 5000 },
      { name: 'peak RSS (VmHWM, worst run) < 150 MB', value: fmtMb(peak), pass: peak < 150 * 1024 * 1024 },
    ],
    notes: [
      'ours: child process `node build/scripts/bench.js --only ecdsa1000`; timed: load CA + profile, 1000 x (generateKey P-256 in parallel, generateCertificate, writeFilesAtomically cert+key); VmHWM is the whole child process (Node + library included)',
      `openssl: per cert ecparam -genkey + req -new + x509 -req -extfile (3 processes); cfssl: per cert gencert | cfssljson -bare; ${sample} certs each, extrapolated per cert`,
    ],
  };
}

// ---------------------------------------------------------------- report

const verifiedText = (v: Verification) => (v.problems.length ? `FAILED ${v.ok}/${v.checked}` : `ok ${v.checked}/${v.checked}`);

function printScenario(result: ScenarioResult): void {
  const { ours, openssl, cfssl } = result.contenders;
  console.log(result.title);
  console.log(
    `  ${pad('contender', 9)} ${lpad('certs', 5)} ${lpad('median', 9)} ${lpad('per cert', 9)} ${lpad('certs/s', 8)} ${lpad('cpu', 9)}  ${pad('runs (wall)', 28)} ${lpad('ours/x', 7)}  verified`,
  );
  const row = (name: 'ours' | 'openssl' | 'cfssl', contender: ContenderResult, ratio?: number) => {
    const runs = contender.runsMs.map(fmtMs).join(', ');
    let line = `  ${pad(name, 9)} ${lpad(String(contender.certs), 5)} ${lpad(fmtMs(contender.medianMs), 9)} ${lpad(fmtMs(contender.perCertMs), 9)} ${lpad((1000 / contender.perCertMs).toFixed(0), 8)} ${lpad(fmtMs(contender.medianCpuMs), 9)}  ${pad(runs, 28)} ${lpad(ratio === undefined ? '' : fmtRatio(ratio), 7)}  ${verifiedText(contender.verification)}`;
    if (contender.vmHwmBytes) line += `; VmHWM ${contender.vmHwmBytes.map(fmtMb).join(', ')}`;
    console.log(line);
  };
  row('ours', ours);
  row('openssl', openssl, result.ratios.oursOverOpenssl);
  row('cfssl', cfssl, result.ratios.oursOverCfssl);
  if (result.id === 'ecdsa1000') {
    console.log(`  extrapolated to ${ours.certs}: openssl ${fmtMs(openssl.perCertMs * ours.certs)}, cfssl ${fmtMs(cfssl.perCertMs * ours.certs)}; ours measured ${fmtMs(ours.medianMs)}`);
  }
  const cpuRatio = (other: ContenderResult) => fmtRatio(ours.medianCpuMs / ours.certs / (other.medianCpuMs / other.certs));
  console.log(`  ratio by ${result.ratios.basis}: ours/openssl ${fmtRatio(result.ratios.oursOverOpenssl)}, ours/cfssl ${fmtRatio(result.ratios.oursOverCfssl)} (lower is better)`);
  console.log(`  same by CPU time (user+sys; ignores fsync waits and machine load): ours/openssl ${cpuRatio(openssl)}, ours/cfssl ${cpuRatio(cfssl)}`);
  for (const target of result.targets) console.log(`  target ${pad(target.name, 38)} ${lpad(target.value, 9)}  ${target.pass ? 'PASS' : 'MISS'}`);
  if (ours.phases) console.log(`  ours phases (median ms): ${Object.entries(ours.phases).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ')}`);
  for (const note of result.notes) console.log(`  - ${note}`);
  for (const contender of [ours, openssl, cfssl]) for (const problem of contender.verification.problems.slice(0, 10)) console.log(`  ! ${problem}`);
  console.log('');
}

const SUMMARY_LABELS: Record<ScenarioResult['id'], string> = {
  reuse: '1 kubeadm set, reused keys (10)',
  newkeys: '2 kubeadm set, new RSA-2048 (10)',
  ecdsa1000: '3 ECDSA kubelet certs, per cert',
};

function printSummary(results: ScenarioResult[], totalMs: number, startupMs: number): void {
  console.log('Summary (median wall time; ratio = ours / other, lower is better)');
  console.log(`  ${pad('scenario', 33)} ${lpad('ours', 9)} ${lpad('openssl', 9)} ${lpad('cfssl', 9)} ${lpad('/openssl', 9)} ${lpad('/cfssl', 8)}  targets`);
  for (const result of results) {
    const { ours, openssl, cfssl } = result.contenders;
    const show = (c: ContenderResult) => fmtMs(result.id === 'ecdsa1000' ? c.perCertMs : c.medianMs);
    const targets = result.targets.map((target) => `${target.name} ${target.value} ${target.pass ? 'PASS' : 'MISS'}`).join('; ') || '(none)';
    console.log(
      `  ${pad(SUMMARY_LABELS[result.id], 33)} ${lpad(show(ours), 9)} ${lpad(show(openssl), 9)} ${lpad(show(cfssl), 9)} ${lpad(fmtRatio(result.ratios.oursOverOpenssl), 9)} ${lpad(fmtRatio(result.ratios.oursOverCfssl), 8)}  ${targets}`,
    );
  }
  const failed = results.flatMap((result) => Object.values(result.contenders)).some((contender) => contender.verification.problems.length);
  console.log(`  all outputs verified (openssl verify + subject/SAN/EKU/key checks): ${failed ? 'NO, see the ! lines' : 'yes'}`);
  console.log(`  for scale: node start + import of rescue-kit = ${fmtMs(startupMs)} (not in "ours", which runs in-process)`);
  console.log(`  whole run: ${(totalMs / 1000).toFixed(1)} s (setup, every repetition, verification)`);
}

function environment(work: string) {
  const opensslVersion = run('openssl', ['version'], 'openssl version').trim();
  const cfsslVersion = run('cfssl', ['version'], 'cfssl version').split('\n').filter(Boolean).map((line) => line.trim()).join(', ');
  const filesystem = run('stat', ['-f', '-c', '%T', work], 'stat -f').trim();
  return {
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    openssl: opensslVersion,
    cfssl: cfsslVersion,
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cpus: availableParallelism(),
    tmp: `${tmpdir()} (${filesystem})`,
    loadAverageAtStart: loadavg(),
    loadAverageAtEnd: [] as number[],
  };
}

function measureStartup(): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, 'build', 'lib', 'index.js'))})`], 'node startup');
    runs.push(performance.now() - start);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));

  // The child (or someone wanting only our ECDSA number): measure in this process.
  if (args.only === 'ecdsa1000') {
    const result = await oursEcdsa(args.count, args.caDir, args.out);
    if (args.jsonLine) console.log(JSON.stringify(result));
    else {
      console.log(`ours: ${result.count} ECDSA P-256 certs in ${fmtMs(result.ms)} (${result.certsPerSecond.toFixed(0)} certs/s, cpu ${fmtMs(result.cpuMs)}), VmHWM ${fmtMb(result.vmHwm)}`);
      console.log(`  phases (ms): ${Object.entries(result.phases).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ')}`);
      if (args.json) console.log(JSON.stringify(result, null, 2));
    }
    return;
  }

  const started = performance.now();
  const reps = args.quick ? 1 : 3;
  const work = mkdtempSync(join(tmpdir(), 'rescue-kit-bench-'));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  try {
    const info = environment(work);
    const wanted = (id: 'reuse' | 'newkeys' | 'ecdsa') => !args.only || args.only === id;
    const results: ScenarioResult[] = [];
    if (wanted('reuse') || wanted('newkeys')) {
      progress('building the sandbox tree (RSA 2048) and the inputs');
      const { jobs } = await prepareKubeadmSet(work);
      if (wanted('reuse')) results.push(await scenarioKubeadm('reuse', jobs, work, reps));
      if (wanted('newkeys')) results.push(await scenarioKubeadm('newkeys', jobs, work, reps));
    }
    if (wanted('ecdsa')) results.push(await scenarioEcdsa(work, reps));
    const startupMs = measureStartup();
    info.loadAverageAtEnd = loadavg();
    const totalMs = performance.now() - started;

    const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
    console.log(`rescue-kit bench: ${reps} repetition${reps > 1 ? 's' : ''} per contender, interleaved; median wall time`);
    console.log(`  node ${info.node} (OpenSSL ${info.nodeOpenssl}); ${info.openssl}; cfssl ${info.cfssl}`);
    console.log(`  ${info.cpus} CPUs (${info.cpu}); temp files in ${info.tmp}; load average ${load(info.loadAverageAtStart)} at start, ${load(info.loadAverageAtEnd)} at end`);
    if (Math.max(info.loadAverageAtStart[0]!, info.loadAverageAtEnd[0]!) > info.cpus) {
      console.log(`  WARNING: the machine was busy (load > ${info.cpus} CPUs): wall times are inflated and noisy; the cpu column is steadier`);
    }
    console.log('');
    for (const result of results) printScenario(result);
    printSummary(results, totalMs, startupMs);
    if (args.json) console.log(JSON.stringify({ reps, environment: info, totalMs, nodeStartupImportMs: startupMs, scenarios: results }, null, 2));
    if (results.some((result) => Object.values(result.contenders).some((contender) => contender.verification.problems.length))) process.exitCode = 1;
  } finally {
    cleanup();
  }
}

main().catch((error) => {
  console.error(`bench: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
