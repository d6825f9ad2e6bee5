// node_exporter textfile output. x509-certificate-exporter's metric names and
// labels (x509_cert_*), so existing dashboards and alerts work unchanged, plus
// rescue_kit_* gauges for what an expiry date cannot say: a certificate that is
// missing, unreadable, not matching its key or not signed by its CA, a CA
// rotation left half done, and when the check last ran.
import { CheckEntry, CheckReport, SEVERITY } from './check.js';
import type { CaRotationState } from './ca-rotation.js';

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function commonName(distinguishedName: string | null): string {
  return /(?:^|, )CN=((?:\\.|[^,])*)/.exec(distinguishedName ?? '')?.[1]?.replace(/\\(.)/g, '$1') ?? '';
}

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabel(value)}"`)
    .join(',');
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Metric {
  help: string;
  samples: string[];
}

export interface PrometheusExtras {
  /** Omitted when not known (a --path folder has no kubeadm rotation). */
  caRotation?: CaRotationState;
}

function x509Metrics(report: CheckReport, metrics: Record<string, Metric>): void {
  for (const entry of [...report.authorities, ...report.certificates]) {
    if (!entry.notAfter || !entry.notBefore) continue;
    const labels: Record<string, string> = {
      filepath: entry.path ?? '',
      subject_CN: commonName(entry.subject),
      issuer_CN: commonName(entry.issuer),
      serial_number: entry.serialDecimal ?? '',
    };
    if (entry.kubeconfig?.embedded) {
      labels.embedded_kind = 'user';
      labels.embedded_key = entry.kubeconfig.user ?? '';
    }
    const text = labelText(labels);
    metrics.x509_cert_not_after!.samples.push(`x509_cert_not_after{${text}} ${seconds(entry.notAfter)}`);
    metrics.x509_cert_not_before!.samples.push(`x509_cert_not_before{${text}} ${seconds(entry.notBefore)}`);
    metrics.x509_cert_expired!.samples.push(`x509_cert_expired{${text}} ${Date.parse(entry.notAfter) <= Date.parse(report.now) ? 1 : 0}`);
  }
}

/**
 * One series per certificate and status (1 for the status it has, 0 for the others), so a MISSING or
 * UNREADABLE file — which has no dates, hence no x509_cert_* series — still has a series to alert on,
 * and an alert resolves when the status changes.
 */
function statusMetrics(report: CheckReport, metrics: Record<string, Metric>): void {
  const identity = (entry: CheckEntry) => ({ name: entry.name, kind: entry.kind, filepath: entry.path ?? '' });
  for (const entry of [...report.authorities, ...report.certificates]) {
    for (const status of SEVERITY) {
      metrics.rescue_kit_certificate_status!.samples.push(`rescue_kit_certificate_status{${labelText({ ...identity(entry), status })}} ${entry.status === status ? 1 : 0}`);
    }
  }
  for (const status of SEVERITY) metrics.rescue_kit_certificates!.samples.push(`rescue_kit_certificates{${labelText({ status })}} ${report.summary[status] ?? 0}`);
}

export function prometheusText(report: CheckReport, extras: PrometheusExtras = {}): string {
  const metrics: Record<string, Metric> = {
    x509_cert_not_after: { help: 'Certificate not-after time, seconds since epoch', samples: [] },
    x509_cert_not_before: { help: 'Certificate not-before time, seconds since epoch', samples: [] },
    x509_cert_expired: { help: 'Whether the certificate has expired (1) or not (0)', samples: [] },
    rescue_kit_certificate_status: { help: 'rescue-kit check status of each certificate: 1 for its status (MISSING, UNREADABLE, KEY-MISMATCH, CHAIN-BROKEN, EXPIRED, NOT-YET-VALID, WARN, OK), 0 for the others', samples: [] },
    rescue_kit_certificates: { help: 'Number of certificates (CAs included) per rescue-kit check status', samples: [] },
    rescue_kit_last_check_timestamp_seconds: { help: 'When rescue-kit check last completed and wrote this file, seconds since epoch', samples: [] },
  };
  x509Metrics(report, metrics);
  statusMetrics(report, metrics);
  metrics.rescue_kit_last_check_timestamp_seconds!.samples.push(`rescue_kit_last_check_timestamp_seconds ${seconds(report.now)}`);
  if (extras.caRotation) {
    metrics.rescue_kit_ca_rotation_in_progress = { help: 'Whether a CA rotation is in progress on this tree (var/lib/rescue-kit/ca-rotation.json names an authority, or the legacy pki/ca.old.crt is present): 1 or 0', samples: [`rescue_kit_ca_rotation_in_progress ${extras.caRotation.inProgress ? 1 : 0}`] };
    if (extras.caRotation.since) {
      metrics.rescue_kit_ca_rotation_started_timestamp_seconds = { help: 'When the oldest CA rotation in progress started (its trust phase), seconds since epoch', samples: [`rescue_kit_ca_rotation_started_timestamp_seconds ${seconds(extras.caRotation.since)}`] };
    }
  }
  // One gauge per key file (0 when owner-only), so an alert can fire on `== 1` and a fixed file clears it.
  const keyModes = {
    help: 'Whether the private key file is readable by group or others (1) or owner-only, 0600/0400 (0)',
    samples: report.keyFiles.map((file) => `rescue_kit_key_mode_unsafe{filepath="${escapeLabel(file.path)}"} ${file.unsafe ? 1 : 0}`),
  };
  return Object.entries({ ...metrics, rescue_kit_key_mode_unsafe: keyModes })
    .map(([name, metric]) => [`# HELP ${name} ${metric.help}`, `# TYPE ${name} gauge`, ...metric.samples].join('\n'))
    .join('\n')
    .concat('\n');
}
