// Scenario 3: 1000 ECDSA P-256 kubelet client certs. Ours runs in a child
// process (`main.js --only ecdsa1000`) so its peak RSS is its own; openssl
// and cfssl do 50 each, extrapolated per cert.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { csrRequestFromJson, generateCertificate, generateKey, initCa, loadCaConfig } from '../../lib/index.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically, type FileToWrite } from '../../lib/host/fs.js';
import { BENCH_MAIN, CA_CONFIG, LEAF_DAYS } from './constants.js';
import { fmtMb, fmtMs, progress } from './format.js';
import { ownCpuMs, runJsonChild, sh, timeScript, vmHwmBytes, type Timing } from './measure.js';
import { medianPhases, mergeVerification, summarise, type Phases, type ScenarioResult } from './results.js';
import { loadSignerFromFiles } from './signer.js';
import { verifyOutputs, type Expected, type Verification } from './verify.js';

const nodeCn = (index: number) => `system:node:node-${index}`;

export type EcdsaChildResult = Awaited<ReturnType<typeof oursEcdsa>>;

/** The child: our N certificates in this process. Returns time, phases and VmHWM. */
export async function oursEcdsa(count: number, caDir: string | undefined, out: string | undefined) {
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
  const files: FileToWrite[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const key = await generateKey({ algo: 'ecdsa', size: 256 });
      const t0 = performance.now();
      const request = csrRequestFromJson({ CN: nodeCn(index), names: [{ O: 'system:nodes' }], key: { algo: 'ecdsa', size: 256 } });
      const generated = await generateCertificate(request, profile, issuer, { now, key });
      phases['csr+sign (sync)']! += performance.now() - t0;
      files.push(
        { path: join(outDir, `node-${index}.crt`), data: generated.certificate.pem, mode: PUBLIC_MODE },
        { path: join(outDir, `node-${index}.key`), data: generated.keyPem, mode: PRIVATE_KEY_MODE },
      );
    }),
  );
  // One durable, all-or-nothing write of the 2000 files through the same primitive every command uses (keys 0600).
  t = performance.now();
  writeFilesAtomically(files);
  phases.write = performance.now() - t;
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

function runChild(args: string[]): EcdsaChildResult {
  return runJsonChild<EcdsaChildResult>(BENCH_MAIN, ['--only', 'ecdsa1000', '--json-line', ...args], 'child (--only ecdsa1000)');
}

export async function scenarioEcdsa(work: string, reps: number): Promise<ScenarioResult> {
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
      'ours: child process `node build/scripts/benchmark/main.js --only ecdsa1000`; timed: load CA + profile, 1000 x (generateKey P-256 in parallel, generateCertificate), then one writeFilesAtomically (prepareWrites: every temp fsynced and size-checked before the renames) of the 2000 cert/key files (each fsynced, keys 0600); VmHWM is the whole child process (Node + library included)',
      `openssl: per cert ecparam -genkey + req -new + x509 -req -extfile (3 processes); cfssl: per cert gencert | cfssljson -bare; ${sample} certs each, extrapolated per cert`,
    ],
  };
}
