// node_exporter textfile output with x509-certificate-exporter's metric names
// and labels, so existing dashboards and alerts work unchanged.
import type { CheckReport } from './check.js';

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function commonName(distinguishedName: string | null): string {
  return /(?:^|, )CN=((?:\\.|[^,])*)/.exec(distinguishedName ?? '')?.[1]?.replace(/\\(.)/g, '$1') ?? '';
}

export function prometheusText(report: CheckReport): string {
  const metrics = {
    x509_cert_not_after: { help: 'Certificate not-after time, seconds since epoch', samples: [] as string[] },
    x509_cert_not_before: { help: 'Certificate not-before time, seconds since epoch', samples: [] as string[] },
    x509_cert_expired: { help: 'Whether the certificate has expired (1) or not (0)', samples: [] as string[] },
  };
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
    const labelText = Object.entries(labels)
      .map(([name, value]) => `${name}="${escapeLabel(value)}"`)
      .join(',');
    const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    metrics.x509_cert_not_after.samples.push(`x509_cert_not_after{${labelText}} ${seconds(entry.notAfter)}`);
    metrics.x509_cert_not_before.samples.push(`x509_cert_not_before{${labelText}} ${seconds(entry.notBefore)}`);
    metrics.x509_cert_expired.samples.push(`x509_cert_expired{${labelText}} ${Date.parse(entry.notAfter) <= Date.parse(report.now) ? 1 : 0}`);
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
