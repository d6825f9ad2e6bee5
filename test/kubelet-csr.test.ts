// Workers' kubelet client certs without moving the private key: kubelet csr on
// a copied worker tree, kubelet sign on a copied control plane (node identities
// only), kubelet install (journalled, rollback byte for byte, the new identity
// checked against a real TLS apiserver stand-in), and the break-glass issue.
// Checked with openssl (req -verify, verify -purpose sslclient).
import { expect } from 'chai';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseCertificate } from '../lib/pki/certificate.js';
import { cliPath, tempDir } from './helpers/env.js';
import { apiserverStandIn, caOf, controlPlanes, worker } from './helpers/fleet.js';
import { cli, listing, show } from './helpers/renew.js';
import type { SServer } from './helpers/tls.js';

const PKI = 'var/lib/kubelet/pki';
const PENDING = `${PKI}/rescue-kit-pending.key`;
const KEY_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/;
/** The worker's own files, without rescue-kit's backups and journals. */
const workerListing = (root: string) => listing(root, ['etc/kubernetes', PKI]);
const install = (root: string, cert: string, ...extra: string[]) => cli(['kubelet', 'install', cert, '--root', root, '--restart', 'none', '--yes', ...(extra.includes('--timeout') ? [] : ['--timeout', '10s']), ...extra]);

async function opensslVerifyClient(caFile: string, certFile: string): Promise<void> {
  const result = await execa('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', certFile], { reject: false, all: true });
  expect(result.exitCode, String(result.all)).to.equal(0);
}

/** No file under dir holds a private key (what travels: CSRs and certificates only). */
function noKeysUnder(dir: string): void {
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) expect(readFileSync(path, 'utf8'), path).not.to.match(KEY_BLOCK);
  }
}

describe('kubelet csr / sign / install / issue (worker certs, keys stay on the worker)', function () {
  this.timeout(120_000);
  let cp: string;
  let server: SServer;
  let url: string;

  before(async () => {
    cp = (await controlPlanes(1))[0]!;
    server = await apiserverStandIn(caOf(cp!));
    url = `https://127.0.0.1:${server.port}`;
  });
  after(async () => server?.stop());

  it('csr -> sign -> install: key made and kept on the worker (0600), cert verifies against ca.crt, symlink moved, check 0; rollback restores every file byte for byte', async () => {
    const root = await worker(caOf(cp), 'worker-1', url);
    const before = workerListing(root);
    const oldLink = readlinkSync(join(root, PKI, 'kubelet-client-current.pem'));
    expect((await cli(['check', '--root', root])).exitCode, 'expired first').to.equal(11);

    const travel = tempDir('rk-travel-');
    const csr = await cli(['kubelet', 'csr', '--root', root, '--out', join(travel, 'worker-1.csr')]);
    expect(csr.exitCode, show(csr)).to.equal(0);
    expect(csr.stdout + csr.stderr).not.to.match(KEY_BLOCK);
    expect((statSync(join(root, PENDING)).mode & 0o777).toString(8)).to.equal('600');
    const pendingKey = readFileSync(join(root, PENDING), 'utf8');
    const req = await execa('openssl', ['req', '-in', join(travel, 'worker-1.csr'), '-noout', '-verify', '-subject', '-nameopt', 'RFC2253'], { reject: false, all: true });
    expect(req.exitCode, String(req.all)).to.equal(0);
    expect(String(req.all)).to.match(/subject=CN=system:node:worker-1,O=system:nodes/);

    const sign = await cli(['kubelet', 'sign', join(travel, 'worker-1.csr'), '--root', cp, '--out-dir', travel]);
    expect(sign.exitCode, show(sign)).to.equal(0);
    await opensslVerifyClient(join(cp, 'etc/kubernetes/pki/ca.crt'), join(travel, 'worker-1.pem'));
    const signed = parseCertificate(readFileSync(join(travel, 'worker-1.pem')));
    expect(signed.subjectText).to.equal('O=system:nodes, CN=system:node:worker-1');
    expect(signed.extKeyUsage).to.deep.equal(['client auth']);
    expect(signed.isCA).to.equal(false);
    noKeysUnder(travel);

    const done = await install(root, join(travel, 'worker-1.pem'));
    expect(done.exitCode, show(done)).to.equal(0);
    expect(done.stderr).to.match(/HTTP 200 \(authenticated\)/);
    const link = readlinkSync(join(root, PKI, 'kubelet-client-current.pem'));
    expect(link).to.not.equal(oldLink);
    expect(link).to.match(/^\/var\/lib\/kubelet\/pki\/kubelet-client-\d{4}(-\d\d){5}\.pem$/);
    const installed = join(root, link);
    expect((statSync(installed).mode & 0o777).toString(8)).to.equal('600');
    await opensslVerifyClient(join(root, 'etc/kubernetes/pki/ca.crt'), installed);
    expect(KEY_BLOCK.exec(readFileSync(installed, 'utf8'))?.[0].trim(), 'the key made by kubelet csr, never replaced').to.equal(pendingKey.trim());
    expect(existsSync(join(root, PENDING)), 'one copy of the key, inside the pem').to.equal(false);
    expect(readFileSync(join(root, oldLink), 'utf8'), 'the old pem stays, as the kubelet keeps rotated ones').to.be.a('string');
    const check = await cli(['check', '--root', root, '--json']);
    expect(check.exitCode, show(check)).to.equal(0);
    expect(JSON.parse(check.stdout).node).to.equal('worker');

    const undo = await cli(['rollback', '--root', root, '--yes']);
    expect(undo.exitCode, show(undo)).to.equal(0);
    expect(workerListing(root), 'kubelet.conf, the pems, the symlink and the pending key as before the install').to.deep.equal({ ...before, [PENDING]: workerListing(root)[PENDING] });
    expect(readFileSync(join(root, PENDING), 'utf8')).to.equal(pendingKey);
    expect(readlinkSync(join(root, PKI, 'kubelet-client-current.pem'))).to.equal(oldLink);
    expect(existsSync(installed)).to.equal(false);
  });

  it('sign refuses CN=admin/O=system:masters, a node name with system:masters, SANs, and fails the whole batch: no cert written', async () => {
    const dir = tempDir('rk-evil-');
    const request = async (name: string, subject: string, extra: string[] = []) => {
      const made = await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', subject, '-out', join(dir, `${name}.csr`), ...extra], { reject: false, all: true });
      expect(made.exitCode, String(made.all)).to.equal(0);
      return join(dir, `${name}.csr`);
    };
    const good = await request('good', '/O=system:nodes/CN=system:node:worker-2');
    const cases: [string, RegExp][] = [
      [await request('admin', '/O=system:masters/CN=admin'), /CN is not system:node:NAME/],
      [await request('masters', '/O=system:masters/CN=system:node:worker-3'), /system:masters is never granted/],
      [await request('both', '/O=system:nodes/O=system:masters/CN=system:node:worker-4'), /exactly system:nodes/],
      [await request('sans', '/O=system:nodes/CN=system:node:worker-5', ['-addext', 'subjectAltName=DNS:kubernetes']), /carries no SANs/],
      [await request('colon', '/O=system:nodes/CN=system:node:a:b'), /not a node name/],
    ];
    for (const [bad, why] of cases) {
      const run = await cli(['kubelet', 'sign', good, bad, '--root', cp, '--out-dir', dir]);
      expect(run.exitCode, show(run)).to.equal(4);
      expect(run.stderr).to.match(why).and.to.match(/refused|not a node name/);
      expect(existsSync(join(dir, 'worker-2.pem')), 'the good request of the batch is not signed either').to.equal(false);
      expect(readdirSync(dir).filter((name) => name.endsWith('.pem'))).to.deep.equal([]);
    }
    // The playbook's way: a batch as JSON on stdin, certs back on stdout; the same refusals, all or nothing.
    const batch = (entries: Record<string, string>) => execa('node', [cliPath, 'kubelet', 'sign', '--batch-json', '-', '--root', cp], { input: JSON.stringify(entries), reject: false, env: { NO_COLOR: '1' } });
    const ok = await batch({ 'host-a': readFileSync(good, 'utf8') });
    expect(ok.exitCode, ok.stderr).to.equal(0);
    const certs = JSON.parse(ok.stdout);
    expect(certs['host-a'].node).to.equal('worker-2');
    expect(parseCertificate(certs['host-a'].certificate).subjectText).to.equal('O=system:nodes, CN=system:node:worker-2');
    const mixed = await batch({ 'host-a': readFileSync(good, 'utf8'), 'host-b': readFileSync(cases[0]![0], 'utf8') });
    expect(mixed.exitCode).to.equal(4);
    expect(mixed.stdout, 'no cert for the good one either').to.equal('');
    expect(mixed.stderr).to.match(/host-b: refused/);
    const twice = await cli(['kubelet', 'sign', good, good, '--root', cp, '--out-dir', dir]);
    expect(twice.exitCode).to.equal(4);
    expect(twice.stderr).to.match(/a second request for node worker-2/);
  });

  it('install refuses a cert for another node, or for another key, or from another CA: nothing changed', async () => {
    const root = await worker(caOf(cp), 'worker-6', url);
    const other = await worker(caOf(cp), 'worker-7', url);
    const travel = tempDir('rk-travel-');
    for (const [tree, name] of [[root, 'worker-6'], [other, 'worker-7']] as const) {
      expect((await cli(['kubelet', 'csr', '--root', tree, '--out', join(travel, `${name}.csr`)])).exitCode).to.equal(0);
    }
    expect((await cli(['kubelet', 'sign', join(travel, 'worker-6.csr'), join(travel, 'worker-7.csr'), '--root', cp, '--out-dir', travel])).exitCode).to.equal(0);
    const [foreign] = await controlPlanes(1);
    expect((await cli(['kubelet', 'sign', join(travel, 'worker-6.csr'), '--root', foreign!, '--out-dir', join(travel, 'foreign')])).exitCode).to.equal(0);
    const before = listing(root, ['.']);
    const cases: [string, number, RegExp][] = [
      [join(travel, 'worker-7.pem'), 4, /not for this worker's pending key/],
      [join(travel, 'foreign', 'worker-6.pem'), 4, /not signed by this cluster's CA/],
    ];
    for (const [cert, code, why] of cases) {
      const run = await install(root, cert);
      expect(run.exitCode, show(run)).to.equal(code);
      expect(run.stderr).to.match(why);
      expect(listing(root, ['.']), 'nothing written, no run journalled').to.deep.equal(before);
    }
    // The right cert, but the key of a newer request: the old cert no longer fits.
    expect((await cli(['kubelet', 'csr', '--root', root, '--out', join(travel, 'again.csr')])).stderr).to.match(/replaced the pending key/);
    const stale = await install(root, join(travel, 'worker-6.pem'));
    expect(stale.exitCode).to.equal(4);
    expect(stale.stderr).to.match(/kubelet csr replaces the pending key/);
  });

  it('install rolls back when the apiserver rejects the new identity, or cannot be reached (unless --no-verify-api)', async () => {
    const [otherCluster] = await controlPlanes(1);
    // An apiserver that trusts another cluster's CA for clients: the TLS handshake rejects our cert.
    const stranger = await apiserverStandIn(caOf(cp), caOf(otherCluster!).certificate.pem);
    try {
      for (const [server, expectation] of [[`https://127.0.0.1:${stranger.port}`, /does not reach the apiserver/], ['https://127.0.0.1:1', /ECONNREFUSED.*pass --no-verify-api/]] as const) {
        const root = await worker(caOf(cp), 'worker-8', server);
        const travel = tempDir('rk-travel-');
        expect((await cli(['kubelet', 'csr', '--root', root, '--out', join(travel, 'w.csr')])).exitCode).to.equal(0);
        expect((await cli(['kubelet', 'sign', join(travel, 'w.csr'), '--root', cp, '--out-dir', travel])).exitCode).to.equal(0);
        const before = workerListing(root);
        const run = await install(root, join(travel, 'worker-8.pem'), '--timeout', '2s');
        expect(run.exitCode, show(run)).to.equal(6);
        expect(run.stderr).to.match(expectation).and.to.match(/rolled back/);
        expect(workerListing(root), 'byte for byte as before').to.deep.equal(before);
        if (server.endsWith(':1')) {
          const offline = await install(root, join(travel, 'worker-8.pem'), '--timeout', '2s', '--no-verify-api');
          expect(offline.exitCode, show(offline)).to.equal(0);
          expect(offline.stderr).to.match(/NOT verified: the apiserver is unreachable/);
        }
      }
    } finally {
      await stranger.stop();
    }
  });

  it('a kubelet.conf that embeds its cert gets the new cert and key re-embedded (0600), and the apiserver accepts them', async () => {
    const root = await worker(caOf(cp), 'worker-9', url, { embedded: true });
    const travel = tempDir('rk-travel-');
    expect((await cli(['kubelet', 'csr', '--root', root, '--out', join(travel, 'w.csr')])).exitCode).to.equal(0);
    expect((await cli(['kubelet', 'sign', join(travel, 'w.csr'), '--root', cp, '--out-dir', travel])).exitCode).to.equal(0);
    const key = readFileSync(join(root, PENDING), 'utf8');
    const run = await install(root, join(travel, 'worker-9.pem'));
    expect(run.exitCode, show(run)).to.equal(0);
    const conf = readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8');
    const data = (field: string) => Buffer.from(new RegExp(`${field}: (\\S+)`).exec(conf)![1]!, 'base64').toString();
    expect(data('client-certificate-data')).to.equal(readFileSync(join(travel, 'worker-9.pem'), 'utf8'));
    expect(data('client-key-data').trim()).to.equal(key.trim());
    expect((statSync(join(root, 'etc/kubernetes/kubelet.conf')).mode & 0o777).toString(8)).to.equal('600');
    expect(lstatSync(join(root, PKI), { throwIfNoEntry: false })?.isDirectory() ? readdirSync(join(root, PKI)) : []).to.deep.equal([]);
    expect((await cli(['check', '--root', root])).exitCode).to.equal(0);
  });

  it('csr: the node name from kubelet.conf, or --node-name (checked); a tree without kubelet.conf is refused, nothing written', async () => {
    const root = await worker(caOf(cp), 'worker-10', url);
    const named = await cli(['kubelet', 'csr', '--root', root, '--node-name', 'renamed-node']);
    expect(named.exitCode, show(named)).to.equal(0);
    const req = await execa('openssl', ['req', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: named.stdout, reject: false, all: true });
    expect(String(req.all)).to.match(/CN=system:node:renamed-node,O=system:nodes/);
    const bad = await cli(['kubelet', 'csr', '--root', root, '--node-name', 'Bad_Name']);
    expect(bad.exitCode).to.equal(2);
    const bare = tempDir('rk-no-conf-');
    const missing = await cli(['kubelet', 'csr', '--root', bare]);
    expect(missing.exitCode, show(missing)).to.equal(3);
    expect(missing.stderr).to.match(/kubelet\.conf is not on this host/);
    expect(readdirSync(bare), 'no key made for a tree that is not a node').to.deep.equal([]);
  });

  it('break-glass issue: cert + key per node (0600), verified against ca.crt, and it says loudly that keys travel', async () => {
    const out = join(tempDir('rk-glass-'), 'out');
    const run = await cli(['kubelet', 'issue', '--nodes', 'worker-a,worker-b', '--out', out, '--root', cp, '--yes']);
    expect(run.exitCode, show(run)).to.equal(0);
    expect(run.stderr).to.match(/BREAK-GLASS: the private keys are made HERE/);
    for (const name of ['worker-a', 'worker-b']) {
      const file = join(out, `${name}.pem`);
      expect((statSync(file).mode & 0o777).toString(8)).to.equal('600');
      expect(readFileSync(file, 'utf8')).to.match(KEY_BLOCK);
      await opensslVerifyClient(join(cp, 'etc/kubernetes/pki/ca.crt'), file);
      expect(parseCertificate(readFileSync(file)).subjectText).to.equal(`O=system:nodes, CN=system:node:${name}`);
    }
    const bad = await cli(['kubelet', 'issue', '--nodes', 'ok,Not_A:Node', '--out', join(out, 'x'), '--root', cp, '--yes']);
    expect(bad.exitCode).to.equal(2);
    expect(existsSync(join(out, 'x'))).to.equal(false);
    writeFileSync(join(out, 'keep'), '');
  });
});
