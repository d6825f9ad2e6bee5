// Appending to the audit log: under a lock file (so two writers never both chain
// from the same line and fork the chain), read the last line, write the new
// lines with O_APPEND in one write, fsync. A write cut short is cut back off;
// a last line that lost its newline in a crash gets it first.
import { closeSync, constants, fstatSync, ftruncateSync, fsyncSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { RescueError } from '../../errors.js';
import { makeDirectories } from '../../host/fs.js';
import type { Host } from '../../host/host.js';
import { isAlive } from '../renewal/journal.js';
import { AUDIT_LOG, AuditContext, AuditEntry, AuditRecord, GENESIS, parseLog } from './record.js';
import { sha256Hex } from '../../pki/digest.js';
import { compactTime } from '../../host/time.js';

/**
 * Where the log is: /var/lib/rescue-kit/audit.log of the tree whose certificates changed (under --root DIR, the
 * copied or mounted tree keeps its own history); on the host itself, RESCUE_KIT_AUDIT_LOG may move it (e.g. to an
 * append-only mount).
 */
export function auditLogPath(host: Host, env: NodeJS.ProcessEnv = process.env): string {
  return host.root === '/' && env.RESCUE_KIT_AUDIT_LOG ? env.RESCUE_KIT_AUDIT_LOG : host.real(AUDIT_LOG);
}

export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {}
  return env.SUDO_USER ? `${env.SUDO_USER} (as ${user})` : user;
}

const SECRET_OPTION = /^--(passphrase|password|token|private-key-data)/;
const SECRET_VAR = /^([A-Z0-9_]*(PASS|TOKEN|SECRET|KEY)[A-Z0-9_]*)=/;
/** A value that looks like key material: PEM, or a long opaque base64/hex token (paths and names have / . or are short). */
const LOOKS_LIKE_KEY = (value: string) => /-----BEGIN|PRIVATE KEY/.test(value) || /^[A-Za-z0-9+_-]{40,}={0,2}$/.test(value);

/** The command line as typed, with secrets replaced: --passphrase* values, NAME_KEY=... vars, anything that looks like a key. */
export function redactedCommandLine(argv: string[] = process.argv): string {
  const args = argv.slice(2);
  const out: string[] = ['rescue-kit'];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const [option, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (SECRET_OPTION.test(option)) {
      out.push(inline !== undefined ? `${option}=[redacted]` : option);
      if (inline === undefined && index + 1 < args.length && !args[index + 1]!.startsWith('--')) {
        out.push('[redacted]');
        index++;
      }
    } else if (SECRET_VAR.test(arg)) out.push(`${SECRET_VAR.exec(arg)![1]}=[redacted]`);
    else if (LOOKS_LIKE_KEY(arg)) out.push('[redacted]');
    else out.push(arg);
  }
  return out.map((word) => (/^[\w./:=@,+%[\]-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const LOCK_WAIT_MS = 10_000;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Take LOG.lock (O_EXCL, holding our pid); wait for a live holder; break the lock of a dead one. */
function lockLog(path: string): () => void {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = 0;
    let age = 0;
    let inode = 0;
    try {
      const stats = statSync(lock);
      inode = stats.ino;
      age = Date.now() - stats.mtimeMs;
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    // A holder that died (or a lock without a pid for longer than any append takes) is broken, if it is still the same file.
    if ((holder && !isAlive(holder)) || (!holder && age > LOCK_WAIT_MS)) {
      try {
        if (statSync(lock).ino === inode) rmSync(lock);
      } catch {}
      continue;
    }
    if (Date.now() > deadline) throw new RescueError('RUN_IN_PROGRESS', `the audit log lock ${lock} is held by pid ${holder} for more than ${LOCK_WAIT_MS / 1000}s`, { hint: `if that process is gone, remove ${lock}` });
    sleep(5 + Math.random() * 20);
  }
}

/** The tail of the file (enough to hold its last line), or all of it when the last line needs counting. */
function readTail(fd: number, size: number, bytes: number): Buffer {
  const length = Math.min(size, bytes);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  return buffer;
}

/** sha256 of format-1 lines as they stand, newline-separated (the first chained line commits to all of them). */
export function legacyDigest(lines: { bytes: Buffer }[]): string {
  return sha256Hex(Buffer.concat(lines.flatMap((line, index) => (index ? [Buffer.from('\n'), line.bytes] : [line.bytes]))));
}

interface ChainPoint {
  seq: number;
  prev: string;
  legacy?: { lines: number; sha256: string };
  needsNewline: boolean;
}

/** Where the next line chains from: the last line's number and hash (the whole file is read only when the tail does not say). */
function nextChainPoint(fd: number): ChainPoint {
  const size = fstatSync(fd).size;
  if (size === 0) return { seq: 1, prev: GENESIS, needsNewline: false };
  const tail = readTail(fd, size, 1 << 16);
  const needsNewline = tail[tail.length - 1] !== 0x0a;
  const body = needsNewline ? tail : tail.subarray(0, tail.length - 1);
  const start = body.lastIndexOf(0x0a) + 1;
  if (start > 0 || tail.length === size) {
    const last = body.subarray(start);
    const [line] = parseLog(Buffer.concat([last, Buffer.from('\n')])).lines;
    if (line?.record) return { seq: line.record.seq + 1, prev: line.sha256, needsNewline };
  }
  // The last line is format 1 or damaged: count every line (and, when the chain starts here, digest the old lines).
  const whole = readTail(fd, size, size);
  const log = parseLog(whole);
  const lastLine = log.lines[log.lines.length - 1]!;
  const chained = log.lines.some((line) => line.kind === 'chained');
  return { seq: log.lines.length + 1, prev: lastLine.sha256, needsNewline, legacy: chained ? undefined : { lines: log.lines.length, sha256: legacyDigest(log.lines) } };
}

let ownRunId: string | undefined;
/** Commands without a journal get one id per process, so every line of one invocation groups together. */
function processRunId(host: Host): string {
  ownRunId ??= `${compactTime(host.now(), { milliseconds: true })}-${process.pid}`;
  return ownRunId;
}

export interface AppendOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Append one line per entry (all under one lock, in one write). Throws on I/O errors: callers warn, never fail on it. */
export function appendAuditEntries(host: Host, context: AuditContext, entries: AuditEntry[], options: AppendOptions = {}): AuditRecord[] {
  if (!entries.length) return [];
  const path = auditLogPath(host, options.env);
  makeDirectories(dirname(path), 0o700);
  const unlock = lockLog(path);
  try {
    const fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      const point = nextChainPoint(fd);
      const shared = {
        time: host.now().toISOString(),
        operator: operatorName(options.env),
        host: hostname(),
        command: context.command,
        commandLine: redactedCommandLine(options.argv),
        runId: context.runId ?? processRunId(host),
        result: context.result,
      };
      const records: AuditRecord[] = [];
      const lines: string[] = [];
      let { prev } = point;
      entries.forEach((entry, index) => {
        const record: AuditRecord = {
          v: 2,
          seq: point.seq + index,
          prev,
          ...(index === 0 && point.legacy ? { legacy: point.legacy } : {}),
          ...shared,
          ...entry,
          ...(context.backup ? { backup: context.backup } : {}),
          ...(entry.detail || context.detail ? { detail: [entry.detail, context.detail].filter(Boolean).join('; ') } : {}),
        };
        const line = JSON.stringify(record);
        prev = sha256Hex(line);
        records.push(record);
        lines.push(line);
      });
      const data = Buffer.from(`${point.needsNewline ? '\n' : ''}${lines.join('\n')}\n`);
      const before = fstatSync(fd).size;
      try {
        let written = 0;
        while (written < data.length) written += writeSync(fd, data, written);
        fsyncSync(fd);
      } catch (error) {
        // A half-written line would break the chain for good: cut the file back to where it was.
        try {
          ftruncateSync(fd, before);
        } catch {}
        throw error;
      }
      return records;
    } finally {
      closeSync(fd);
    }
  } finally {
    unlock();
  }
}

/** The log's head (line count and last line's sha256), for backup manifests: a later truncation is then caught. */
export function auditChainHead(host: Host, env: NodeJS.ProcessEnv = process.env): { path: string; lines: number; lastSha256: string } | undefined {
  let data: Buffer;
  try {
    data = readFileSync(auditLogPath(host, env));
  } catch {
    return undefined;
  }
  const log = parseLog(data);
  const last = log.lines[log.lines.length - 1];
  return last ? { path: auditLogPath(host, env), lines: log.lines.length, lastSha256: last.sha256 } : undefined;
}
