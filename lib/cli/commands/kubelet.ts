// `rescue-kit kubelet csr|sign|install|issue`: workers' kubelet client certs
// without moving private keys (csr on the worker, sign where the CA key is,
// install on the worker), and the break-glass issue from a control plane.
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { RescueError, withFile } from '../../errors.js';
import { PRIVATE_KEY_MODE, PUBLIC_MODE, readText, writeFilesAtomically } from '../../host/fs.js';
import { createHost } from '../../host/host.js';
import { PKI_DIR } from '../../ops/inventory/discover.js';
import { loadSigner } from '../../ops/issue.js';
import { issueForNodes } from '../../ops/kubelet/break-glass.js';
import { buildKubeletInstallPlan, installKubeletCert } from '../../ops/kubelet/install.js';
import { signNodeRequests } from '../../ops/kubelet/node-sign.js';
import { makeWorkerCsr } from '../../ops/kubelet/worker-csr.js';
import { detectRestartMode, RestartMode } from '../../ops/renewal/restart.js';
import { planJson } from '../../ops/renewal/renew-plan.js';
import { parseCsr } from '../../pki/csr.js';
import { parseDuration } from '../../pki/validity.js';
import { renderPlan } from '../../render/plan.js';
import { bold, green, printJson, red, say, table, warn } from '../output.js';
import { version } from '../version.js';
import { confirmOrAbort } from './confirm.js';

export async function kubeletCsr(options: { root: string; nodeName?: string; out?: string; force?: boolean }): Promise<void> {
  const host = createHost({ root: options.root });
  const made = await makeWorkerCsr(host, { nodeName: options.nodeName, hostname: hostname() });
  if (made.replacedPendingKey) warn(`replaced the pending key of an earlier request: a certificate signed for that request can no longer be installed`);
  if (options.out) writeFilesAtomically([{ path: options.out, data: made.csrPem, mode: PUBLIC_MODE }], { overwrite: true });
  else process.stdout.write(made.csrPem);
  say(`CSR for system:node:${made.nodeName} (O=system:nodes)${options.out ? ` written to ${options.out}` : ' on stdout'}; the key stays on this worker: ${host.real(made.keyPath)} (0600)`);
  say(`next: on a control plane, rescue-kit kubelet sign ${options.out ? basename(options.out) : 'FILE.csr'} --out-dir DIR; then here: rescue-kit kubelet install ${made.nodeName}.pem`);
}

interface SignerOptions {
  root: string;
  ca?: string;
  caKey?: string;
  validity: string;
  beyondCa: 'cap' | 'refuse';
}

/** The cluster CA: --ca/--ca-key, else the tree's pki/ca.crt + ca.key. */
function clusterSigner(options: SignerOptions) {
  const host = createHost({ root: options.root });
  if (Boolean(options.ca) !== Boolean(options.caKey)) throw new RescueError('USAGE', '--ca and --ca-key go together');
  return loadSigner(options.ca ?? host.real(`${PKI_DIR}/ca.crt`), options.caKey ?? host.real(`${PKI_DIR}/ca.key`));
}

/** --batch-json: {"ID": "<CSR PEM>", ...} from a file or stdin (the fleet playbook passes a batch this way). */
async function batchRequests(from: string): Promise<{ source: string; csr: ReturnType<typeof parseCsr> }[]> {
  const text = from === '-' ? await new Promise<string>((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8').on('data', (chunk) => (data += chunk)).on('end', () => resolve(data)).on('error', reject);
  }) : readText(from, 'batch of CSRs');
  let batch: unknown;
  try {
    batch = JSON.parse(text);
  } catch (error) {
    throw new RescueError('INVALID_JSON', `--batch-json ${from}: not JSON (${(error as Error).message})`, { hint: 'give {"ID": "-----BEGIN CERTIFICATE REQUEST-----...", ...}' });
  }
  if (!batch || typeof batch !== 'object' || Array.isArray(batch) || Object.values(batch).some((value) => typeof value !== 'string')) {
    throw new RescueError('INVALID_JSON', `--batch-json ${from}: expected an object of ID -> CSR PEM`, { hint: 'give {"ID": "-----BEGIN CERTIFICATE REQUEST-----...", ...}' });
  }
  return Object.entries(batch as Record<string, string>).map(([id, pem]) => ({ source: id, csr: withFile(id, () => parseCsr(pem)) }));
}

export async function kubeletSign(files: string[], options: SignerOptions & { outDir?: string; json?: boolean; batchJson?: string }): Promise<void> {
  if (options.batchJson ? files.length > 0 : files.length === 0) throw new RescueError('USAGE', 'give CSR files, or --batch-json FILE|- (not both)');
  const requests = options.batchJson ? await batchRequests(options.batchJson) : files.map((file) => ({ source: file, csr: withFile(file, () => parseCsr(readText(file, 'certificate request'))) }));
  const issuer = clusterSigner(options);
  const signed = signNodeRequests(requests, issuer, { durationMs: parseDuration(options.validity, '--validity'), now: new Date(), beyondCa: options.beyondCa });
  if (options.batchJson) {
    // Certificates are public: they go back on stdout, ID -> cert, and nothing is written on this host.
    signed.flatMap((entry) => entry.warnings.map((warning) => `${entry.nodeName}: ${warning}`)).forEach(warn);
    printJson(Object.fromEntries(signed.map((entry) => [entry.source, { node: entry.nodeName, certificate: entry.certificate.pem, serial: entry.certificate.serialHex, notAfter: entry.certificate.notAfter.toISOString() }])));
    return say(`signed ${signed.length} kubelet client certs (client auth, no SANs) with ${issuer.certificate.subjectText}`);
  }
  const outputs = signed.map((entry) => ({ ...entry, out: join(options.outDir ?? dirname(entry.source), `${entry.nodeName}.pem`) }));
  // All or nothing: every request was checked above, and every cert lands or none does.
  writeFilesAtomically(outputs.map((entry) => ({ path: entry.out, data: entry.certificate.pem, mode: PUBLIC_MODE })), { overwrite: true });
  signed.flatMap((entry) => entry.warnings.map((warning) => `${entry.nodeName}: ${warning}`)).forEach(warn);
  if (options.json) printJson(outputs.map((entry) => ({ node: entry.nodeName, csr: entry.source, certificate: entry.out, serial: entry.certificate.serialHex, notAfter: entry.certificate.notAfter.toISOString() })));
  else process.stdout.write(`${table(['NODE', 'CERTIFICATE', 'NOT AFTER'], outputs.map((entry) => [entry.nodeName, entry.out, entry.certificate.notAfter.toISOString()]))}\n`);
  say(`signed ${signed.length} kubelet client certs (client auth, no SANs) with ${issuer.certificate.subjectText}`);
}

export interface KubeletInstallOptions {
  root: string;
  nodeName?: string;
  restart: RestartMode | 'auto';
  timeout: string;
  verifyApi: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

export async function kubeletInstall(certFile: string, options: KubeletInstallOptions): Promise<void> {
  const host = createHost({ root: options.root });
  const certPem = readText(certFile, 'certificate');
  const { plan, nodeName } = withFile(certFile, () => buildKubeletInstallPlan(host, certPem, certFile, { nodeName: options.nodeName, hostname: hostname() }));
  if (options.json && options.dryRun) return printJson(planJson(plan));
  (options.json ? process.stderr : process.stdout).write(renderPlan(plan));
  if (options.dryRun) return;
  // A worker runs the kubelet as a systemd unit; "auto" says none where there is no systemctl for it.
  const restart = options.restart === 'auto' ? await detectKubeletRestart(host) : options.restart;
  await confirmOrAbort(options.yes, `install the kubelet client cert for ${nodeName} under ${host.root}${restart !== 'none' ? ' and restart the kubelet' : ''}?`);
  const report = await installKubeletCert(host, plan, nodeName, {
    command: `kubelet install ${certFile}`,
    version: version(),
    restart,
    timeoutMs: parseDuration(options.timeout, '--timeout'),
    etcdBackup: 'skip',
    verifyApi: options.verifyApi,
    log: (message) => say(`  ${message}`),
  });
  if (options.json) printJson({ ...report, plan: planJson(plan) });
  say(`\nbackup: ${report.backup}\nrun: ${report.runId}${report.ok ? `   undo: rescue-kit rollback --root ${options.root} --run ${report.runId}` : ''}\ntotal: ${(report.elapsedMs / 1000).toFixed(2)} s`);
  if (report.ok) return say(green(`\nthe kubelet of ${nodeName} has its new client cert${report.api?.outcome === 'accepted' ? ' and the apiserver accepts it' : ''}`));
  say(red(`\nFAILED: ${report.failure}`));
  if (report.rolledBack) {
    say('rolled back: every file is byte-for-byte as before the run, and the kubelet was restarted again');
    throw new RescueError('FAILED_ROLLED_BACK', `kubelet install failed and was rolled back (${report.failure})`, { hint: 'fix the cause shown above, then run kubelet csr / sign / install again' });
  }
  throw new RescueError('FAILED_ROLLED_BACK', `kubelet install failed and the rollback did NOT fully restore: ${report.rollbackProblems.slice(0, 5).join(', ')}`, { hint: `restore by hand: rescue-kit restore ${report.backup} --root ${options.root}` });
}

async function detectKubeletRestart(host: ReturnType<typeof createHost>): Promise<RestartMode> {
  const mode = await detectRestartMode(host);
  if (mode !== 'none') return mode;
  if ((await host.run('systemctl', ['cat', 'kubelet'], { timeoutMs: 5000 })).exitCode === 0) return 'systemd';
  warn('no kubelet unit found (systemctl cat kubelet): not restarting it; restart the kubelet yourself');
  return 'none';
}

export async function kubeletIssue(options: SignerOptions & { nodes: string; out: string; yes?: boolean }): Promise<void> {
  const names = options.nodes.split(',').map((name) => name.trim()).filter(Boolean);
  if (!names.length) throw new RescueError('USAGE', '--nodes: name at least one node', { hint: '--nodes worker-1,worker-2' });
  const issuer = clusterSigner(options);
  say(bold(red('BREAK-GLASS: the private keys are made HERE, on the control plane, and must travel to the workers.')));
  say(red('Anyone who reads --out can act as these nodes. Prefer, on each worker: rescue-kit kubelet csr -> kubelet sign -> kubelet install.'));
  await confirmOrAbort(options.yes, `make keys and certs for ${names.length} nodes in ${options.out}?`);
  const issued = await issueForNodes(names, issuer, { durationMs: parseDuration(options.validity, '--validity'), now: new Date(), beyondCa: options.beyondCa });
  writeFilesAtomically(issued.map((entry) => ({ path: join(options.out, `${entry.nodeName}.pem`), data: entry.combinedPem, mode: PRIVATE_KEY_MODE })), { overwrite: false });
  process.stdout.write(`${table(['NODE', 'FILE (cert + key, 0600)', 'NOT AFTER'], issued.map((entry) => [entry.nodeName, join(options.out, `${entry.nodeName}.pem`), entry.certificate.notAfter.toISOString()]))}\n`);
  say(red(`keys travel: carry ${options.out} by a trusted channel, then shred it. On each worker (as root):`));
  say('  install -m 0600 NAME.pem /var/lib/kubelet/pki/kubelet-client-$(date -u +%Y-%m-%d-%H-%M-%S).pem');
  say('  ln -sfn /var/lib/kubelet/pki/kubelet-client-<that time>.pem /var/lib/kubelet/pki/kubelet-client-current.pem && systemctl restart kubelet');
}
