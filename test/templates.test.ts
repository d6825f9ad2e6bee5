// The kubeadm CSR templates are generated from the catalogue; they must be current and loadable.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadCsrJson } from '../lib/config/csr-json.js';
import { loadCaConfig } from '../lib/config/ca-config.js';
import { repoRoot } from './helpers/env.js';

describe('templates and conf', () => {
  it('templates/kubeadm matches the catalogue (node build/scripts/gen-templates.js regenerates them)', async () => {
    const result = await execa('node', [join(repoRoot, 'build/scripts/gen-templates.js'), '--check'], { reject: false });
    expect(result.stderr).to.equal('');
    expect(result.exitCode).to.equal(0);
  });

  it('every template loads once its variables are filled, and refuses to load without them', () => {
    const vars = { NODE_NAME: 'master01', NODE_IP: '192.168.0.4', SERVICE: 'webhook', NAMESPACE: 'infra' };
    const dirs = ['kubeadm', 'binary', 'webhook'];
    let count = 0;
    for (const dir of dirs) {
      for (const file of readdirSync(join(repoRoot, 'templates', dir))) {
        const text = readFileSync(join(repoRoot, 'templates', dir, file), 'utf8');
        const request = loadCsrJson(text, file, vars);
        expect(request.subject.CN, file).to.be.a('string').and.not.include('${');
        if (text.includes('${')) expect(() => loadCsrJson(text, file)).to.throw(/template needs/);
        count++;
      }
    }
    expect(count).to.be.greaterThan(17);
    const apiserver = loadCsrJson(readFileSync(join(repoRoot, 'templates/kubeadm/apiserver-csr.json'), 'utf8'), 'apiserver-csr.json', vars);
    expect(apiserver.sans.dns).to.include.members(['master01', 'kubernetes', 'kubernetes.default.svc.cluster.local']);
    expect(apiserver.sans.ips).to.include.members(['10.96.0.1', '192.168.0.4']);
  });

  it('conf/ca-config.json has seed 004\'s kubernetes profile and the kubeadm ones', () => {
    const config = loadCaConfig(readFileSync(join(repoRoot, 'conf/ca-config.json'), 'utf8'));
    expect(config.profileNames).to.include.members(['kubernetes', 'server', 'client', 'peer', 'kubelet-client', 'webhook', 'intermediate-ca']);
    expect(config.profile('kubernetes').usages.extKeyUsage).to.have.members(['server auth', 'client auth']);
    expect(config.profile('kubernetes').durationMs).to.equal(8760 * 3600 * 1000);
    expect(config.profile('intermediate-ca').isCA).to.equal(true);
    expect(config.warnings).to.deep.equal([]);
  });
});
