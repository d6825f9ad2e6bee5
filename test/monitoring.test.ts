// Monitoring: the textfile `check --prometheus` writes passes `promtool check
// metrics`, has a series for every status check knows (not only expiry), the CA
// rotation state and the last check time; conf/prometheus-alerts.yaml passes
// `promtool check rules` and its unit tests; and the real textfile of a broken
// tree, fed to those rules, fires exactly the alerts check's statuses call for.
import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { writeTree } from '../lib/host/tree.js';
import type { CheckReport } from '../lib/ops/inventory/check.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { fixtureRoot, repoRoot, runCli, tempDir } from './helpers/env.js';

const RULES = join(repoRoot, 'conf', 'prometheus-alerts.yaml');
const RULE_TESTS = join(repoRoot, 'test', 'data', 'prometheus-alerts.test.yaml');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition's samples (the textfile has no timestamps). */
function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

const seriesText = (sample: Sample) => `${sample.name}{${Object.entries(sample.labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(',')}}`;

async function checkPrometheus(root: string): Promise<{ text: string; report: CheckReport }> {
  const out = join(tempDir(), 'textfile', 'rescue-kit.prom');
  const result = await runCli(['check', '--root', root, '--prometheus', out, '--json']);
  expect(result.stderr).to.not.match(/internal error/);
  return { text: readFileSync(out, 'utf8'), report: JSON.parse(result.stdout) as CheckReport };
}

async function promtoolCheckMetrics(text: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa('promtool', ['check', 'metrics'], { input: text, reject: false, all: true });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

describe('monitoring: metrics for every problem, alert rules tested with promtool', function () {
  this.timeout(120_000);

  it('conf/prometheus-alerts.yaml passes promtool check rules, with seed 004\'s rule next to ours', async () => {
    const result = await execa('promtool', ['check', 'rules', RULES], { reject: false, all: true });
    expect(result.exitCode, String(result.all)).to.equal(0);
    expect(String(result.all)).to.match(/SUCCESS: \d+ rules found/);
    const rules = parseYaml(readFileSync(RULES, 'utf8')).groups.flatMap((group: { rules: { alert: string; expr: string }[] }) => group.rules);
    const seed = rules.find((rule: { alert: string }) => rule.alert === 'K8sCertificateExpiry');
    expect(seed.expr).to.equal('kubelet_server_certificate_expiration_seconds{job="kubelet"} / 86400 < 30');
    for (const metric of ['rescue_kit_certificate_status{status="MISSING"}', 'status="UNREADABLE"', 'status="KEY-MISMATCH"', 'status="CHAIN-BROKEN"', 'rescue_kit_ca_rotation_in_progress', 'rescue_kit_last_check_timestamp_seconds', 'x509_cert_expired']) {
      expect(rules.some((rule: { expr: string }) => rule.expr.includes(metric)), metric).to.equal(true);
    }
  });

  it('promtool test rules: every rule fires on its bad series and stays quiet on the good ones', async () => {
    const result = await execa('promtool', ['test', 'rules', RULE_TESTS], { reject: false, all: true });
    expect(result.exitCode, String(result.all)).to.equal(0);
    expect(String(result.all)).to.include('SUCCESS');
  });

  it('the rule tests can fail: a rule that watches the wrong status is caught', async () => {
    const dir = tempDir();
    const broken = readFileSync(RULES, 'utf8').replace('rescue_kit_certificate_status{status="MISSING"}', 'rescue_kit_certificate_status{status="GONE"}');
    expect(broken).to.not.equal(readFileSync(RULES, 'utf8'));
    writeFileSync(join(dir, 'rules.yaml'), broken);
    writeFileSync(join(dir, 'tests.yaml'), readFileSync(RULE_TESTS, 'utf8').replace('../../conf/prometheus-alerts.yaml', 'rules.yaml'));
    const result = await execa('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { reject: false, all: true });
    expect(result.exitCode).to.not.equal(0);
    expect(String(result.all)).to.include('alertname: KubernetesCertificateMissing');
  });

  describe('on a real tree with one certificate broken each way (kubeadm 1.14)', () => {
    let root: string;
    let text: string;
    let report: CheckReport;
    const pki = (file: string) => join(root, 'etc/kubernetes/pki', file);
    const started = Date.now();

    before(async () => {
      root = fixtureRoot('kubeadm-1.14-expired');
      rmSync(join(root, 'etc/kubernetes/scheduler.conf'));
      writeFileSync(pki('apiserver.crt'), readFileSync(pki('apiserver.crt')).subarray(0, 300));
      copyFileSync(pki('etcd/server.key'), pki('etcd/peer.key'));
      copyFileSync(pki('apiserver-kubelet-client.crt'), pki('front-proxy-client.crt'));
      copyFileSync(pki('apiserver-kubelet-client.key'), pki('front-proxy-client.key'));
      ({ text, report } = await checkPrometheus(root));
    });

    it('the textfile passes promtool check metrics (no lint problem either)', async () => {
      const result = await promtoolCheckMetrics(text);
      expect(result.exitCode, result.output).to.equal(0);
      expect(result.output.trim()).to.equal('');
    });

    it('one status series per certificate and status, 1 for the status check reports: MISSING, UNREADABLE, KEY-MISMATCH, CHAIN-BROKEN, EXPIRED', () => {
      const statusSeries = samples(text).filter((sample) => sample.name === 'rescue_kit_certificate_status');
      const entries = [...report.authorities, ...report.certificates];
      expect(statusSeries.length).to.equal(entries.length * 8);
      const statusOf = (name: string) => statusSeries.filter((sample) => sample.labels.name === name && sample.value === 1).map((sample) => sample.labels.status);
      expect(statusOf('scheduler.conf')).to.deep.equal(['MISSING']);
      expect(statusOf('apiserver')).to.deep.equal(['UNREADABLE']);
      expect(statusOf('etcd-peer')).to.deep.equal(['KEY-MISMATCH']);
      expect(statusOf('front-proxy-client')).to.deep.equal(['CHAIN-BROKEN']);
      expect(statusOf('etcd-server')).to.deep.equal(['EXPIRED']);
      expect(statusOf('ca')).to.deep.equal(['OK']);
      for (const entry of entries) expect(statusOf(entry.name), entry.name).to.deep.equal([entry.status]);
      const counts = Object.fromEntries(samples(text).filter((sample) => sample.name === 'rescue_kit_certificates').map((sample) => [sample.labels.status, sample.value]));
      expect(counts).to.deep.equal(report.summary);
    });

    it('last check time is this run; no CA rotation in progress', () => {
      const last = samples(text).find((sample) => sample.name === 'rescue_kit_last_check_timestamp_seconds')!;
      expect(last.value * 1000).to.be.within(started - 1000, Date.now() + 1000);
      expect(samples(text).find((sample) => sample.name === 'rescue_kit_ca_rotation_in_progress')!.value).to.equal(0);
      expect(text).to.not.include('rescue_kit_ca_rotation_started_timestamp_seconds');
    });

    it('fed to promtool with our rules, the textfile fires exactly the alerts check\'s statuses call for', async () => {
      // The rules' expressions under test; annotations are covered by the unit tests above.
      const rules = parseYaml(readFileSync(RULES, 'utf8'));
      for (const group of rules.groups) for (const rule of group.rules) delete rule.annotations;
      const dir = tempDir();
      writeFileSync(join(dir, 'rules.yaml'), toYaml(rules));
      const input = samples(text).map((sample) => ({ series: seriesText(sample), values: `${sample.value}x20` }));
      const entries = [...report.authorities, ...report.certificates];
      const expected = (alertname: string, severity: string, status: string) => ({
        eval_time: '15m',
        alertname,
        exp_alerts: entries
          .filter((entry) => entry.status === status)
          .map((entry) => ({ exp_labels: { severity, name: entry.name, kind: entry.kind, ...(entry.path ? { filepath: entry.path } : {}), status } })),
      });
      const expiredSamples = samples(text).filter((sample) => sample.name === 'x509_cert_expired' && sample.value === 1);
      // From check's dates, not from the metric: every readable certificate whose notAfter has passed.
      expect(expiredSamples.map((sample) => sample.labels.filepath).sort()).to.deep.equal(
        entries.filter((entry) => entry.notAfter && Date.parse(entry.notAfter) < Date.now()).map((entry) => entry.path).sort(),
      );
      const tests = {
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: input,
            alert_rule_test: [
              expected('KubernetesCertificateMissing', 'critical', 'MISSING'),
              expected('KubernetesCertificateUnreadable', 'critical', 'UNREADABLE'),
              expected('KubernetesCertificateKeyMismatch', 'critical', 'KEY-MISMATCH'),
              expected('KubernetesCertificateChainBroken', 'critical', 'CHAIN-BROKEN'),
              { eval_time: '15m', alertname: 'KubernetesCertificateExpired', exp_alerts: expiredSamples.map((sample) => ({ exp_labels: { severity: 'critical', ...sample.labels } })) },
              { eval_time: '15m', alertname: 'KubernetesCARotationInProgress', exp_alerts: [] },
            ],
          },
        ],
      };
      expect(tests.tests[0]!.alert_rule_test.slice(0, 4).map((test) => (test as { exp_alerts: unknown[] }).exp_alerts.length)).to.deep.equal([1, 1, 1, 1]);
      writeFileSync(join(dir, 'tests.yaml'), toYaml(tests));
      const result = await execa('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { reject: false, all: true });
      expect(result.exitCode, String(result.all)).to.equal(0);
    });
  });

  it('a CA rotation between start and finish: rescue_kit_ca_rotation_in_progress 1 with its start time, then 0', async () => {
    const root = tempDir();
    writeTree(root, await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: -100 }));
    const before = Date.now();
    const start = await runCli(['ca', 'rotate', '--phase', 'start', '--root', root, '--yes', '--no-etcd-backup']);
    expect(start.exitCode, start.stderr).to.equal(0);
    const during = samples((await checkPrometheus(root)).text);
    expect(during.find((sample) => sample.name === 'rescue_kit_ca_rotation_in_progress')!.value).to.equal(1);
    const since = during.find((sample) => sample.name === 'rescue_kit_ca_rotation_started_timestamp_seconds')!.value * 1000;
    expect(since).to.be.within(before - 2000, Date.now() + 1000);
    const finish = await runCli(['ca', 'rotate', '--phase', 'finish', '--root', root, '--yes', '--no-etcd-backup']);
    expect(finish.exitCode, finish.stderr).to.equal(0);
    const after = await checkPrometheus(root);
    expect(samples(after.text).find((sample) => sample.name === 'rescue_kit_ca_rotation_in_progress')!.value).to.equal(0);
    expect((await promtoolCheckMetrics(after.text)).exitCode).to.equal(0);
  });
});
