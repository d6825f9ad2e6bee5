// `rescue-kit webhook --apply` live (no --from): it reads the Secret, the
// ValidatingWebhookConfiguration and the workloads with the REAL kubectl from the
// rig (apiserver stand-ins' object API over the real etcd, through haproxy),
// applies with kubectl, and restarts the Deployment that mounts the Secret.
// Then rollback.sh, as an operator would run it.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rig, startClusterRig } from './helpers/cluster-rig.js';
import { runCli, tempDir } from './helpers/env.js';
import { kubectl, kubeconfigEnv, kubectlJson, writeKubeconfig } from './helpers/kube-api.js';
import { opensslVerifies } from './helpers/renew.js';

const fromBase64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

describe('webhook --apply against the rig: live kubectl read, apply, restart; rollback.sh', function () {
  this.timeout(120_000);
  let rig: Rig;
  let kubeconfig: string;
  let work: string;
  let out: string;
  const original: Record<string, any> = {};
  const get = (args: string[]) => kubectlJson(kubeconfig, args);

  before(async () => {
    rig = await startClusterRig();
    work = tempDir('rk-webhook-rig-');
    kubeconfig = writeKubeconfig(rig, { dir: work });
    out = join(work, 'out');
    // The webhook's current serving cert (self-signed, with a SAN beyond the service names the renewal must keep).
    const openssl = await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'old.key'), '-out', join(work, 'old.crt'), '-subj', '/CN=demo.hooks.svc', '-addext', 'subjectAltName=DNS:demo.hooks.svc,DNS:legacy.example.com', '-days', '1'], { reject: false });
    expect(openssl.exitCode, openssl.stderr).to.equal(0);
    const oldCa = readFileSync(join(work, 'old.crt')).toString('base64');
    writeFileSync(
      join(work, 'objects.yaml'),
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: demo-webhook}
webhooks:
- name: a.demo.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    caBundle: ${oldCa}
    service: {name: demo, namespace: hooks, path: /validate}
- name: other.example.com
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    caBundle: dW50b3VjaGVk
    service: {name: other, namespace: elsewhere}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo, namespace: hooks}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers: [{name: server, image: demo:1, volumeMounts: [{name: certs, mountPath: /certs}]}]
      volumes: [{name: certs, secret: {secretName: demo-tls}}]
`,
    );
    for (const args of [['create', 'namespace', 'hooks'], ['-n', 'hooks', 'create', 'secret', 'tls', 'demo-tls', `--cert=${join(work, 'old.crt')}`, `--key=${join(work, 'old.key')}`], ['create', '-f', join(work, 'objects.yaml')]]) {
      const run = await kubectl(kubeconfig, args);
      expect(run.exitCode, `kubectl ${args.join(' ')}: ${run.stderr}`).to.equal(0);
    }
    original.secret = await get(['-n', 'hooks', 'get', 'secret', 'demo-tls']);
    original.webhooks = await get(['get', 'validatingwebhookconfiguration', 'demo-webhook']);
  });

  after(async () => {
    await rig?.stop();
  });

  it('reads the Secret, the configuration and the Deployment from the cluster, applies the new cert and caBundle, restarts the Deployment', async () => {
    const run = await runCli(['webhook', '--namespace', 'hooks', '--service', 'demo', '--secret', 'demo-tls', '--webhook-config', 'demo-webhook', '--out', out, '--apply'], { env: kubeconfigEnv(kubeconfig) });
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/kubectl -n hooks rollout restart deployment\/demo: deployment.apps\/demo restarted/);

    const secret = await get(['-n', 'hooks', 'get', 'secret', 'demo-tls']);
    const webhooks = await get(['get', 'validatingwebhookconfiguration', 'demo-webhook']);
    writeFileSync(join(work, 'served.crt'), fromBase64(secret.data['tls.crt']));
    writeFileSync(join(work, 'bundle.crt'), fromBase64(webhooks.webhooks[0].clientConfig.caBundle));
    expect(fromBase64(webhooks.webhooks[0].clientConfig.caBundle)).to.equal(readFileSync(join(out, 'ca.crt'), 'utf8'));
    expect(fromBase64(secret.data['ca.crt'])).to.equal(readFileSync(join(out, 'ca.crt'), 'utf8'));
    expect(fromBase64(secret.data['tls.crt'])).to.equal(readFileSync(join(out, 'tls.crt'), 'utf8'));
    // The Secret in the cluster now holds a cert a client trusting only the new caBundle accepts.
    const [verified, detail] = await opensslVerifies(join(work, 'bundle.crt'), join(work, 'served.crt'));
    expect(verified, detail).to.equal(true);
    expect(webhooks.webhooks[1].clientConfig.caBundle, 'the other webhook is left alone').to.equal('dW50b3VjaGVk');
    expect(Number(secret.metadata.resourceVersion)).to.be.greaterThan(Number(original.secret.metadata.resourceVersion));
    const deployment = await get(['-n', 'hooks', 'get', 'deployment', 'demo']);
    expect(deployment.spec.template.metadata.annotations).to.have.property('kubectl.kubernetes.io/restartedAt');
  });

  // rollback.sh runs after apply.sh changed the objects: the originals carry no (stale) resourceVersion.
  it('rollback.sh puts the Secret and the caBundle back', async () => {
    const run = await execa('sh', [join(out, 'rollback.sh')], { env: kubeconfigEnv(kubeconfig), reject: false });
    expect(run.exitCode, String(run.stderr)).to.equal(0);
    const secret = await get(['-n', 'hooks', 'get', 'secret', 'demo-tls']);
    expect(secret.data).to.deep.equal(original.secret.data);
    const webhooks = await get(['get', 'validatingwebhookconfiguration', 'demo-webhook']);
    expect(webhooks.webhooks.map((hook: any) => hook.clientConfig.caBundle)).to.deep.equal(original.webhooks.webhooks.map((hook: any) => hook.clientConfig.caBundle));
  });
});
