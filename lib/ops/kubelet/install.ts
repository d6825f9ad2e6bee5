// `kubelet install CERT` on a worker: the signed cert must be for this node,
// match the pending key and chain to the tree's CA; then it is written the
// kubelet's way (kubelet-client-<time>.pem + the "current" symlink moved, or
// re-embedded in kubelet.conf) as a renewal run — backed up, journalled,
// restarted, and rolled back if the kubelet's identity does not reach the
// apiserver. `rescue-kit rollback` undoes it like any renew.
import { RescueError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { parseCertificate, parseCertificates } from '../../pki/certificate.js';
import { parsePrivateKey } from '../../pki/keys.js';
import { isIssuedBy, keyMatchesCertificate, validityAt } from '../../pki/verify.js';
import { discover, PKI_DIR } from '../inventory/discover.js';
import { ApplyOptions, ApplyReport, applyRenewPlan, rollBackInto } from '../renewal/apply.js';
import { acquireLock, loadRun } from '../renewal/journal.js';
import { fileChange, kubeconfigChanges } from '../renewal/file-changes.js';
import { summary, type CertificateSummary, type RenewPlan } from '../renewal/renew-plan.js';
import { kubeletReachesApiserver, ApiReach } from './api-reach.js';
import { nodeNameOfSubject, PENDING_KEY } from './node-identity.js';
import { KUBELET_CONF_PATH, readKubeletConf, workerNodeName } from './worker-csr.js';


/** The plan: every check first (nothing is read twice, nothing written), then the kubelet's files as FileChanges. */
export function buildKubeletInstallPlan(host: Host, certPem: string, certSource: string, options: { nodeName?: string; hostname: string }): { plan: RenewPlan; nodeName: string } {
  const now = host.now();
  const conf = readKubeletConf(host);
  const nodeName = workerNodeName(host, conf, options.nodeName, options.hostname);
  const certificate = parseCertificate(certPem);
  const keyPem = host.read(PENDING_KEY);
  if (!keyPem) throw new RescueError('FILE_NOT_FOUND', `no pending key: ${PENDING_KEY} is not there`, { file: host.real(PENDING_KEY), hint: 'make the request on this worker first: rescue-kit kubelet csr (the key stays here; only the CSR travels)' });
  const key = parsePrivateKey(keyPem);
  if (!keyMatchesCertificate(key, certificate)) {
    throw new RescueError('KEY_MISMATCH', `${certSource} is not for this worker's pending key (${PENDING_KEY}); nothing was changed`, { hint: 'sign the CSR this worker made last (kubelet csr replaces the pending key each time it runs)' });
  }
  const certNode = nodeNameOfSubject(certificate.subject, certificate.subjectText, certSource);
  if (certNode !== nodeName) throw new RescueError('INVALID_PEM', `${certSource} is for node ${certNode}, this is ${nodeName}; nothing was changed`, { hint: 'copy each node its own NAME.pem (or pass --node-name if kubelet.conf names the node differently)' });
  if (!certificate.extKeyUsage.includes('client auth') || certificate.isCA) throw new RescueError('INVALID_PEM', `${certSource} is not a client certificate (extended key usage: ${certificate.extKeyUsage.join(', ') || 'none'})`, { hint: 'sign it with rescue-kit kubelet sign' });
  const caText = host.read(`${PKI_DIR}/ca.crt`)?.toString() ?? conf.caPem;
  if (!caText) throw new RescueError('FILE_NOT_FOUND', `no cluster CA on this worker (${PKI_DIR}/ca.crt, or kubelet.conf's certificate-authority-data)`, { hint: 'copy ca.crt from a control plane to /etc/kubernetes/pki/ca.crt' });
  // During a CA rotation ca.crt is a bundle ([old, new] or [new, old]): a cert of either CA it trusts will do.
  const cas = parseCertificates(caText);
  if (!cas.some((ca) => isIssuedBy(certificate, ca))) throw new RescueError('CA_MISMATCH', `${certSource} was not signed by this cluster's CA (${cas[0]!.subjectText}, ${PKI_DIR}/ca.crt${cas.length > 1 ? `, none of its ${cas.length} certificates` : ''}); nothing was changed`, { hint: 'sign the CSR on a control plane of this cluster' });
  const validity = validityAt(certificate, now);
  if (validity !== 'valid') throw new RescueError('PRECONDITION', `${certSource} is ${validity} (${certificate.notBefore.toISOString()} .. ${certificate.notAfter.toISOString()}); nothing was changed`, { hint: validity === 'not-yet-valid' ? 'check this worker\'s clock (timedatectl)' : 'sign a new CSR' });

  const inventory = discover(host);
  const item = inventory.items.find((entry) => entry.name === 'kubelet.conf');
  if (!item) throw new RescueError('FILE_NOT_FOUND', `${KUBELET_CONF_PATH} has no client credentials to replace`, { file: host.real(KUBELET_CONF_PATH) });
  // kubelet.conf's CA data stays as it is (it may be a rotation bundle): only the client credentials change.
  const changes = kubeconfigChanges(host, inventory, item, certificate, { key, fresh: true }, now, conf.caPem ?? caText);
  // The pending key now lives in the new pem (or kubelet.conf): one copy, not two. Rollback puts it back.
  changes.push(fileChange(host, PENDING_KEY, undefined, true, 'the pending key, now inside the installed credentials'));
  const old = item.certificate?.value;
  const missing: CertificateSummary = { subject: '', issuer: '', sans: [], notBefore: '', notAfter: '', serial: '', key: 'none' };
  const plan: RenewPlan = {
    root: host.root,
    createdAt: now.toISOString(),
    items: [{ name: 'kubelet.conf', kind: 'kubeconfig', ca: 'ca', keyAction: 'new', before: old ? summary(old) : missing, after: summary(certificate), differences: [], notes: [] }],
    notRenewed: [],
    changes,
    restart: ['kubelet'],
    warnings: [],
  };
  return { plan, nodeName };
}

export interface KubeletInstallReport extends ApplyReport {
  nodeName: string;
  api?: ApiReach;
}

/** Apply the plan; then the API check, whose failure rolls the run back (unreachable is skipped only with noVerifyApi). */
export async function installKubeletCert(host: Host, plan: RenewPlan, nodeName: string, options: ApplyOptions & { verifyApi: boolean }): Promise<KubeletInstallReport> {
  const started = Date.now();
  const report: KubeletInstallReport = { ...(await applyRenewPlan(host, plan, options)), nodeName };
  if (!report.ok) return report;
  const api = await kubeletReachesApiserver(host, nodeName, { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 1000 });
  report.api = api;
  report.elapsedMs = Date.now() - started;
  if (api.outcome === 'accepted') {
    options.log(`apiserver: ${api.detail}`);
    return report;
  }
  if (api.outcome === 'unreachable' && !options.verifyApi) {
    options.log(`warning: NOT verified: the apiserver is unreachable (${api.detail}); skipped as --no-verify-api asks. Check later: rescue-kit check, kubectl get node ${nodeName}`);
    return report;
  }
  report.ok = false;
  report.failure = `the kubelet's new identity does not reach the apiserver: ${api.detail}${api.outcome === 'unreachable' ? ' (offline on purpose? pass --no-verify-api)' : ''}`;
  options.log(`failed: ${report.failure}; rolling back`);
  const unlock = acquireLock(host);
  try {
    const run = loadRun(host, report.runId);
    run.journal.error = report.failure;
    await rollBackInto(report, host, run, options);
  } finally {
    unlock();
    report.elapsedMs = Date.now() - started;
  }
  return report;
}
