// The audit trail: seed 004's fields on every line, a hash chain that `audit verify`
// checks (edit / delete / reorder / truncate found by line number), exports that
// load (ECS JSON, CSV and SQL into a real sqlite3), a record from every mutating
// command, and two writers at once that never fork the chain.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAuditEntries, redactedCommandLine } from '../lib/ops/audit/audit.js';
import type { AuditRecord, LegacyRecord } from '../lib/ops/audit/record.js';
import { GENESIS } from '../lib/ops/audit/record.js';
import { sha256Hex } from '../lib/pki/digest.js';
import { recordCertManagerFixes } from '../lib/ops/audit/seeds.js';
import { createHost } from '../lib/host/host.js';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { parseCertificate } from '../lib/pki/certificate.js';
import { cliPath, fixtureRoot, repoRoot, runCli, tempDir } from './helpers/env.js';

const logIn = (root: string) => join(root, 'var/lib/rescue-kit/audit.log');
const recordsOf = (log: string) => readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
const renewArgs = (root: string, ...names: string[]) => ['renew', ...names, '--root', root, '--yes', '--no-etcd-backup'];

/** A log of `count` chained lines written by the real appender (one per call, like `count` commands). */
function syntheticLog(count: number, root = tempDir('rk-audit-root-')): { root: string; log: string } {
  const host = createHost({ root, now: () => new Date('2026-03-01T10:00:00Z') });
  for (let index = 1; index <= count; index++) {
    appendAuditEntries(host, { command: 'renew', result: 'ok', runId: `run-${index}` }, [{ action: 'UPDATE', cert: `cert-${index}`, subject: `CN=cert-${index}`, serial: `0${index}ab`, notAfter: '2027-03-01T10:00:00.000Z', path: `/etc/kubernetes/pki/cert-${index}.crt` }]);
  }
  return { root, log: logIn(root) };
}

const lines = (log: string) => readFileSync(log, 'utf8').split('\n').slice(0, -1);
const rewrite = (log: string, content: string[]) => writeFileSync(log, `${content.join('\n')}\n`);

async function verify(args: string[]) {
  const result = await runCli(['audit', 'verify', ...args]);
  return { ...result, findings: result.stdout.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string, string]) };
}

describe('audit log (seed 004)', function () {
  this.timeout(120_000);

  it('renew and rollback: one line per certificate with seed 004 fields, subject, serial, path, host, run, result, command line, backup; 0600; chained', async () => {
    const root = fixtureRoot('kubeadm-1.11-expired');
    const old = parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt')));
    const renew = await runCli(renewArgs(root, 'apiserver', 'admin.conf'), { env: { SUDO_USER: 'alice' } });
    expect(renew.exitCode, renew.stderr).to.equal(0);
    const renewed = parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt')));
    expect((await runCli(['rollback', '--root', root, '--yes'])).exitCode).to.equal(0);
    const log = logIn(root);
    expect(statSync(log).mode & 0o777).to.equal(0o600);
    const records = recordsOf(log);
    expect(records.map((record) => [record.command, record.action, record.cert])).to.deep.equal([
      ['renew', 'UPDATE', 'apiserver'],
      ['renew', 'UPDATE', 'admin.conf'],
      ['rollback', 'UPDATE', 'apiserver'],
      ['rollback', 'UPDATE', 'admin.conf'],
    ]);
    const [apiserver, , back] = records as [AuditRecord, AuditRecord, AuditRecord];
    expect(apiserver).to.include({ v: 2, seq: 1, prev: GENESIS, result: 'ok', subject: 'CN=kube-apiserver', path: '/etc/kubernetes/pki/apiserver.crt', oldSerial: old.serialHex, oldNotAfter: old.notAfter.toISOString() });
    expect(apiserver.serial).to.equal(renewed.serialHex).and.not.equal(old.serialHex);
    expect(apiserver.notAfter).to.equal(renewed.notAfter.toISOString());
    expect(apiserver.operator).to.match(/^alice \(as /);
    expect(apiserver.host).to.be.a('string').and.not.equal('');
    expect(apiserver.commandLine).to.equal(`rescue-kit renew apiserver admin.conf --root ${root} --yes --no-etcd-backup`);
    expect(apiserver.backup).to.match(/pre-renew-.*\.tar\.gz$/);
    expect(Date.parse(apiserver.time)).to.be.closeTo(Date.now(), 120_000);
    // The rollback names the same certificate, now holding the old serial and expiry again.
    expect(back).to.include({ runId: apiserver.runId, serial: old.serialHex, notAfter: old.notAfter.toISOString(), path: apiserver.path });
    // The chain: each line names the sha256 of the one before it.
    const raw = lines(log);
    records.slice(1).forEach((record, index) => expect(record.prev).to.equal(sha256Hex(raw[index]!)));
    expect(readFileSync(log, 'utf8')).to.not.include('PRIVATE KEY');
    const show = await runCli(['audit', 'show', '--root', root, '--cert', 'apiserver', '--json']);
    expect((JSON.parse(show.stdout) as { command: string }[]).map((event) => event.command)).to.deep.equal(['renew', 'rollback']);
    expect((await runCli(['audit', 'verify', '--root', root])).exitCode).to.equal(0);
  });

  describe('audit verify', () => {
    it('passes a clean log (exit 0) and reports an edited line by number (exit 4)', async () => {
      const { log } = syntheticLog(6);
      const clean = await verify(['--log', log]);
      expect(clean.exitCode, clean.stderr).to.equal(0);
      expect(clean.findings).to.deep.equal([]);
      expect(clean.stderr).to.include('audit chain intact');
      const json = JSON.parse((await runCli(['audit', 'verify', '--log', log, '--json'])).stdout) as { ok: boolean; lines: number; chained: number; findings: unknown[] };
      expect(json).to.deep.include({ ok: true, lines: 6, chained: 6, findings: [] });
      const content = lines(log);
      content[2] = content[2]!.replace('"serial":"03ab"', '"serial":"ffff"');
      rewrite(log, content);
      const edited = await verify(['--log', log]);
      expect(edited.exitCode).to.equal(4);
      expect(edited.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['EDITED', 'line 3']]);
      expect(edited.stderr).to.match(/AUDIT|audit chain/);
    });

    it('blames the edited line itself when the edit is to its link, its number, or its JSON', async () => {
      const { log } = syntheticLog(6);
      const content = lines(log);
      const tampered = async (index: number, change: (line: string) => string) => {
        rewrite(log, content.map((line, at) => (at === index ? change(line) : line)));
        return (await verify(['--log', log])).findings.map(([kind, line]) => [kind, line]);
      };
      expect(await tampered(2, (line) => line.replace(/"prev":"[0-9a-f]{4}/, '"prev":"0000'))).to.deep.equal([['EDITED', 'line 3']]);
      expect(await tampered(2, (line) => line.replace('"seq":3', '"seq":30'))).to.deep.equal([['EDITED', 'line 3']]);
      expect(await tampered(2, (line) => line.slice(0, -5))).to.deep.equal([['EDITED', 'line 3']]);
      expect(await tampered(0, (line) => line.replace('"cert":"cert-1"', '"cert":"cert-9"'))).to.deep.equal([['EDITED', 'line 1']]);
      // A copied line slipped in after its original.
      rewrite(log, [content[0]!, content[1]!, content[1]!, ...content.slice(2)]);
      expect((await verify(['--log', log])).findings.map(([kind, line]) => [kind, line])).to.deep.equal([['INSERTED', 'line 3']]);
    });

    it('reports a deleted line, and lines deleted from the start', async () => {
      const { log } = syntheticLog(6);
      const content = lines(log);
      rewrite(log, [...content.slice(0, 2), ...content.slice(3)]);
      const deleted = await verify(['--log', log]);
      expect(deleted.exitCode).to.equal(4);
      expect(deleted.findings).to.deep.equal([['DELETED', 'line 3', 'record #3 deleted (1 line missing before line 3)']]);
      rewrite(log, content.slice(2));
      const head = await verify(['--log', log]);
      expect(head.findings.map(([kind, line, message]) => [kind, line, message])).to.deep.equal([['DELETED', 'line 1', 'records #1-2 deleted (2 lines missing before line 1)']]);
    });

    it('reports reordered lines (and only them: the moved lines are intact)', async () => {
      const { log } = syntheticLog(6);
      const content = lines(log);
      rewrite(log, [content[0]!, content[1]!, content[3]!, content[2]!, content[4]!, content[5]!]);
      const result = await verify(['--log', log]);
      expect(result.exitCode).to.equal(4);
      expect(result.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['REORDERED', 'line 4']]);
      expect(result.findings[0]![2]).to.include('record #3) comes after record #4');
    });

    it('reports a truncated tail against the chain head a backup manifest recorded; a cut mid-line on its own', async () => {
      const { root, log } = syntheticLog(6, fixtureRoot('kubeadm-1.14-expired'));
      const backup = join(tempDir(), 'b.tar.gz');
      const taken = await runCli(['backup', '--root', root, '--no-etcd', '--out', backup]);
      expect(taken.exitCode, taken.stderr).to.equal(0);
      const content = lines(log);
      rewrite(log, content.slice(0, 4));
      // The file alone cannot show a cut tail (every remaining link holds)...
      expect((await verify(['--log', log])).exitCode).to.equal(0);
      // ...the backup's head can.
      const result = await verify(['--root', root, '--backup', backup]);
      expect(result.exitCode).to.equal(4);
      expect(result.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['TRUNCATED', 'line 5']]);
      expect(result.findings[0]![2]).to.match(/saw 6 lines; the log has 4 \(records #5-6 are gone\)/);
      // Cut and written again after the backup: the line the backup ended on no longer matches.
      appendAuditEntries(createHost({ root }), { command: 'renew', result: 'ok' }, [{ action: 'UPDATE', cert: 'x' }, { action: 'UPDATE', cert: 'y' }]);
      const rewritten = await verify(['--root', root, '--backup', backup]);
      expect(rewritten.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['EDITED', 'line 6']]);
      // A line cut in the middle (no newline, not JSON).
      writeFileSync(log, `${content.join('\n')}\n${content[5]!.slice(0, 40)}`);
      const cut = await verify(['--log', log]);
      expect(cut.exitCode).to.equal(4);
      expect(cut.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['TRUNCATED', 'line 7']]);
    });

    it('a complete last line that lost its newline (crash) is reported exactly, exits 0, and the next append repairs it', async () => {
      const { root, log } = syntheticLog(3);
      writeFileSync(log, readFileSync(log, 'utf8').slice(0, -1));
      const result = await verify(['--log', log]);
      expect(result.exitCode).to.equal(0);
      expect(result.findings).to.deep.equal([['MISSING-NEWLINE', 'line 3', 'line 3 is complete but has no newline after it (a crash right after the write?); the next append adds it']]);
      appendAuditEntries(createHost({ root }), { command: 'issue', result: 'ok' }, [{ action: 'CREATE', cert: 'z' }]);
      expect(lines(log)).to.have.length(4);
      expect((await verify(['--log', log])).findings).to.deep.equal([]);
    });

    it('reads older unchained lines (format 1), chains from them, and catches an edit of one', async () => {
      const root = tempDir();
      const log = logIn(root);
      mkdirSync(join(root, 'var/lib/rescue-kit'), { recursive: true });
      const legacy: LegacyRecord[] = [
        { time: '2025-01-02T03:04:05.000Z', runId: 'r1', command: 'renew apiserver', operator: 'bob', host: 'm1', result: 'ok', certificates: [{ name: 'apiserver', action: 'renew', oldSerial: '01', newSerial: '02', oldNotAfter: '2025-01-01T00:00:00.000Z', newNotAfter: '2026-01-01T00:00:00.000Z' }], backup: '/b.tar.gz' },
        { time: '2025-01-02T03:05:00.000Z', runId: 'r1', command: 'rollback of: renew apiserver', operator: 'bob', host: 'm1', result: 'ok', certificates: [{ name: '/etc/kubernetes/pki/apiserver.crt', action: 'rollback' }] },
      ];
      writeFileSync(log, legacy.map((record) => `${JSON.stringify(record)}\n`).join(''), { mode: 0o600 });
      appendAuditEntries(createHost({ root }), { command: 'renew', result: 'ok' }, [{ action: 'UPDATE', cert: 'apiserver' }]);
      const [first] = recordsOf(log).slice(2);
      expect(first).to.include({ seq: 3, prev: sha256Hex(lines(log)[1]!) });
      expect(first!.legacy).to.deep.include({ lines: 2 });
      expect((await verify(['--root', root])).exitCode).to.equal(0);
      const show = JSON.parse((await runCli(['audit', 'show', '--root', root, '--json'])).stdout) as { line: number; action: string; cert: string; serial?: string; operator: string }[];
      expect(show.map((event) => [event.line, event.action, event.cert, event.operator])).to.deep.equal([
        [1, 'UPDATE', 'apiserver', 'bob'],
        [2, 'UPDATE', '/etc/kubernetes/pki/apiserver.crt', 'bob'],
        [3, 'UPDATE', 'apiserver', show[2]!.operator],
      ]);
      expect(show[0]!.serial).to.equal('02');
      const content = lines(log);
      content[0] = content[0]!.replace('"operator":"bob"', '"operator":"eve"');
      rewrite(log, content);
      const edited = await verify(['--root', root]);
      expect(edited.exitCode).to.equal(4);
      expect(edited.findings.map(([kind, line]) => [kind, line])).to.deep.equal([['EDITED', 'line 1']]);
    });
  });

  describe('audit show and export', () => {
    let root: string;
    before(() => {
      root = tempDir();
      const host = createHost({ root, now: () => new Date('2026-02-01T08:00:00Z') });
      appendAuditEntries(host, { command: 'ca rotate start', result: 'ok', runId: 'run-a', backup: '/var/lib/rescue-kit/backups/a.tar.gz' }, [
        { action: 'CREATE', cert: 'ca', subject: 'CN=kubernetes', serial: '7f00aa', notAfter: '2036-02-01T08:00:00.000Z', path: '/etc/kubernetes/pki/ca.crt' },
        { action: 'UPDATE', cert: 'apiserver', subject: 'O=it\'s "ours", CN=kube-apiserver', serial: '1a2b', notAfter: '2027-02-01T08:00:00.000Z', oldSerial: '0c', oldNotAfter: '2026-01-01T00:00:00.000Z', path: '/etc/kubernetes/pki/apiserver.crt', detail: 'a detail with, commas\nand a "newline"' },
      ]);
      const later = createHost({ root, now: () => new Date('2026-03-01T08:00:00Z') });
      appendAuditEntries(later, { command: 'ca rotate finish', result: 'failed', runId: 'run-b' }, [{ action: 'REVOKE', cert: 'ca', subject: 'CN=kubernetes', serial: '0bad', notAfter: '2030-01-01T00:00:00.000Z', path: '/etc/kubernetes/pki/ca.old.crt' }]);
    });

    it('show filters by certificate, action and time', async () => {
      const show = async (...args: string[]) => (JSON.parse((await runCli(['audit', 'show', '--root', root, '--json', ...args])).stdout) as { line: number }[]).map((event) => event.line);
      expect(await show()).to.deep.equal([1, 2, 3]);
      expect(await show('--cert', 'ca')).to.deep.equal([1, 3]);
      expect(await show('--cert', 'apiserver.crt')).to.deep.equal([2]);
      expect(await show('--action', 'revoke')).to.deep.equal([3]);
      expect(await show('--since', '2026-02-15')).to.deep.equal([3]);
      expect(await show('--until', '2026-02-15T00:00:00Z')).to.deep.equal([1, 2]);
      const table = await runCli(['audit', 'show', '--root', root]);
      expect(table.stdout).to.match(/^LINE\s+TIME\s+ACTION\s+CERTIFICATE/);
      expect(table.stdout).to.match(/\n3\s+2026-03-01T08:00:00Z\s+REVOKE\s+ca\s+0bad/);
      expect((await runCli(['audit', 'show', '--root', root, '--since', 'yesterday'])).exitCode).to.equal(2);
    });

    it('ECS: one JSON document per line with the documented Elastic Common Schema fields', async () => {
      const result = await runCli(['audit', 'export', '--format', 'ecs', '--root', root]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const docs = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
      expect(docs).to.have.length(3);
      const [created, updated, revoked] = docs;
      expect(created!['@timestamp']).to.equal('2026-02-01T08:00:00.000Z');
      expect(created!.event).to.deep.include({ kind: 'event', action: 'CREATE', outcome: 'success', type: ['creation'], category: ['configuration'], dataset: 'rescue_kit.audit', sequence: 1 });
      expect(created!.event.hash).to.match(/^[0-9a-f]{64}$/);
      expect(created!.user.name).to.be.a('string');
      expect(created!.host.name).to.be.a('string');
      expect(created!.x509).to.deep.equal({ serial_number: '7F00AA', not_after: '2036-02-01T08:00:00.000Z', subject: { distinguished_name: 'CN=kubernetes', common_name: ['kubernetes'] } });
      expect(created!.file).to.deep.equal({ path: '/etc/kubernetes/pki/ca.crt' });
      expect(created!.labels).to.deep.include({ cert_name: 'ca', run_id: 'run-a', command: 'ca rotate start' });
      expect(created!.process.command_line).to.be.a('string');
      expect(created!.ecs.version).to.match(/^8\./);
      expect(updated!.x509.subject.common_name).to.deep.equal(['kube-apiserver']);
      expect(updated!.rescue_kit).to.deep.include({ old_serial: '0c', backup: '/var/lib/rescue-kit/backups/a.tar.gz' });
      expect(revoked!.event).to.deep.include({ action: 'REVOKE', outcome: 'failure', type: ['deletion'] });
    });

    it('CSV (seed 004 columns, RFC 4180) loads into sqlite3 with .import --csv', async () => {
      const dir = tempDir();
      const csv = (await runCli(['audit', 'export', '--format', 'csv', '--root', root])).stdout;
      expect(csv.split('\r\n')[0]).to.match(/^id,cert_name,action_type,expire_date,operator,created_at,/);
      writeFileSync(join(dir, 'audit.csv'), csv);
      const db = join(dir, 'csv.db');
      const load = await execa('sqlite3', [db, '.import --csv audit.csv cert_audit'], { cwd: dir, reject: false });
      expect(load.exitCode, load.stderr).to.equal(0);
      const rows = await execa('sqlite3', ['-json', db, 'SELECT id, cert_name, action_type, expire_date, operator, created_at, subject, detail FROM cert_audit ORDER BY id']);
      const parsed = JSON.parse(rows.stdout) as Record<string, string>[];
      expect(parsed.map((entry) => [entry.cert_name, entry.action_type, entry.expire_date, entry.created_at])).to.deep.equal([
        ['ca', 'CREATE', '2036-02-01 08:00:00', '2026-02-01 08:00:00'],
        ['apiserver', 'UPDATE', '2027-02-01 08:00:00', '2026-02-01 08:00:00'],
        ['ca', 'REVOKE', '2030-01-01 00:00:00', '2026-03-01 08:00:00'],
      ]);
      expect(parsed[1]!.subject).to.equal('O=it\'s "ours", CN=kube-apiserver');
      expect(parsed[1]!.detail).to.equal('a detail with, commas\nand a "newline"');
    });

    it('SQL (CREATE TABLE IF NOT EXISTS cert_audit + INSERTs) loads into sqlite3, twice into one db only once', async () => {
      const dir = tempDir();
      const sql = (await runCli(['audit', 'export', '--format', 'sql', '--root', root])).stdout;
      expect(sql).to.include('CREATE TABLE IF NOT EXISTS cert_audit (');
      writeFileSync(join(dir, 'audit.sql'), sql);
      const db = join(dir, 'sql.db');
      const load = await execa('sqlite3', [db], { inputFile: join(dir, 'audit.sql'), reject: false });
      expect(load.exitCode, load.stderr).to.equal(0);
      const rows = JSON.parse((await execa('sqlite3', ['-json', db, "SELECT cert_name, action_type, expire_date, operator, subject, detail, old_serial FROM cert_audit WHERE action_type = 'UPDATE'"])).stdout) as Record<string, string | null>[];
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({ cert_name: 'apiserver', expire_date: '2027-02-01 08:00:00', subject: 'O=it\'s "ours", CN=kube-apiserver', detail: 'a detail with, commas\nand a "newline"', old_serial: '0c' });
      expect((await execa('sqlite3', [db, 'SELECT count(*) FROM cert_audit'])).stdout).to.equal('3');
      // A second load is refused by the primary key: no duplicate rows.
      expect((await execa('sqlite3', [db], { inputFile: join(dir, 'audit.sql'), reject: false })).exitCode).to.not.equal(0);
      expect((await execa('sqlite3', [db, 'SELECT count(*) FROM cert_audit'])).stdout).to.equal('3');
    });
  });

  describe('every mutating command appends', () => {
    it('renew, ca renew, ca rotate start (CREATE the new CA) and finish (REVOKE the old), restore, rollback — on a kubeadm 1.11 tree', async () => {
      const root = fixtureRoot('kubeadm-1.11-expired');
      const backup = join(tempDir(), 'before.tar.gz');
      expect((await runCli(['backup', '--root', root, '--no-etcd', '--out', backup])).exitCode).to.equal(0);
      const steps: [string[], string][] = [
        [renewArgs(root, 'front-proxy-client'), 'renew'],
        [['ca', 'renew', 'front-proxy-ca', '--root', root, '--yes', '--no-etcd-backup'], 'ca renew'],
        [['ca', 'rotate', '--phase', 'start', '--root', root, '--yes', '--no-etcd-backup'], 'ca rotate start'],
        [['ca', 'rotate', '--phase', 'finish', '--root', root, '--yes', '--no-etcd-backup'], 'ca rotate finish'],
        [['rollback', '--root', root, '--yes'], 'rollback'],
        [['restore', backup, '--root', root, '--yes'], 'restore'],
      ];
      for (const [args, command] of steps) {
        const before = existsSync(logIn(root)) ? recordsOf(logIn(root)).length : 0;
        const result = await runCli(args);
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
        const added = recordsOf(logIn(root)).slice(before);
        expect(added.length, command).to.be.greaterThan(0);
        expect(added.every((record) => record.command === command && record.result === 'ok'), command).to.equal(true);
      }
      const records = recordsOf(logIn(root));
      const of = (command: string) => records.filter((record) => record.command === command);
      expect(of('renew').map((record) => [record.action, record.cert])).to.deep.equal([['UPDATE', 'front-proxy-client']]);
      expect(of('ca renew').map((record) => [record.action, record.cert])).to.deep.equal([['UPDATE', 'front-proxy-ca']]);
      const start = of('ca rotate start');
      const newCa = start.find((record) => record.action === 'CREATE')!;
      expect(newCa).to.include({ cert: 'ca', path: '/etc/kubernetes/pki/ca.crt' });
      expect(start.filter((record) => record.action === 'UPDATE').map((record) => record.cert)).to.include.members(['apiserver', 'admin.conf']);
      const [revoked] = of('ca rotate finish');
      expect(revoked).to.include({ action: 'REVOKE', cert: 'ca', path: '/etc/kubernetes/pki/ca.old.crt' });
      expect(revoked!.serial).to.not.equal(newCa.serial);
      expect(of('rollback').every((record) => record.action === 'UPDATE' || record.action === 'REVOKE')).to.equal(true);
      expect(of('restore').some((record) => record.cert === 'apiserver.crt' && record.action === 'UPDATE')).to.equal(true);
      expect(of('restore')[0]!.detail).to.equal(`restored from ${backup}`);
      expect(of('restore')[0]!.backup).to.match(/pre-restore\.tar\.gz$/);
      // And the whole history still verifies.
      expect((await runCli(['audit', 'verify', '--root', root, '--backup', backup])).exitCode).to.equal(0);
    });

    it('a renewal killed after its commit records nothing; renew --resume records what it finished (same run id)', async () => {
      const root = fixtureRoot('kubeadm-1.11-expired');
      const crash = await runCli(renewArgs(root, 'apiserver', 'admin.conf'), { env: { RESCUE_KIT_FAILPOINT: 'committed' } });
      expect(crash.exitCode).to.not.equal(0);
      expect(existsSync(logIn(root))).to.equal(false);
      const resume = await runCli(['renew', '--resume', '--yes', '--restart', 'none', '--root', root]);
      expect(resume.exitCode, resume.stderr).to.equal(0);
      const records = recordsOf(logIn(root));
      const now = parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt')));
      expect(records.every((record) => record.command === 'renew' && record.action === 'UPDATE' && record.result === 'ok')).to.equal(true);
      expect(records.map((record) => record.path).sort()).to.deep.equal(['/etc/kubernetes/admin.conf', '/etc/kubernetes/pki/apiserver.crt']);
      expect(records.find((record) => record.path === '/etc/kubernetes/pki/apiserver.crt')).to.include({ serial: now.serialHex, command: 'renew', detail: 'an interrupted run, finished by --resume' });
      expect(new Set(records.map((record) => record.runId)).size).to.equal(1);
    });

    it('the wizard records what it does, as the CLI does (the appends live in ops)', async () => {
      const root = fixtureRoot('kubeadm-1.14-expired');
      const result = await runCli(['wizard', '--root', root, '--action', 'renew-chosen', '--names', 'apiserver', '--restart', 'none', '--yes']);
      expect(result.exitCode, result.stderr).to.equal(0);
      const [record, ...rest] = recordsOf(logIn(root));
      expect(rest).to.deep.equal([]);
      expect(record).to.include({ command: 'renew', action: 'UPDATE', cert: 'apiserver', result: 'ok', commandLine: `rescue-kit wizard --root ${root} --action renew-chosen --names apiserver --restart none --yes` });
      expect(record!.serial).to.equal(parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt'))).serialHex);
    });

    it('kubelet re-mint (kubeadm 1.25, client cert gone): CREATE kubelet.conf', async () => {
      const root = fixtureRoot('kubeadm-1.25-expired');
      const result = await runCli(['renew', '--all', '--restart', 'none', '--yes', '--no-etcd-backup', '--root', root]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const kubelet = recordsOf(logIn(root)).find((record) => record.cert === 'kubelet.conf')!;
      expect(kubelet).to.include({ action: 'CREATE', command: 'renew' });
      expect(kubelet.subject).to.match(/O=system:nodes, CN=system:node:/);
      expect(kubelet.oldSerial).to.equal(undefined);
    });

    it('ca init, issue (files and --json), sign: CREATE with the file written; webhook: CREATE its CA, UPDATE its Secret', async () => {
      const dir = tempDir();
      const log = join(dir, 'audit.log');
      const env = { RESCUE_KIT_AUDIT_LOG: log };
      const run = async (args: string[]) => {
        const result = await runCli(args, { env, cwd: repoRoot });
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
      };
      await run(['ca', 'init', '--csr', 'templates/kubeadm/ca-csr.json', '--out', join(dir, 'ca')]);
      await run(['issue', 'templates/kubeadm/apiserver-csr.json', '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--var', 'NODE_NAME=m1', '--var', 'NODE_IP=10.0.0.5', '--out', join(dir, 'apiserver')]);
      await run(['issue', 'templates/kubeadm/apiserver-csr.json', '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--var', 'NODE_NAME=m1', '--var', 'NODE_IP=10.0.0.5', '--json']);
      await run(['sign', join(dir, 'apiserver.csr'), '--ca', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--out', join(dir, 'signed.pem')]);
      const from = join(dir, 'exported');
      mkdirSync(from);
      writeFileSync(join(from, 'validating.yaml'), 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: hook}\nwebhooks:\n- name: a.example.com\n  clientConfig: {caBundle: b2xk, service: {name: svc, namespace: ns}}\n');
      await run(['webhook', '--namespace', 'ns', '--service', 'svc', '--secret', 'svc-tls', '--webhook-config', 'hook', '--from', from, '--out', join(dir, 'hook')]);
      const records = recordsOf(log);
      expect(records.map((record) => [record.command, record.action, record.cert])).to.deep.equal([
        ['ca init', 'CREATE', 'ca'],
        ['issue', 'CREATE', 'apiserver'],
        ['issue', 'CREATE', 'kube-apiserver'],
        ['sign', 'CREATE', 'signed'],
        ['webhook', 'CREATE', 'ns/svc-tls ca'],
        ['webhook', 'UPDATE', 'ns/svc-tls'],
      ]);
      const issued = parseCertificate(readFileSync(join(dir, 'apiserver.pem')));
      expect(records[1]).to.include({ path: join(dir, 'apiserver.pem'), serial: issued.serialHex, notAfter: issued.notAfter.toISOString(), subject: issued.subjectText });
      expect(records[2]!.path).to.equal('(stdout)');
      expect(records[5]!.path).to.equal(join(dir, 'hook', 'tls.crt'));
      expect((await runCli(['audit', 'verify', '--log', log])).exitCode).to.equal(0);
    });

    it('vcluster reset: REVOKE every certificate of the persisted pki it moves aside', async () => {
      const root = tempDir();
      const files = (await buildSandboxTree({ now: new Date(), key: { algo: 'ecdsa', size: 256 }, expiredDaysAgo: 10 }))
        .filter((file) => file.path.startsWith('etc/kubernetes/pki/'))
        .map((file) => ({ ...file, path: file.path.replace('etc/kubernetes/pki/', 'data/k0s/pki/') }));
      writeTree(root, files);
      const result = await runCli(['vcluster', 'reset', '--root', root, '--data', '/data', '--name', 'team-a', '--namespace', 'vc-team-a', '--yes']);
      expect(result.exitCode, result.stderr).to.equal(0);
      const records = recordsOf(logIn(root));
      expect(records.length).to.be.greaterThan(2);
      expect(records.every((record) => record.command === 'vcluster reset' && record.action === 'REVOKE' && record.backup?.endsWith('.tar.gz'))).to.equal(true);
      expect(records.map((record) => record.path)).to.include('/data/k0s/pki/apiserver.crt');
    });

    it('cert-manager doctor --apply: a failed kubectl step is recorded as failed (real kubectl, no cluster); fixes as UPDATE', async () => {
      const home = tempDir();
      const log = join(home, 'audit.log');
      writeFileSync(join(home, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
      // doctor --apply keeps the objects it deletes in /var/lib/rescue-kit/backups of this host: a private tmpfs there.
      const result = await execa('unshare', [...(process.getuid?.() === 0 ? ['-m'] : ['-rm']), '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /var/lib && exec "$@"', 'sh', 'node', cliPath, 'cert-manager', 'doctor', '--from', join(repoRoot, 'test/data/cert-manager-list.json'), '--apply'], {
        reject: false,
        stdin: 'ignore',
        env: { NO_COLOR: '1', RESCUE_KIT_AUDIT_LOG: log, KUBECONFIG: join(home, 'kubeconfig'), HOME: home },
      });
      expect(result.exitCode, result.stderr).to.equal(6);
      expect(result.stderr).to.match(/kubectl -n \S+ delete certificaterequest .* failed/);
      // The successful path, through the same ops call the command makes.
      const root = tempDir();
      recordCertManagerFixes(createHost({ root }), [{ namespace: 'web', name: 'site', diagnosis: 'failed-request', request: 'site-1', notAfter: '2026-01-01T00:00:00Z' }], 'ok', undefined, () => {});
      expect(recordsOf(logIn(root))[0]).to.include({ cert: 'web/site', action: 'UPDATE', result: 'ok', notAfter: '2026-01-01T00:00:00Z', detail: 'failed-request: deleted request site-1, re-issuance triggered' });
    });
  });

  it('a log that cannot be written is a warning, never a failed (or undone) renewal', async () => {
    const root = fixtureRoot('kubeadm-1.11-expired');
    mkdirSync(logIn(root), { recursive: true }); // a directory where the log should be: every append fails
    const result = await runCli(renewArgs(root, 'apiserver'));
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.match(/warning: the audit log was not written/);
    expect(parseCertificate(readFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt'))).notAfter.getTime()).to.be.greaterThan(Date.now());
  });

  it('two processes appending at once keep one valid chain (lock + O_APPEND)', async () => {
    const root = tempDir();
    const script = join(root, 'append.mjs');
    writeFileSync(
      script,
      `import { appendAuditEntries } from ${JSON.stringify(join(repoRoot, 'build/lib/ops/audit/append.js'))};
import { createHost } from ${JSON.stringify(join(repoRoot, 'build/lib/host/host.js'))};
const host = createHost({ root: process.argv[2] });
for (let i = 0; i < 60; i++) appendAuditEntries(host, { command: 'renew', result: 'ok' }, [{ action: 'UPDATE', cert: process.argv[3] + '-' + i }, { action: 'UPDATE', cert: process.argv[3] + '-' + i + 'b' }]);
`,
    );
    await Promise.all([execa('node', [script, root, 'a']), execa('node', [script, root, 'b'])]);
    const records = recordsOf(logIn(root));
    expect(records).to.have.length(240);
    expect(records.map((record) => record.seq)).to.deep.equal(records.map((_, index) => index + 1));
    // Both writers interleaved (the lock is per append, not per process), and each pair stayed together.
    const writers = records.map((record) => record.cert[0]).join('');
    expect(writers).to.match(/ab|ba/);
    records.forEach((record, index) => index % 2 === 1 && expect(record.cert).to.equal(`${records[index - 1]!.cert}b`));
    const result = await verify(['--root', root]);
    expect(result.exitCode, result.stdout).to.equal(0);
  });

  it('the command line is recorded without secrets', () => {
    const line = redactedCommandLine(['node', 'rescue-kit', 'restore', '/b.tar.gz', '--passphrase-file', '/root/pass', '--passphrase=hunter2', '--var', 'API_TOKEN=abc', '--var', 'NODE_NAME=m1', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----', 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqaw==', '--ca-key', '/etc/kubernetes/pki/ca.key']);
    expect(line).to.equal('rescue-kit restore /b.tar.gz --passphrase-file [redacted] --passphrase=[redacted] --var API_TOKEN=[redacted] --var NODE_NAME=m1 [redacted] [redacted] --ca-key /etc/kubernetes/pki/ca.key');
  });
});
