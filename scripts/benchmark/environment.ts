// What the run happened on: versions, CPUs, the temp filesystem, load; and
// the cost of starting node with rescue-kit imported.
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from './constants.js';
import { run } from './measure.js';
import { median } from './results.js';

export function environment(work: string) {
  const opensslVersion = run('openssl', ['version'], 'openssl version').trim();
  const cfsslVersion = run('cfssl', ['version'], 'cfssl version').split('\n').filter(Boolean).map((line) => line.trim()).join(', ');
  const filesystem = run('stat', ['-f', '-c', '%T', work], 'stat -f').trim();
  const tar = run('tar', ['--version'], 'tar --version').split('\n')[0]!.trim();
  const gzip = run('gzip', ['--version'], 'gzip --version').split('\n')[0]!.trim();
  return {
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    nodeZlib: process.versions.zlib,
    openssl: opensslVersion,
    cfssl: cfsslVersion,
    tar,
    gzip,
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cpus: availableParallelism(),
    tmp: `${tmpdir()} (${filesystem})`,
    loadAverageAtStart: loadavg(),
    loadAverageAtEnd: [] as number[],
  };
}

export function measureStartup(): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, 'build', 'lib', 'index.js'))})`], 'node startup');
    runs.push(performance.now() - start);
  }
  return median(runs);
}
