// Scenarios 1 and 2: kubeadm's 10 leaf certs re-issued with their existing
// keys (1), or with new RSA-2048 keys (2); ours in-process against the
// openssl and cfssl loops, interleaved, every output verified.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exportPrivateKeyPem, generateKey, issueCertificate, parseCertificate, parsePrivateKey, renewalTemplate, type Signer } from '../../lib/index.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically, type FileToWrite } from '../../lib/host/fs.js';
import { DAY, LEAF_DAYS } from './constants.js';
import { fmtRatio, progress } from './format.js';
import { expectedFor, outName, type Job } from './kubeadm-set-jobs.js';
import { cfsslNewKeysScript, cfsslReuseScript, opensslNewKeysScript, opensslReuseScript } from './kubeadm-set-scripts.js';
import { ownCpuMs, timeScript, type Timing } from './measure.js';
import { medianPhases, mergeVerification, summarise, type Phases, type ScenarioResult } from './results.js';
import { loadSignerFromFiles } from './signer.js';
import { verifyOutputs, type Verification } from './verify.js';

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

export async function scenarioKubeadm(id: 'reuse' | 'newkeys', jobs: Job[], work: string, reps: number): Promise<ScenarioResult> {
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
