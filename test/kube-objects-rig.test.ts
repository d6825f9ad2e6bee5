// The rig's Kubernetes object API (test/fakes/kube-objects.mjs in each apiserver
// stand-in, state in the REAL 3-member etcd) driven by the REAL kubectl 1.32
// through the REAL haproxy: create/get/replace/patch/apply/delete as an operator
// types them (validation on: no --validate=false), Conflict on a stale
// resourceVersion, one state for three stand-ins, objects surviving restarts.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rig, RigNode, startClusterRig } from './helpers/cluster-rig.js';
import { tempDir } from './helpers/env.js';
import { kubectl, KubectlResult, kubectlJson, writeKubeconfig } from './helpers/kube-api.js';

const show = (run: KubectlResult) => `exit ${run.exitCode}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The etcd record behind an object, read with etcdctl (not through any stand-in). */
async function etcdRecord(rig: Rig, key: string): Promise<{ modRevision: string; value: Record<string, any> } | undefined> {
  const run = await rig.etcdctl(rig.nodes[1]!, ['get', key, '-w', 'json']);
  expect(run.exitCode, run.stderr).to.equal(0);
  const kv = (JSON.parse(run.stdout) as { kvs?: { mod_revision: number; value: string }[] }).kvs?.[0];
  return kv && { modRevision: String(kv.mod_revision), value: JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8')) };
}

const WEBHOOKS = (caBundle: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: demo-webhook
webhooks:
- name: a.demo.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    caBundle: ${caBundle}
    service: {name: demo, namespace: hooks, path: /validate}
- name: b.demo.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    caBundle: ${caBundle}
    service: {name: demo, namespace: hooks, path: /mutate}
`;

describe('kube object API on the rig: real kubectl 1.32 through haproxy, objects in the real etcd', function () {
  this.timeout(180_000);
  let rig: Rig;
  let kubeconfig: string;
  let work: string;
  const direct: Record<string, string> = {};
  const ok = async (args: string[], input?: string) => {
    const run = await kubectl(kubeconfig, args, input);
    expect(run.exitCode, `kubectl ${args.join(' ')}: ${show(run)}`).to.equal(0);
    return run;
  };
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  before(async () => {
    rig = await startClusterRig();
    work = tempDir('rk-kubeapi-');
    kubeconfig = writeKubeconfig(rig, { dir: work });
    for (const node of rig.nodes) direct[node.name] = writeKubeconfig(rig, { server: node.apiUrl });
  });

  after(async () => {
    await rig?.stop();
  });

  it('discovery: kubectl version and api-resources see the served kinds; the rig\'s other paths still answer as before', async () => {
    expect((await ok(['version'])).stdout).to.match(/Server Version: v1\.32\.4/);
    const resources = (await ok(['api-resources', '--no-headers'])).stdout;
    for (const name of ['configmaps', 'secrets', 'namespaces', 'validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'apiservices', 'customresourcedefinitions', 'deployments', 'statefulsets', 'daemonsets']) {
      expect(resources, name).to.match(new RegExp(`^${name}\\s`, 'm'));
    }
    expect((await ok(['get', 'namespaces', '-o', 'name'])).stdout.split('\n').filter(Boolean)).to.include.members(['namespace/default', 'namespace/kube-system', 'namespace/kube-public']);
    expect(await rig.get()).to.equal(200); // the client loop's path: GET /api/v1/namespaces/default
    expect(await rig.get('/not-an-api-path')).to.equal(200); // the stand-in's etcd range read, unchanged
  });

  it('create -f / get -o json: uid and creationTimestamp set, resourceVersion = the etcd mod_revision; a second create is AlreadyExists', async () => {
    const manifest = file('cluster-info.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: kube-public\ndata:\n  kubeconfig: old-ca\n');
    expect((await ok(['create', '-f', manifest])).stdout).to.match(/configmap\/cluster-info created/);
    const got = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(got.data).to.deep.equal({ kubeconfig: 'old-ca' });
    expect(got.metadata.uid).to.match(/^[0-9a-f-]{36}$/);
    expect(Date.now() - Date.parse(got.metadata.creationTimestamp)).to.be.within(-5_000, 60_000);
    const record = await etcdRecord(rig, '/registry/configmaps/kube-public/cluster-info');
    expect(record?.modRevision).to.equal(got.metadata.resourceVersion);
    expect(record?.value.data).to.deep.equal({ kubeconfig: 'old-ca' });
    const again = await kubectl(kubeconfig, ['create', '-f', manifest]);
    expect(again.exitCode).to.not.equal(0);
    expect(again.stderr).to.match(/Error from server \(AlreadyExists\).*configmaps "cluster-info" already exists/);
  });

  it('replace -f with the current resourceVersion works; with a stale one it is a Conflict and changes nothing', async () => {
    const before = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    const stale = file('stale.json', JSON.stringify({ ...before, data: { kubeconfig: 'stale-write' } }));
    await ok(['replace', '-f', file('fresh.json', JSON.stringify({ ...before, data: { kubeconfig: 'new-ca' } }))]);
    const replaced = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(replaced.data).to.deep.equal({ kubeconfig: 'new-ca' });
    expect(Number(replaced.metadata.resourceVersion)).to.be.greaterThan(Number(before.metadata.resourceVersion));
    expect(replaced.metadata.uid).to.equal(before.metadata.uid);

    const conflict = await kubectl(kubeconfig, ['replace', '-f', stale]);
    expect(conflict.exitCode, show(conflict)).to.not.equal(0);
    expect(conflict.stderr).to.match(/Error from server \(Conflict\).*Operation cannot be fulfilled on configmaps "cluster-info": the object has been modified/);
    const after = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(after).to.deep.equal(replaced);
    expect((await etcdRecord(rig, '/registry/configmaps/kube-public/cluster-info'))?.modRevision).to.equal(replaced.metadata.resourceVersion);

    // Without a resourceVersion, replace is unconditional (what `kubectl replace -f manifest.yaml` does).
    await ok(['replace', '-f', file('plain.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-info\n  namespace: kube-public\ndata:\n  kubeconfig: plain\n')]);
    expect((await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info'])).data).to.deep.equal({ kubeconfig: 'plain' });
  });

  it('patch --type merge and --type json (a failing test op changes nothing); delete, then get is NotFound', async () => {
    await ok(['-n', 'kube-public', 'patch', 'configmap', 'cluster-info', '--type', 'merge', '-p', '{"data":{"jws-kubeconfig-abcdef":"sig"},"metadata":{"labels":{"rotated":"yes"}}}']);
    let got = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(got.data).to.deep.equal({ kubeconfig: 'plain', 'jws-kubeconfig-abcdef': 'sig' });
    expect(got.metadata.labels).to.deep.equal({ rotated: 'yes' });
    await ok(['-n', 'kube-public', 'patch', 'configmap', 'cluster-info', '--type', 'merge', '-p', '{"data":{"jws-kubeconfig-abcdef":null}}']);
    await ok(['-n', 'kube-public', 'patch', 'configmap', 'cluster-info', '--type', 'json', '-p', '[{"op":"test","path":"/data/kubeconfig","value":"plain"},{"op":"replace","path":"/data/kubeconfig","value":"json-patched"}]']);
    got = await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(got.data).to.deep.equal({ kubeconfig: 'json-patched' });

    const failed = await kubectl(kubeconfig, ['-n', 'kube-public', 'patch', 'configmap', 'cluster-info', '--type', 'json', '-p', '[{"op":"replace","path":"/data/kubeconfig","value":"must-not-land"},{"op":"test","path":"/data/kubeconfig","value":"plain"}]']);
    expect(failed.exitCode, show(failed)).to.not.equal(0);
    expect(failed.stderr).to.match(/testing value \/data\/kubeconfig failed/);
    expect(await kubectlJson(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info'])).to.deep.equal(got);

    const missing = await kubectl(kubeconfig, ['-n', 'kube-public', 'patch', 'configmap', 'nope', '--type', 'merge', '-p', '{"data":{}}']);
    expect(missing.stderr).to.match(/Error from server \(NotFound\): configmaps "nope" not found/);

    expect((await ok(['-n', 'kube-public', 'delete', 'configmap', 'cluster-info'])).stdout).to.match(/configmap "cluster-info" deleted/);
    const gone = await kubectl(kubeconfig, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    expect(gone.exitCode).to.not.equal(0);
    expect(gone.stderr).to.match(/^Error from server \(NotFound\): configmaps "cluster-info" not found/);
    expect(await etcdRecord(rig, '/registry/configmaps/kube-public/cluster-info')).to.equal(undefined);
  });

  it('apply -f twice: the webhook configuration is patched (strategic merge, webhooks merged by name, a server-side field kept); CRD and APIService (merge patch)', async () => {
    const webhooks = file('webhooks.yaml', WEBHOOKS('T0xELUNB'));
    expect((await ok(['apply', '-f', webhooks])).stdout).to.match(/validatingwebhookconfiguration.admissionregistration.k8s.io\/demo-webhook created/);
    // A field the manifest does not have, set on the server: apply must leave it (merge by name, not replace the list).
    await ok(['patch', 'validatingwebhookconfiguration', 'demo-webhook', '--type', 'json', '-p', '[{"op":"add","path":"/webhooks/1/timeoutSeconds","value":7}]']);
    writeFileSync(webhooks, WEBHOOKS('TkVXLUNB'));
    expect((await ok(['apply', '-f', webhooks])).stdout).to.match(/demo-webhook configured/);
    const got = await kubectlJson(kubeconfig, ['get', 'validatingwebhookconfiguration', 'demo-webhook']);
    expect(got.webhooks.map((hook: any) => [hook.name, hook.clientConfig.caBundle, hook.clientConfig.service.path, hook.timeoutSeconds ?? null])).to.deep.equal([
      ['a.demo.io', 'TkVXLUNB', '/validate', null],
      ['b.demo.io', 'TkVXLUNB', '/mutate', 7],
    ]);
    expect(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).to.include('TkVXLUNB');
    expect((await ok(['apply', '-f', webhooks])).stdout).to.match(/demo-webhook unchanged/);

    const aggregated = (caBundle: string) => `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100, caBundle: ${caBundle}, service: {name: metrics-server, namespace: kube-system}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.demo.io}
spec:
  group: demo.io
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
  conversion:
    strategy: Webhook
    webhook: {conversionReviewVersions: ["v1"], clientConfig: {caBundle: ${caBundle}, service: {name: conv, namespace: kube-system}}}
`;
    const manifest = file('aggregated.yaml', aggregated('T0xELUNB'));
    await ok(['apply', '-f', manifest]);
    writeFileSync(manifest, aggregated('TkVXLUNB'));
    expect((await ok(['apply', '-f', manifest])).stdout).to.match(/apiservice.apiregistration.k8s.io\/v1beta1.metrics.k8s.io configured\n.*widgets.demo.io configured/);
    expect((await kubectlJson(kubeconfig, ['get', 'apiservice', 'v1beta1.metrics.k8s.io'])).spec.caBundle).to.equal('TkVXLUNB');
    expect((await kubectlJson(kubeconfig, ['get', 'crd', 'widgets.demo.io'])).spec.conversion.webhook.clientConfig.caBundle).to.equal('TkVXLUNB');
  });

  it('typed commands (protobuf bodies): create namespace, secret, configmap; a Deployment applied, rollout restart, a Secret in a missing namespace is NotFound', async () => {
    await ok(['create', 'namespace', 'hooks']);
    await ok(['-n', 'hooks', 'create', 'secret', 'generic', 'demo-tls', '--from-literal=tls.crt=old-cert', '--from-literal=tls.key=old-key']);
    await ok(['-n', 'hooks', 'create', 'configmap', 'settings', '--from-literal=mode=strict']);
    const secret = await kubectlJson(kubeconfig, ['-n', 'hooks', 'get', 'secret', 'demo-tls']);
    expect(secret.type).to.equal('Opaque');
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).to.equal('old-key');
    expect((await kubectlJson(kubeconfig, ['-n', 'hooks', 'get', 'configmap', 'settings'])).data).to.deep.equal({ mode: 'strict' });
    const elsewhere = await kubectl(kubeconfig, ['-n', 'nowhere', 'create', 'configmap', 'x', '--from-literal=a=b']);
    expect(elsewhere.stderr).to.match(/failed to create configmap: namespaces "nowhere" not found/);

    const deployment = file('deployment.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: demo, namespace: hooks}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers: [{name: server, image: demo:1, volumeMounts: [{name: certs, mountPath: /certs}]}]
      volumes: [{name: certs, secret: {secretName: demo-tls}}]
`);
    await ok(['apply', '-f', deployment]);
    await ok(['-n', 'hooks', 'rollout', 'restart', 'deployment/demo']);
    const got = await kubectlJson(kubeconfig, ['-n', 'hooks', 'get', 'deployment', 'demo']);
    expect(got.spec.template.metadata.annotations).to.have.property('kubectl.kubernetes.io/restartedAt');
    expect(got.spec.template.spec.volumes).to.deep.equal([{ name: 'certs', secret: { secretName: 'demo-tls' } }]);
    expect(got.metadata.generation).to.equal(2);
    const workloads = await kubectlJson(kubeconfig, ['-n', 'hooks', 'get', 'deployments,statefulsets,daemonsets']);
    expect(workloads.items.map((item: any) => `${item.kind}/${item.metadata.name}`)).to.deep.equal(['Deployment/demo']);
  });

  it('a write through cp1\'s stand-in is read through cp3\'s directly (one state, in etcd)', async () => {
    const run = await kubectl(direct.cp1!, ['-n', 'default', 'create', 'configmap', 'across', '--from-literal=written=by-cp1']);
    expect(run.exitCode, show(run)).to.equal(0);
    expect((await kubectlJson(direct.cp3!, ['-n', 'default', 'get', 'configmap', 'across'])).data).to.deep.equal({ written: 'by-cp1' });
    // And a stale write through cp2 after cp3 changed it is still a Conflict.
    const seen = await kubectlJson(direct.cp2!, ['-n', 'default', 'get', 'configmap', 'across']);
    expect((await kubectl(direct.cp3!, ['-n', 'default', 'patch', 'configmap', 'across', '--type', 'merge', '-p', '{"data":{"written":"by-cp3"}}'])).exitCode).to.equal(0);
    const stale = await kubectl(direct.cp2!, ['replace', '-f', file('across.json', JSON.stringify({ ...seen, data: { written: 'by-cp2' } }))]);
    expect(stale.stderr).to.match(/Error from server \(Conflict\)/);
    expect((await kubectlJson(direct.cp1!, ['-n', 'default', 'get', 'configmap', 'across'])).data).to.deep.equal({ written: 'by-cp3' });
  });

  it('objects survive a restart of every stand-in (new processes, same objects and resourceVersions)', async () => {
    const before = await kubectlJson(kubeconfig, ['get', 'validatingwebhookconfiguration', 'demo-webhook']);
    const pid = (node: RigNode) => readFileSync(join(node.fakes.state, 'kube-apiserver.pid'), 'utf8').trim();
    const oldPids = rig.nodes.map(pid);
    for (const node of rig.nodes) await execa(join(node.fakes.bin, 'systemctl'), ['restart', 'kube-apiserver'], { env: node.fakes.env });
    expect(rig.nodes.map(pid).filter((value, index) => value === oldPids[index])).to.deep.equal([]);
    const deadline = Date.now() + 20_000;
    while ((await rig.get().catch(() => 0)) !== 200 && Date.now() < deadline) await sleep(200);
    expect(await kubectlJson(kubeconfig, ['get', 'validatingwebhookconfiguration', 'demo-webhook'])).to.deep.equal(before);
    expect((await kubectlJson(direct.cp2!, ['-n', 'default', 'get', 'configmap', 'across'])).data).to.deep.equal({ written: 'by-cp3' });
  });
});
