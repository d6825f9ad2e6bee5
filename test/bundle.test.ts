// The offline bundle as an operator gets it: scripts/build-bundle --arch x64
// (the Node tarball is cached in .cache/node/ after the first build), unpacked,
// checked with `rescue-kit.sh verify`, tampered with, and run inside a network
// namespace with no network and the system node hidden: verify, check, renew, check.
// When the bundle cannot be built (no network and no cache) this suite fails.
import { expect } from 'chai';
import { execa } from 'execa';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRoot, repoRoot, tempDir } from './helpers/env.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const NAME = `rescue-kit-${version}-linux-x64`;
const MB = 1024 * 1024;

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  all: string;
}

async function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const result = await execa(file, args, { reject: false, all: true, stdin: 'ignore', ...options });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), all: String(result.all) };
}

/** An executable shell script at path. */
function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Flip one bit of the byte at offset (the file keeps its size). */
function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x01;
  writeFileSync(path, bytes);
}

describe('offline bundle (scripts/build-bundle)', function () {
  this.timeout(300_000);

  let out: string;
  let tarball: string;
  let allowedSigners: string;
  let buildSeconds: number;

  /** A fresh unpacked copy of the x64 bundle; returns its top directory. */
  async function unpack(): Promise<string> {
    const dir = tempDir('rk-bundle-');
    const result = await run('tar', ['-xzf', tarball, '-C', dir]);
    expect(result.exitCode, result.all).to.equal(0);
    return join(dir, NAME);
  }

  const verify = (bundle: string, args: string[] = ['--allowed-signers', allowedSigners, '--require-signature']) =>
    run(join(bundle, 'rescue-kit.sh'), ['verify', ...args]);

  before(async function () {
    this.timeout(300_000);
    out = tempDir('rk-dist-');
    const started = Date.now();
    const build = await run(join(repoRoot, 'scripts', 'build-bundle'), ['--arch', 'x64', '--out', out], { cwd: repoRoot });
    buildSeconds = (Date.now() - started) / 1000;
    // No skipping: a bundle that cannot be built is a failure.
    if (build.exitCode !== 0) throw new Error(`scripts/build-bundle --arch x64 failed (exit ${build.exitCode}):\n${build.all}`);
    tarball = join(out, `${NAME}.tar.gz`);
    allowedSigners = join(out, 'allowed_signers');
    expect(existsSync(tarball), build.all).to.equal(true);
    expect(build.stderr).to.match(/TESTING ONLY/);
  });

  it('holds the bundled Node, the one-file CLI, templates, conf, rescue-kit.sh, README, SHA256SUMS and its signature', async () => {
    const listing = await run('tar', ['-tzvf', tarball]);
    expect(listing.exitCode).to.equal(0);
    const entries = listing.stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(5).join(' '));
    for (const path of ['rescue-kit.sh', 'README.md', 'BUNDLE', 'SHA256SUMS', 'SHA256SUMS.sig', 'node/bin/node', 'node/LICENSE',
      'dist-cli/rescue-kit.mjs', 'dist-cli/THIRD-PARTY-LICENSES.txt', 'conf/ca-config.json', 'templates/kubeadm/ca-csr.json',
      'scripts/ansible/rescue.yml', 'scripts/ansible/roles/rescue_kit/tasks/worker.yml', 'scripts/ansible/fleet-report.schema.json', 'scripts/ansible/README.md']) {
      expect(entries, path).to.include(`${NAME}/${path}`);
    }
    expect(entries.filter((path) => /node_modules|\/build\/|\.ts$/.test(path))).to.deep.equal([]);
    expect(listing.stdout.split('\n').filter(Boolean).every((line) => line.includes(' 0/0 ')), 'owned by 0/0').to.equal(true);

    const bundle = await unpack();
    expect(readFileSync(join(bundle, 'BUNDLE'), 'utf8')).to.match(new RegExp(`^version=${version.replace(/\./g, '\\.')}\narch=x64\nnode=22\\.`));
    const node = await run(join(bundle, 'node', 'bin', 'node'), ['--version']);
    expect(node.stdout).to.match(/^v22\./);
    const size = statSync(tarball).size;
    console.log(`      ${NAME}.tar.gz: ${(size / MB).toFixed(1)} MiB (${size} bytes), CLI ${(statSync(join(bundle, 'dist-cli', 'rescue-kit.mjs')).size / 1024).toFixed(0)} KiB, built in ${buildSeconds.toFixed(1)} s`);
    expect(size).to.be.below(60 * MB);
  });

  it('verify passes with the allowed-signers file and --require-signature', async () => {
    const result = await verify(await unpack());
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.stdout).to.match(/signature: Good "rescue-kit" signature for release@rescue-kit/);
    expect(result.stdout).to.match(/rescue-kit verify: OK$/m);
  });

  it('verify without an allowed-signers file checks the sums only, says so loudly, and --require-signature makes it fail', async () => {
    const bundle = await unpack();
    const sumsOnly = await verify(bundle, []);
    expect(sumsOnly.exitCode, sumsOnly.all).to.equal(0);
    expect(sumsOnly.stderr).to.match(/signature was NOT checked/);
    expect(sumsOnly.stdout).to.match(/OK \(sums only, signature NOT checked\)/);
    const required = await verify(bundle, ['--require-signature']);
    expect(required.exitCode, required.all).to.not.equal(0);
    expect(required.stderr).to.match(/--allowed-signers/);
  });

  it('verify fails on one changed byte in the CLI or in a template', async () => {
    for (const file of ['dist-cli/rescue-kit.mjs', 'templates/kubeadm/ca-csr.json']) {
      const bundle = await unpack();
      flipByte(join(bundle, file), 100);
      const result = await verify(bundle);
      expect(result.exitCode, `${file}\n${result.all}`).to.equal(4);
      expect(result.stderr).to.include(`FAILED: sha256: ${file}: FAILED`);
    }
  });

  it('verify fails on an added file or directory, and on a missing file', async () => {
    let bundle = await unpack();
    writeFileSync(join(bundle, 'templates', 'extra.json'), '{}\n');
    let result = await verify(bundle);
    expect(result.exitCode, result.all).to.equal(4);
    expect(result.stderr).to.include('not in SHA256SUMS: templates/extra.json');

    bundle = await unpack();
    mkdirSync(join(bundle, 'node', 'lib'));
    result = await verify(bundle);
    expect(result.exitCode, result.all).to.equal(4);
    expect(result.stderr).to.include('directory not in SHA256SUMS: node/lib');

    bundle = await unpack();
    await run('rm', [join(bundle, 'conf', 'ca-config.json')]);
    result = await verify(bundle);
    expect(result.exitCode, result.all).to.equal(4);
    expect(result.stderr).to.include('missing: conf/ca-config.json');
  });

  it('verify fails when SHA256SUMS is rewritten to match a change (the signature catches it), or for another signer', async () => {
    const bundle = await unpack();
    const cli = join(bundle, 'dist-cli', 'rescue-kit.mjs');
    appendFileSync(cli, '\n// changed\n');
    const sums = join(bundle, 'SHA256SUMS');
    const { stdout: newSum } = await run('sha256sum', [cli]);
    writeFileSync(sums, readFileSync(sums, 'utf8').replace(/^[0-9a-f]{64}(?=  dist-cli\/rescue-kit\.mjs$)/m, newSum.slice(0, 64)));
    const sumsOnly = await verify(bundle, []);
    expect(sumsOnly.exitCode, 'the sums alone cannot tell').to.equal(0);
    const signed = await verify(bundle);
    expect(signed.exitCode, signed.all).to.equal(4);
    expect(signed.stderr).to.match(/SHA256SUMS\.sig is not a good "rescue-kit" signature/);

    // A pristine bundle against someone else's key, and against the right key under another name.
    const pristine = await unpack();
    const keyDir = tempDir('rk-otherkey-');
    const key = join(keyDir, 'key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const [type, blob] = readFileSync(`${key}.pub`, 'utf8').split(' ');
    const otherSigners = join(keyDir, 'allowed_signers');
    writeFileSync(otherSigners, `release@rescue-kit namespaces="rescue-kit" ${type} ${blob}\n`);
    const other = await verify(pristine, ['--allowed-signers', otherSigners]);
    expect(other.exitCode, other.all).to.equal(4);
    const wrongId = await verify(pristine, ['--allowed-signers', allowedSigners, '--signer-id', 'someone@else']);
    expect(wrongId.exitCode, wrongId.all).to.equal(4);
  });

  it('refuses glibc < 2.28 (CentOS 7) and a CPU arch it was not built for, naming the way out', async () => {
    const bundle = await unpack();
    const bin = tempDir('rk-fakebin-');
    const path = (dir: string) => ({ PATH: `${dir}:${process.env.PATH}` });

    const oldGlibc = join(bin, 'glibc217');
    mkdirSync(oldGlibc);
    script(join(oldGlibc, 'getconf'), 'echo "glibc 2.17"');
    let result = await run(join(bundle, 'rescue-kit.sh'), ['--version'], { env: path(oldGlibc) });
    expect(result.exitCode).to.equal(3);
    expect(result.stderr).to.match(/this bundle's Node needs glibc >= 2\.28; this system has glibc 2\.17 \(CentOS\/RHEL 7\)/);
    expect(result.stderr).to.match(/EL8\+\/Debian 10\+/);

    const musl = join(bin, 'musl');
    mkdirSync(musl);
    script(join(musl, 'getconf'), 'exit 1');
    script(join(musl, 'ldd'), 'echo "musl libc (x86_64)" >&2; exit 1');
    result = await run(join(bundle, 'rescue-kit.sh'), ['--version'], { env: path(musl) });
    expect(result.exitCode).to.equal(3);
    expect(result.stderr).to.match(/needs glibc >= 2\.28; this system has musl/);

    const arm = join(bin, 'arm');
    mkdirSync(arm);
    script(join(arm, 'uname'), 'echo aarch64');
    result = await run(join(bundle, 'rescue-kit.sh'), ['--version'], { env: path(arm) });
    expect(result.exitCode).to.equal(3);
    expect(result.stderr).to.include(`this is the linux-x64 bundle but this machine is aarch64; use rescue-kit-${version}-linux-arm64.tar.gz`);

    result = await run(join(bundle, 'rescue-kit.sh'), ['--version']);
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.stdout.trim()).to.equal(version);
  });

  it('runs with no network and no system node: verify, check (11), renew --all (0), check (0), never npm', async function () {
    const bundle = await unpack();
    const fixture = fixtureRoot('kubeadm-1.14-expired');
    const work = tempDir('rk-netns-');
    const fakeBin = join(work, 'bin');
    mkdirSync(fakeBin);
    const marker = join(work, 'npm-was-called');
    for (const tool of ['npm', 'npx']) script(join(fakeBin, tool), `echo "${tool} was called: $*" >&2\ntouch '${marker}'\nexit 97`);

    // Hide every node this process knows of: the one on PATH and the one running the tests.
    const nodes = new Set([realpathSync(process.execPath)]);
    const onPath = await run('bash', ['-c', 'readlink -f "$(command -v node)"']);
    if (onPath.exitCode === 0 && onPath.stdout.trim()) nodes.add(onPath.stdout.trim());

    const inside = join(work, 'inside.sh');
    writeFileSync(inside, `#!/usr/bin/env bash
# Runs inside unshare -mn: a private mount namespace and an empty network namespace.
set -u
bundle="$1" fixture="$2" allowed="$3"
shift 3
for node in "$@"; do mount --bind /dev/null "$node" || exit 90; done
export PATH="${fakeBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
step() {
  local name="$1" out rc
  shift
  out="$("$@" 2>&1)"
  rc=$?
  printf '### %s\n%s\n### %s rc=%s\n' "$name" "$out" "$name" "$rc"
}
step node node --version
step interfaces bash -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
step links ip -o link
# loopback is down in the empty namespace: even a local connection fails (no outside address is ever tried)
step tcp timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22'
cd "$bundle" || exit 91
step version ./rescue-kit.sh --version
step verify ./rescue-kit.sh verify --allowed-signers "$allowed" --require-signature
step check-before ./rescue-kit.sh check --root "$fixture"
step renew ./rescue-kit.sh renew --all --restart none --yes --no-etcd-backup --root "$fixture"
step check-after ./rescue-kit.sh check --root "$fixture" --warn 1d
`);
    chmodSync(inside, 0o755);

    // CI runs as root; elsewhere a user namespace maps us to root for the bind mount.
    const unshare = process.getuid?.() === 0 ? ['-mn'] : ['-rmn'];
    const started = Date.now();
    const result = await run('unshare', [...unshare, inside, bundle, fixture, allowedSigners, ...nodes]);
    const seconds = (Date.now() - started) / 1000;
    expect(result.exitCode, `unshare ${unshare.join(' ')} failed (needs root or user namespaces):\n${result.all}`).to.equal(0);

    const steps: Record<string, { rc: number; output: string }> = {};
    for (const match of result.stdout.matchAll(/^### (\S+)\n([\s\S]*?)^### \1 rc=(\d+)$/gm)) {
      steps[match[1]!] = { rc: Number(match[3]), output: match[2]! };
    }
    const step = (name: string) => {
      expect(steps, `step ${name} did not run:\n${result.all}`).to.have.property(name);
      return steps[name]!;
    };
    expect(step('node').rc, 'the system node must be hidden').to.not.equal(0);
    expect(step('interfaces').output.split('\n').filter(Boolean), 'only loopback in the namespace').to.deep.equal(['lo']);
    expect(step('tcp').rc, 'no network').to.not.equal(0);
    expect(step('version').output.trim()).to.equal(version);
    expect(step('verify').rc, step('verify').output).to.equal(0);
    expect(step('verify').output).to.match(/signature: Good/);
    expect(step('check-before').rc, step('check-before').output).to.equal(11);
    expect(step('renew').rc, step('renew').output).to.equal(0);
    expect(step('renew').output).to.match(/the control plane certificates are renewed/);
    expect(step('check-after').rc, step('check-after').output).to.equal(0);
    expect(existsSync(marker), 'npm or npx was called').to.equal(false);
    expect(result.all).to.not.match(/(npm|npx) was called/);
    console.log(`      in the namespace: ${seconds.toFixed(1)} s (links: ${step('links').output.trim().replace(/\s+/g, ' ').slice(0, 80)})`);
  });

  it('in a source checkout, verify explains that it is for the bundle', async () => {
    const result = await run(join(repoRoot, 'rescue-kit.sh'), ['verify']);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.match(/checks an unpacked offline bundle/);
  });
});
