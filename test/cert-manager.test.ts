// cert-manager doctor on a recorded `kubectl get certificate,certificaterequest -A -o json`:
// ready, failed-request (seed 002), denied, pending; the fix commands; the cmctl-style patch.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose, K8sResource, renewPatch } from '../lib/ops/seeds/cert-manager.js';
import { repoRoot, runCli, tempDir } from './helpers/env.js';

const RECORDED = join(repoRoot, 'test/data/cert-manager-list.json');
const NOW = new Date('2026-11-25T09:00:00Z');
const items = (JSON.parse(readFileSync(RECORDED, 'utf8')) as { items: K8sResource[] }).items;

describe('cert-manager doctor (seed 002)', () => {
  const findings = diagnose(items, NOW);
  const find = (name: string) => findings.find((finding) => finding.name === name)!;

  it('tells ready, failed-request, denied and pending apart, naming the request at fault', () => {
    expect(findings.map((finding) => [finding.name, finding.diagnosis])).to.deep.equal([
      ['healthy', 'ok'],
      ['cdn-www', 'failed-request'],
      ['denied-api', 'denied'],
      ['pending-db', 'pending'],
    ]);
    expect(find('cdn-www').request).to.equal('cdn-www-7'); // the latest revision, not the older issued one
    expect(find('cdn-www').explanation).to.include('context deadline exceeded');
    expect(find('denied-api').explanation).to.include('spec.dnsNames not allowed by policy');
    expect(find('healthy').fix).to.deep.equal([]);
  });

  it('a request pending for less than the limit is not reported', () => {
    expect(diagnose(items, new Date('2026-11-24T00:30:00Z')).find((finding) => finding.name === 'pending-db')!.diagnosis).to.equal('ok');
  });

  it('the fix deletes the failed request, then sets Issuing=True through the status subresource (what cmctl renew does)', () => {
    const [remove, trigger] = find('cdn-www').fix;
    expect(remove).to.deep.equal(['-n', 'shop', 'delete', 'certificaterequest', 'cdn-www-7']);
    expect(trigger!.slice(0, 7)).to.deep.equal(['-n', 'shop', 'patch', 'certificate', 'cdn-www', '--subresource=status', '--type=merge']);
    const patch = JSON.parse(trigger![8]!);
    const issuing = patch.status.conditions.filter((condition: { type: string }) => condition.type === 'Issuing');
    expect(issuing).to.deep.equal([{ type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered', lastTransitionTime: '2026-11-25T09:00:00Z', observedGeneration: 3 }]);
    expect(patch.status.conditions.find((condition: { type: string }) => condition.type === 'Ready').status).to.equal('False');
  });

  it('kubectl itself applies the patch (locally) and keeps the other conditions', async () => {
    const dir = tempDir();
    const certificate = items.find((item) => item.metadata.name === 'cdn-www')!;
    writeFileSync(join(dir, 'cert.json'), JSON.stringify(certificate));
    const result = await execa('kubectl', ['patch', '--local', '-f', join(dir, 'cert.json'), '--type=merge', '-p', renewPatch(certificate, NOW), '-o', 'json'], { reject: false });
    expect(result.exitCode, String(result.stderr)).to.equal(0);
    const patched = JSON.parse(String(result.stdout)) as K8sResource;
    expect(patched.status!.conditions!.map((condition) => `${condition.type}=${condition.status}`)).to.deep.equal(['Ready=False', 'Issuing=True']);
    expect(patched.spec).to.deep.equal(certificate.spec);
  });

  it('the CLI reads a recorded file, prints the diagnosis and the exact commands, and exits 11', async () => {
    const result = await runCli(['cert-manager', 'doctor', '--from', RECORDED]);
    expect(result.exitCode).to.equal(11);
    expect(result.stderr).to.match(/shop\s+cdn-www\s+failed-request/);
    expect(result.stderr).to.include('kubectl -n shop delete certificaterequest cdn-www-7');
    expect(result.stderr).to.include("kubectl -n shop patch certificate cdn-www --subresource=status --type=merge -p '{");
    const healthyOnly = tempDir();
    writeFileSync(join(healthyOnly, 'ok.json'), JSON.stringify({ kind: 'List', items: items.filter((item) => item.metadata.name.startsWith('healthy')) }));
    expect((await runCli(['cert-manager', 'doctor', '--from', join(healthyOnly, 'ok.json')])).exitCode).to.equal(0);
  });
});
