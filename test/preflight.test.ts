// Pre-flight before any write: a --root that does not exist, is empty, holds
// nothing recognisable, or is etc/kubernetes itself is refused (exit 3) with
// the fix, and nothing is created under it. Typos get the close name. rollback
// --dry-run shows what would be put back; a rollback leaves a file the kubelet
// wrote after the run in place (it undoes the run, not the world).
import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fixtureRoot, tempDir } from './helpers/env.js';
import { cli, fullListing, hostModes, listing, readCert, show, writeFakes } from './helpers/renew.js';

const unattended = ['--restart', 'none', '--yes', '--no-etcd-backup'];

describe('pre-flight: no recognisable tree under --root is exit 3, and nothing is created', function () {
  this.timeout(60_000);

  const cases: [string, () => string][] = [
    ['a --root that does not exist', () => join(tempDir('rk-pre-'), 'missing')],
    ['an empty --root', () => tempDir('rk-pre-empty-')],
    [
      'a --root with unrelated files',
      () => {
        const root = tempDir('rk-pre-other-');
        mkdirSync(join(root, 'etc/nginx'), { recursive: true });
        writeFileSync(join(root, 'etc/nginx/nginx.conf'), 'events {}');
        return root;
      },
    ],
  ];
  for (const [name, make] of cases) {
    it(`${name}: check, renew --all --dry-run and renew --all --yes all exit 3`, async () => {
      const root = make();
      const before = existsSync(root) ? fullListing(root) : undefined;
      for (const args of [['check'], ['renew', '--all', '--dry-run'], ['renew', '--all', ...unattended], ['backup', '--no-etcd']]) {
        const run = await cli([...args, '--root', root]);
        expect(run.exitCode, `${args.join(' ')}: ${show(run)}`).to.equal(3);
        expect(run.stderr, args.join(' ')).to.match(/does not exist|no Kubernetes certificates under|nothing to back up/);
        expect(run.stdout, `${args.join(' ')}: never an "OK" table`).to.not.match(/\bOK\b/);
      }
      expect(existsSync(root) ? fullListing(root) : undefined, 'nothing created').to.deep.equal(before);
    });
  }

  it('--root ROOT/etc/kubernetes (one level too deep): "did you mean --root ROOT?", not a k0s layout', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const deep = join(root, 'etc/kubernetes');
    const before = fullListing(root);
    for (const args of [['check'], ['renew', '--all', '--dry-run'], ['renew', '--all', ...unattended]]) {
      const run = await cli([...args, '--root', deep]);
      expect(run.exitCode, show(run)).to.equal(3);
      expect(run.stderr).to.include(`did you mean --root ${root}?`);
    }
    expect(fullListing(root)).to.deep.equal(before);
  });

  it('a typo gets the close name, `renew all` gets --all (exit 2)', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const typo = await cli(['renew', 'apiserver-etcd-clinet', '--dry-run', '--root', root]);
    expect(typo.exitCode).to.equal(2);
    expect(typo.stderr).to.match(/unknown certificate "apiserver-etcd-clinet": did you mean apiserver-etcd-client\?/);
    const all = await cli(['renew', 'all', '--dry-run', '--root', root]);
    expect(all.exitCode).to.equal(2);
    expect(all.stderr).to.match(/did you mean --all\?/);
  });
});

describe('rollback --dry-run, and a rollback that undoes only the run', function () {
  this.timeout(60_000);

  it('rollback --dry-run lists each path it would put back and changes nothing', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    hostModes(root);
    const renew = await cli(['renew', '--all', '--new-key', ...unattended, '--root', root]);
    expect(renew.exitCode, show(renew)).to.equal(0);
    const after = fullListing(root);
    const dry = await cli(['rollback', '--dry-run', '--root', root]);
    expect(dry.exitCode, show(dry)).to.equal(0);
    const rows = dry.stdout.split('\n').filter((line) => /^restore /.test(line));
    expect(rows, dry.stdout).to.have.length(18);
    expect(dry.stdout).to.match(/^restore +\/etc\/kubernetes\/pki\/apiserver\.key/m);
    expect(fullListing(root), 'a dry run writes nothing (not even a lock)').to.deep.equal(after);
  });

  it('a cert the kubelet rotated after the run stays; the run\'s own files go back byte for byte', async () => {
    const root = fixtureRoot('kubeadm-1.25-expired');
    const before = listing(root);
    const renew = await cli(['renew', '--all', ...unattended, '--root', root]);
    expect(renew.exitCode, show(renew)).to.equal(0);
    // The kubelet rotates its client cert after the rescue: a new file of its own beside the re-minted one.
    const rotated = join(root, 'var/lib/kubelet/pki/kubelet-client-2027-01-01-00-00-00.pem');
    writeFileSync(rotated, 'the kubelet\'s own rotated cert', { mode: 0o600 });
    const rollback = await cli(['rollback', '--yes', '--root', root]);
    expect(rollback.exitCode, show(rollback)).to.equal(0);
    expect(readFileSync(rotated, 'utf8'), 'the kubelet-created file is left in place').to.equal('the kubelet\'s own rotated cert');
    const now = listing(root);
    for (const [path, entry] of Object.entries(before)) expect(now[path], path).to.equal(entry);
  });
});

describe('output that tells the truth: plans and tables are data on stdout, talk on stderr', function () {
  this.timeout(60_000);

  it('`renew --all --dry-run > plan.txt` holds the plan; the Renewed table of a real run is on stdout; --json keeps stdout pure JSON', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const dry = await cli(['renew', '--all', '--dry-run', '--root', root]);
    expect(dry.exitCode, show(dry)).to.equal(0);
    expect(dry.stdout).to.match(/^Plan\n/);
    expect(dry.stdout).to.include('Files:');
    expect(dry.stderr).to.not.include('Files:');
    const run = await cli(['renew', '--all', ...unattended, '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
    expect(run.stdout).to.match(/^Renewed$/m);
    expect(run.stderr, 'talk').to.match(/the control plane certificates are renewed/);
    const json = await cli(['renew', '--all', ...unattended, '--json', '--root', fixtureRoot('kubeadm-1.14-expired')]);
    expect(json.exitCode, show(json)).to.equal(0);
    expect(() => JSON.parse(json.stdout), 'stdout is one JSON document').to.not.throw();
  });
});

describe('--add-san goes to the apiserver serving cert only, unless --add-san-to says otherwise', function () {
  this.timeout(60_000);

  it('renew --all --add-san 10.9.9.9: apiserver has it, etcd-server and etcd-peer do not; --add-san-to etcd-server moves it there', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const run = await cli(['renew', '--all', '--add-san', '10.9.9.9,api.example', ...unattended, '--root', root]);
    expect(run.exitCode, show(run)).to.equal(0);
    const sansOf = (file: string) => {
      const certificate = readCert(join(root, 'etc/kubernetes/pki', file));
      return [...certificate.sans.dns, ...certificate.sans.ips];
    };
    expect(sansOf('apiserver.crt')).to.include.members(['10.9.9.9', 'api.example']);
    for (const file of ['etcd/server.crt', 'etcd/peer.crt']) expect(sansOf(file), file).to.not.include('10.9.9.9');
    const moved = await cli(['renew', 'etcd-server', 'apiserver', '--add-san', '10.8.8.8', '--add-san-to', 'etcd-server', ...unattended, '--root', root]);
    expect(moved.exitCode, show(moved)).to.equal(0);
    expect(sansOf('etcd/server.crt')).to.include('10.8.8.8');
    expect(sansOf('apiserver.crt')).to.not.include('10.8.8.8');
    const client = await cli(['renew', 'admin.conf', '--add-san', '10.7.7.7', '--add-san-to', 'admin.conf', '--dry-run', '--root', root]);
    expect(client.exitCode).to.equal(2);
    expect(client.stderr).to.match(/not a serving certificate/);
  });
});

describe('backup verify with a short wrong passphrase', function () {
  this.timeout(60_000);

  it('says "wrong passphrase", not "must be at least 8 characters" (that rule is for new backups)', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const dir = tempDir('rk-pass-');
    writeFileSync(join(dir, 'good'), 'correct horse battery staple\n');
    writeFileSync(join(dir, 'short'), 'abc\n');
    const archive = join(dir, 'backup.tar.gz.enc');
    const backup = await cli(['backup', '--no-etcd', '--encrypt', '--passphrase-file', join(dir, 'good'), '--out', archive, '--root', root]);
    expect(backup.exitCode, show(backup)).to.equal(0);
    const verify = await cli(['backup', 'verify', archive, '--passphrase-file', join(dir, 'short')]);
    expect(verify.exitCode).to.equal(4);
    expect(verify.stderr).to.match(/wrong passphrase/);
    expect(verify.stderr).to.not.match(/at least 8/);
    const weak = await cli(['backup', '--no-etcd', '--encrypt', '--passphrase-file', join(dir, 'short'), '--out', join(dir, 'weak.tar.gz.enc'), '--root', root]);
    expect(weak.exitCode).to.equal(2);
    expect(weak.stderr).to.match(/at least 8 characters/);
  });
});

describe('a second renew --all on fresh certificates asks for --force', function () {
  this.timeout(60_000);

  it('exit 3 "nothing needs renewing" and nothing written; --force renews; a broken cert among fresh ones still renews', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const first = await cli(['renew', '--all', ...unattended, '--root', root]);
    expect(first.exitCode, show(first)).to.equal(0);
    const renewed = fullListing(root);
    const again = await cli(['renew', '--all', ...unattended, '--root', root]);
    expect(again.exitCode, show(again)).to.equal(3);
    expect(again.stderr).to.match(/nothing needs renewing: all 11 certificates are readable and valid for more than 30 days \(the soonest ends in 36[45] days\)/);
    expect(again.stderr).to.match(/--force/);
    expect(fullListing(root), 'nothing written').to.deep.equal(renewed);
    const forced = await cli(['renew', '--all', '--force', ...unattended, '--root', root]);
    expect(forced.exitCode, show(forced)).to.equal(0);
    writeFileSync(join(root, 'etc/kubernetes/pki/apiserver.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const broken = await cli(['renew', '--all', ...unattended, '--root', root]);
    expect(broken.exitCode, 'not refused as "fresh": apiserver.crt is damaged (and listed as NOT renewed)').to.equal(3);
    expect(broken.stderr).to.match(/NOT renewed: apiserver/);
  });
});

describe('--restart MODE is checked against the host before anything is written', function () {
  this.timeout(60_000);

  it('crictl not installed, a docker client with no engine, a static pod without its manifest: exit 3 at once, nothing written, the mode that fits suggested', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const before = fullListing(root);
    // A PATH with node but without crictl: this machine has none anyway, and a fake dir could shadow it.
    const noCrictl = await cli(['renew', '--all', '--restart', 'crictl', '--timeout', '120s', '--yes', '--no-etcd-backup', '--root', root], { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` });
    expect(noCrictl.exitCode, show(noCrictl)).to.equal(3);
    expect(noCrictl.stderr).to.match(/--restart crictl does not fit this host: crictl is not installed on this host; nothing was changed/);
    expect(noCrictl.stderr).to.match(/hint: this host looks like --restart /);

    const docker = await cli(['renew', '--all', '--restart', 'docker', '--yes', '--no-etcd-backup', '--root', root]);
    expect(docker.exitCode, show(docker)).to.equal(3);
    expect(docker.stderr).to.match(/--restart docker does not fit this host: docker (is not installed on this host|ps fails .*: the container runtime does not answer)/);

    const fakes = writeFakes(root);
    rmSync(join(root, 'etc/kubernetes/manifests/etcd.yaml'));
    const staticPod = await cli(['renew', '--all', '--restart', 'static-pod', '--yes', '--no-etcd-backup', '--root', root], fakes.env);
    expect(staticPod.exitCode, show(staticPod)).to.equal(3);
    expect(staticPod.stderr).to.match(/no static pod manifest for etcd in \/etc\/kubernetes\/manifests/);
    const now = fullListing(root);
    delete before['etc/kubernetes/manifests/etcd.yaml'];
    expect(now, 'no backup, no journal, no certificate written').to.deep.equal(before);
  });

  it('--restart systemd on a kubeadm tree whose control plane runs as static pods (no units): exit 3, nothing written, static-pod suggested', async () => {
    const root = fixtureRoot('kubeadm-1.14-expired');
    const before = fullListing(root);
    const fakes = writeFakes(root, { FAKE_NO_UNITS: 'etcd kube-apiserver kube-controller-manager kube-scheduler' });
    const run = await cli(['renew', '--all', '--restart', 'systemd', '--yes', '--no-etcd-backup', '--root', root], fakes.env);
    expect(run.exitCode, show(run)).to.equal(3);
    expect(run.stderr).to.match(/--restart systemd does not fit this host: etcd runs as a static pod here \(\/etc\/kubernetes\/manifests\/etcd.yaml\) and has no systemd unit etcd.service; nothing was changed/);
    expect(run.stderr).to.match(/hint: this host looks like --restart (?!systemd)/);
    expect(fakes.restarts(), 'nothing restarted').to.deep.equal([]);
    expect(fullListing(root)).to.deep.equal(before);
    // A binary install whose units exist (the fake has them by default) still passes the pre-flight.
    const dryRun = await cli(['renew', '--all', '--restart', 'systemd', '--dry-run', '--root', root], writeFakes(root).env);
    expect(dryRun.exitCode, show(dryRun)).to.equal(0);
  });
});
