// `check --timeline`: the expiry timeline in a terminal. Every line fits 80
// columns; one line per certificate, CAs heading their leaves; '#' from notBefore
// to notAfter and '|' today on one axis; colour on a real terminal (script(1)
// gives a pty) but never with NO_COLOR, and never when stdout is a pipe.
import { expect } from 'chai';
import { execa } from 'execa';
import type { CheckReport } from '../lib/ops/inventory/check.js';
import { TIMELINE_WIDTH } from '../lib/render/timeline.js';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, fixtureRoot, fixturesRoot, runCli, tempDir } from './helpers/env.js';

const ESCAPE = '\u001b[';
const visible = (line: string) => line.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

/** This process's environment minus whatever would decide colour for the child. */
function withoutColourSettings(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return env;
}

/** The CLI on a pty, as a person runs it; returns what the terminal showed (lines end in \r\n there). */
async function onTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
  const quoted = args.map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ');
  const result = await execa('script', ['-q', '-e', '-c', `node ${cliPath} ${quoted} 2>/dev/null`, '/dev/null'], { reject: false, env: { ...withoutColourSettings(), TERM: 'xterm', ...env }, extendEnv: false });
  return String(result.stdout).replace(/\r\n/g, '\n');
}

describe('check --timeline', function () {
  this.timeout(60_000);

  for (const fixture of ['kubeadm-1.11-expired', 'kubeadm-1.14-expired', 'kubeadm-1.25-expired'] as const) {
    it(`${fixture}: every line within 80 columns, one line per certificate under its CA, bars and today on one axis`, async () => {
      const root = fixtureRoot(fixture);
      const report = JSON.parse((await runCli(['check', '--root', root, '--json'])).stdout) as CheckReport;
      const result = await runCli(['check', '--root', root, '--timeline']);
      expect(result.exitCode).to.equal(11);
      const lines = result.stdout.trimEnd().split('\n');
      expect(TIMELINE_WIDTH).to.equal(80);
      for (const line of lines) expect(line.length, line).to.be.at.most(80);
      expect(lines[0]).to.match(/^CERTIFICATE\s+.*\d{4}.*STATUS\s+LEFT$/);
      expect(lines[1]).to.include(`today ${report.now.slice(0, 10)}`);
      const rows = lines.slice(2);
      expect(rows.length).to.equal(report.authorities.length + report.certificates.length);
      // CAs flush left, each followed by its own leaves (indented).
      let ca = '';
      for (const row of rows) {
        const name = row.slice(0, 26).trim();
        if (!row.startsWith(' ')) ca = name;
        else expect(report.certificates.find((entry) => entry.name === name)?.certificateAuthority, name).to.equal(ca);
      }
      const todayColumn = lines[1]!.indexOf('v');
      for (const row of rows) {
        const name = row.slice(0, 26).trim();
        const entry = [...report.authorities, ...report.certificates].find((candidate) => candidate.name === name)!;
        expect(row).to.include(` ${entry.status}`);
        if (entry.notAfter) expect(row[todayColumn], `today mark in ${name}`).to.equal('|');
        const track = row.slice(27, todayColumn + 1);
        if (entry.status === 'EXPIRED') {
          // The whole bar lies left of today: nothing but dots between the bar's end and the today mark.
          expect(track, name).to.match(/^\.*#+\.*\|$/);
        }
        if (entry.kind === 'ca' && entry.status === 'OK') expect(row.slice(27, 27 + 40)).to.match(/#+\|#+/);
        if (!entry.notAfter) expect(row).to.include('no certificate to draw');
      }
      expect(result.stdout).to.not.include(ESCAPE);
      expect(result.stderr).to.include('next:');
    });
  }

  it('a hard-way folder (--path): 80 columns too, long paths keep their file name, no year label cut in half', async () => {
    const root = tempDir('rk-hardway-');
    cpSync(join(fixturesRoot, 'hardway-1.19-expired'), join(root, 'pki'), { recursive: true });
    const report = JSON.parse((await runCli(['check', '--root', root, '--path', '/pki', '--json'])).stdout) as CheckReport;
    const result = await runCli(['check', '--root', root, '--path', '/pki', '--timeline']);
    const lines = result.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).to.be.at.most(80);
    expect(lines.length - 2).to.equal(report.authorities.length + report.certificates.length);
    expect(result.stdout).to.include('~-controller-manager.pem ');
    expect(lines[0]!.slice(27, 27 + 32)).to.match(/^(\s*\d{4})+\s*$/);
  });

  it('colour on a terminal; none with NO_COLOR; none when stdout is a pipe', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const coloured = await onTerminal(['check', '--root', root, '--timeline'], {});
    expect(coloured).to.include(`${ESCAPE}31m`); // EXPIRED in red
    expect(coloured).to.include(`${ESCAPE}32m`); // OK CAs in green
    for (const line of coloured.trimEnd().split('\n')) expect(visible(line).length, line).to.be.at.most(80);

    const plain = await onTerminal(['check', '--root', root, '--timeline'], { NO_COLOR: '1' });
    expect(plain).to.include('EXPIRED');
    expect(plain).to.not.include(ESCAPE);
    expect(plain.trimEnd()).to.equal(visible(coloured).trimEnd());

    const piped = await execa('node', [cliPath, 'check', '--root', root, '--timeline'], { reject: false, env: { ...withoutColourSettings(), TERM: 'xterm' }, extendEnv: false });
    expect(String(piped.stdout)).to.include('EXPIRED');
    expect(String(piped.stdout)).to.not.include(ESCAPE);
  });
});
