// The wizard's "choose certs" list is built from the tree it looks at: a name
// the tree does not have (super-admin.conf before 1.29, a deleted kubeconfig)
// is never offered, so a preselected choice cannot fail after every question.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHost } from '../lib/host/host.js';
import type { Prompter } from '../lib/wizard/prompts.js';
import { runWizard } from '../lib/wizard/flow.js';
import { fixtureRoot, repoRoot } from './helpers/env.js';

/** A prompter that records the certificate choices offered and picks the preselected ones; anything else is a bug here. */
function recordingPrompter(offered: { value: string; checked: boolean }[][]): Prompter {
  const unexpected = () => Promise.reject(new Error('unexpected question: every other answer is given'));
  return {
    action: unexpected,
    names: async (choices) => {
      offered.push(choices.map(({ value, checked }) => ({ value, checked })));
      return choices.filter((choice) => choice.checked).map((choice) => choice.value);
    },
    validity: unexpected,
    newKey: unexpected,
    restart: unexpected,
    addSans: unexpected,
    text: unexpected,
    choose: unexpected,
    proceed: unexpected,
  };
}

describe('wizard: "renew the certificates I choose" offers only what this tree has', function () {
  this.timeout(60_000);

  it('a 1.14 tree with scheduler.conf gone: no super-admin.conf, no scheduler.conf; the preselected expired ones renew', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    rmSync(join(root, 'etc/kubernetes/scheduler.conf'));
    const offered: { value: string; checked: boolean }[][] = [];
    const said: string[] = [];
    await runWizard({
      host: createHost({ root }),
      answers: { action: 'renew-chosen', validity: '1y', newKey: false, restart: 'none', addSans: [], confirm: true },
      prompter: recordingPrompter(offered),
      version: 'test',
      timeoutMs: 5000,
      templatesDir: join(repoRoot, 'templates'),
      caConfigPath: join(repoRoot, 'conf', 'ca-config.json'),
      say: (text) => said.push(text),
    });
    expect(offered).to.have.length(1);
    const names = offered[0]!.map((choice) => choice.value);
    expect(names).to.not.include('super-admin.conf');
    expect(names).to.not.include('scheduler.conf');
    expect(names).to.include.members(['apiserver', 'etcd-peer', 'admin.conf', 'kubelet.conf']);
    expect(offered[0]!.every((choice) => choice.checked), 'all expired, all preselected').to.equal(true);
    expect(said.join('\n')).to.match(/renewed 10 certificates/);
  });
});

describe('wizard: webhook asks for both configuration names and renews through the same ops as the command', function () {
  this.timeout(60_000);

  it('KubeSphere-style validating + mutating configurations with different names: both caBundles patched, the wizard prints the warnings as "!"', async () => {
    const { mkdirSync, writeFileSync, readFileSync } = await import('node:fs');
    const { stringify, parse } = await import('yaml');
    const { tempDir } = await import('./helpers/env.js');
    const dir = tempDir();
    const from = join(dir, 'exported');
    mkdirSync(from);
    const webhooks = [{ name: 's2ibuilder.devops.kubesphere.io', clientConfig: { caBundle: 'b2xk', service: { name: 'webhook-server-service', namespace: 'kubesphere-devops-system' } } }];
    writeFileSync(join(from, 'validating.yaml'), stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'ks-devops-validating' }, webhooks }));
    writeFileSync(join(from, 'mutating.yaml'), stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'ks-devops-mutating' }, webhooks }));
    const out = join(dir, 'out');
    const answers: Record<string, string> = {
      'Namespace of the webhook Service and Secret': 'kubesphere-devops-system',
      'Webhook Service name': 'webhook-server-service',
      'TLS Secret the webhook server mounts': 's2i-webhook-tls',
      'ValidatingWebhookConfiguration name (empty: none)': 'ks-devops-validating',
      'MutatingWebhookConfiguration name (empty: none)': 'ks-devops-mutating',
      'Exported manifests directory (empty: read the live cluster with kubectl)': from,
      'Write the patched manifests, certs, apply.sh and rollback.sh to': out,
    };
    const unexpected = () => Promise.reject(new Error('unexpected question'));
    const asked: string[] = [];
    const prompter: Prompter = {
      action: unexpected, names: unexpected, validity: unexpected, newKey: unexpected, restart: unexpected, addSans: unexpected, choose: unexpected, proceed: unexpected,
      text: async (message) => {
        asked.push(message);
        if (!(message in answers)) throw new Error(`unexpected question: ${message}`);
        return answers[message]!;
      },
    };
    const said: string[] = [];
    await runWizard({ host: createHost({ root: dir }), answers: { action: 'webhook' }, prompter, version: 'test', timeoutMs: 5000, templatesDir: join(repoRoot, 'templates'), caConfigPath: join(repoRoot, 'conf', 'ca-config.json'), say: (text) => said.push(text) });
    expect(asked).to.deep.equal(Object.keys(answers));
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const patched = parse(readFileSync(join(out, `${kind}.yaml`), 'utf8'));
      expect(Buffer.from(patched.webhooks[0].clientConfig.caBundle, 'base64').toString()).to.equal(ca);
    }
    // No Secret was exported and no workload mounts it: said as warnings, not as success.
    expect(said.filter((line) => line.startsWith('!')).join('\n')).to.match(/no Deployment, StatefulSet or DaemonSet/);
  });
});
