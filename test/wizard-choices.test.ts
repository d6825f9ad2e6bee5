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
      runCommand: () => Promise.reject(new Error('no command expected')),
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
