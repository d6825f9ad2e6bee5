// Progress on long CLI work: `backup` of a big etcd data dir shows bytes and rate
// on stderr, one line rewritten with "\r" and throttled, when stderr is a real
// terminal (script(1) gives the CLI a pty) — and not a single progress line when
// stderr is a pipe.
import { expect } from 'chai';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { byteProgress } from '../lib/cli/progress.js';
import { writeTree } from '../lib/host/tree.js';
import { buildSandboxTree } from '../lib/ops/sandbox/sandbox.js';
import { cliPath, runCli, tempDir } from './helpers/env.js';

const MIB = 1 << 20;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A sandbox control plane whose etcd does not answer, with an etcd data dir of `mib` MiB (incompressible). */
async function treeWithBigEtcd(mib: number): Promise<string> {
  const root = tempDir('rk-progress-');
  writeTree(root, await buildSandboxTree({ now: new Date(), expiredDaysAgo: 30, key: { algo: 'ecdsa', size: 256 } }));
  const url = `https://127.0.0.1:${await freePort()}`;
  for (const [file, flag] of [['etcd.yaml', '--listen-client-urls'], ['kube-apiserver.yaml', '--etcd-servers']] as const) {
    const path = join(root, 'etc/kubernetes/manifests', file);
    const text = readFileSync(path, 'utf8');
    expect(text).to.include(flag);
    writeFileSync(path, text.replace(new RegExp(`${flag}=\\S+`), `${flag}=${url}`));
  }
  mkdirSync(join(root, 'var/lib/etcd/member/snap'), { recursive: true });
  chmodSync(join(root, 'var/lib/etcd'), 0o700);
  const fd = openSync(join(root, 'var/lib/etcd/member/snap/db'), 'w', 0o600);
  for (let written = 0; written < mib; written += 8) writeSync(fd, randomBytes(8 * MIB));
  closeSync(fd);
  return root;
}

/** A stand-in terminal for the unit test: records what is written. */
function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream };
}

describe('progress of long CLI work (backup of a big etcd dir)', function () {
  this.timeout(180_000);
  let root: string;
  before(async () => {
    root = await treeWithBigEtcd(96);
  });

  it('on a terminal: "archiving: X MiB of Y MiB (N%), R MiB/s" rewritten in place with \\r, a few times a second, ending at 100%', async () => {
    const archive = join(tempDir(), 'big.tar.gz');
    const command = `node ${cliPath} backup --root ${root} --out ${archive}`;
    const started = Date.now();
    const result = await execa('script', ['-q', '-e', '-c', command, '/dev/null'], { reject: false, env: { TERM: 'xterm', COLUMNS: '100' } });
    const seconds = (Date.now() - started) / 1000;
    const output = String(result.stdout);
    expect(result.exitCode, output).to.equal(0);
    const updates = output.split('\r').filter((part) => /^archiving: /.test(part));
    expect(updates.length, output).to.be.greaterThan(1);
    // Throttled: no more than ~5 a second (plus the final one).
    expect(updates.length).to.be.at.most(Math.ceil(seconds * 5) + 2);
    for (const update of updates) expect(update).to.match(/^archiving: \d+(\.\d)? (B|KiB|MiB) of 96\.\d MiB \(\d+%\), \d+(\.\d)? (B|KiB|MiB|GiB)\/s/);
    const percents = updates.map((update) => Number(/\((\d+)%\)/.exec(update)![1]));
    expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).to.equal(100);
    // The progress line is finished before anything else is said: the summary starts on its own line.
    expect(output).to.match(/100%\), [^\r\n]*\r?\nbackup written: /);
  });

  it('stderr not a terminal: not one progress line, no \\r', async () => {
    const archive = join(tempDir(), 'big.tar.gz');
    const result = await runCli(['backup', '--root', root, '--out', archive], { timeout: 120_000 });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.include('backup written:');
    expect(result.stderr).to.not.include('archiving:');
    expect(result.stderr).to.not.include('\r');
  });

  it('byteProgress: throttled to one render per 200 ms, nothing at all off a terminal', () => {
    let now = 0;
    const tty = fakeTerminal(true);
    const progress = byteProgress('archiving', tty.stream, () => now);
    for (let step = 1; step <= 100; step++) {
      now = step * 10; // 100 updates over one second
      progress.update(step * MIB, 100 * MIB);
    }
    progress.end();
    const renders = tty.writes.filter((text) => text.startsWith('\r'));
    expect(renders.length).to.be.within(5, 6); // every 200 ms, and the final state
    expect(renders.at(-1)).to.include('100.0 MiB of 100.0 MiB (100%), 100.0 MiB/s');
    expect(tty.writes.at(-1)).to.equal('\n');

    const pipe = fakeTerminal(false);
    const quiet = byteProgress('archiving', pipe.stream, () => now);
    quiet.update(1, 2);
    quiet.end();
    expect(pipe.writes).to.deep.equal([]);
  });
});
