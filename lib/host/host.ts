// The Host: everything ops/ may touch on the machine — files under --root,
// processes, the clock — behind one injected object, so tests run ops against
// a copied tree with a fixed clock and fake binaries on PATH.
import { closeSync, lstatSync, openSync, readFileSync, readlinkSync, readdirSync, statSync, Stats } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, dirname, sep } from 'node:path';
import { RescueError } from '../errors.js';

export interface Host {
  /** Real directory that stands for "/" (default "/"). */
  readonly root: string;
  now(): Date;
  /** Real path of an absolute host path, e.g. /etc/kubernetes -> ROOT/etc/kubernetes. */
  real(hostPath: string): string;
  /** Host path of a real path under root (for display and manifests). */
  hostPath(realPath: string): string;
  /** File contents, or undefined when absent. Follows symlinks, resolving absolute targets under root. */
  read(hostPath: string): Buffer | undefined;
  lstat(hostPath: string): Stats | undefined;
  /**
   * Why read() gives nothing for a path that IS there: "is a directory", "dangling symlink -> TARGET",
   * "permission denied", ... Undefined when the path is absent or readable: absent and unreadable are
   * different problems with different fixes, so callers must never report one as the other.
   */
  unreadable(hostPath: string): string | undefined;
  /** Resolve symlinks (absolute targets re-rooted); undefined when dangling or escaping the root. */
  resolveLinks(hostPath: string): string | undefined;
  /** Entries of a directory (names), [] when absent. */
  list(hostPath: string): string[];
  /** Run a program (never through a shell). Never throws for a non-zero exit; a missing binary gives exitCode 127. */
  run(command: string, args: string[], options?: RunOptions): Promise<RunResult>;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

async function runWithExeca(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  const result = await execa(command, args, { reject: false, timeout: options.timeoutMs, env: options.env, stdin: 'ignore' });
  const missing = (result as { code?: string }).code === 'ENOENT';
  return {
    exitCode: missing ? 127 : (result.exitCode ?? 1),
    stdout: String(result.stdout ?? ''),
    stderr: missing ? `${command}: not found` : String(result.stderr ?? ''),
    timedOut: Boolean(result.timedOut),
  };
}

/** errno codes opening a file can fail with, in the words check and renew print. */
const OPEN_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symlinks',
  EIO: 'I/O error reading it',
};

function openError(error: unknown): string {
  const errno = error as NodeJS.ErrnoException;
  return OPEN_ERRORS[errno.code ?? ''] ?? errno.code ?? String(error);
}

export interface HostOptions {
  root?: string;
  now?: () => Date;
  run?: Host['run'];
}

export function createHost(options: HostOptions = {}): Host {
  const root = resolve(options.root ?? '/');
  const now = options.now ?? (() => new Date());
  const real = (hostPath: string) => {
    const absolute = isAbsolute(hostPath) ? hostPath : `/${hostPath}`;
    return join(root, normalize(absolute));
  };
  const hostPath = (realPath: string) => {
    const rel = relative(root, realPath);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new RescueError('INTERNAL', `${realPath} is outside the root ${root}`);
    return `/${rel.split(sep).join('/')}`;
  };
  const lstat = (path: string) => {
    try {
      return lstatSync(real(path));
    } catch {
      return undefined;
    }
  };
  const resolveLinks = (path: string): string | undefined => {
    let current = normalize(isAbsolute(path) ? path : `/${path}`);
    for (let hops = 0; hops < 16; hops++) {
      const stats = lstat(current);
      if (!stats) return undefined;
      if (!stats.isSymbolicLink()) return current;
      const target = readlinkSync(real(current));
      // An absolute target means "on the host": re-root it; a relative one is relative to the link's directory.
      current = normalize(isAbsolute(target) ? target : join(dirname(current), target));
      if (current.startsWith('/..')) return undefined;
    }
    return undefined;
  };
  const unreadable = (path: string): string | undefined => {
    const stats = lstat(path);
    if (!stats) return undefined;
    const resolved = resolveLinks(path);
    if (!resolved) return stats.isSymbolicLink() ? `dangling symlink -> ${readlinkSync(real(path))}` : undefined;
    const via = resolved === normalize(isAbsolute(path) ? path : `/${path}`) ? '' : ` (symlink -> ${resolved})`;
    try {
      const target = statSync(real(resolved));
      if (target.isDirectory()) return `is a directory${via}`;
      if (!target.isFile()) return `is not a regular file${via}`;
      closeSync(openSync(real(resolved), 'r'));
      return undefined;
    } catch (error) {
      return `${openError(error)}${via}`;
    }
  };
  return {
    root,
    now,
    run: options.run ?? runWithExeca,
    real,
    hostPath,
    lstat,
    unreadable,
    resolveLinks,
    read(path) {
      const resolved = resolveLinks(path);
      if (!resolved) return undefined;
      try {
        return statSync(real(resolved)).isFile() ? readFileSync(real(resolved)) : undefined;
      } catch {
        return undefined;
      }
    },
    list(path) {
      try {
        return readdirSync(real(path)).sort();
      } catch {
        return [];
      }
    },
  };
}
