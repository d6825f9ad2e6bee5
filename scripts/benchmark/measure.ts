// Measuring: wall and CPU time of child processes and of this one, peak RSS
// (VmHWM), and running commands with their exit status checked.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Timing {
  ms: number;
  cpuMs: number;
}

export function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Wall and CPU time of `command args` (its stdout/stderr discarded, exit status checked). */
export function timeCommand(command: string, args: string[], what: string): Timing {
  const cpuBefore = childrenCpuMs();
  const start = performance.now();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpuBefore };
}

/** Wall and CPU time of `bash script` (the operator's loop); stdout/stderr discarded, exit status checked. */
export function timeScript(script: string, what: string): Timing {
  return timeCommand('bash', [script], what);
}

/** Run `node file args` and parse the last line of its stdout as JSON (the children's report). */
export function runJsonChild<T>(file: string, args: string[], what: string, nodeArgs: string[] = []): T & { spawnMs: number } {
  const start = performance.now();
  const result = spawnSync(process.execPath, [...nodeArgs, file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const spawnMs = performance.now() - start;
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stderr}`);
  const line = result.stdout.trim().split('\n').pop()!;
  return { ...(JSON.parse(line) as T), spawnMs };
}

export const sh = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

let clockTicks: number | undefined;
/** CPU time (user + system, ms) of this process's waited-for children, from /proc/self/stat (10 ms resolution). */
export function childrenCpuMs(): number {
  clockTicks ??= Number(run('getconf', ['CLK_TCK'], 'getconf CLK_TCK').trim()) || 100;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
}

/** CPU time (user + system, ms) of this process, all threads (the libuv pool included). */
export function ownCpuMs(since?: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1000;
}

export function vmHwmBytes(): number {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}
