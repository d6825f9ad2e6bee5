// RescueError: one error shape for the library and the CLI, with a stable code,
// a hint saying what to do next, and the exit status the CLI maps it to.

/** Exit statuses (STYLE.md). Stable: scripts and cron jobs depend on them. */
export const ExitCode = {
  ok: 0,
  bug: 1,
  usage: 2,
  precondition: 3,
  invalidInput: 4,
  failedNothingChanged: 5,
  failedPartialChange: 6,
  /** Ctrl+C (128 + SIGINT), as shells report it. */
  interrupted: 130,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

/** Stable error codes; each belongs to one exit class. */
const codeClass = {
  USAGE: 'usage',
  UNKNOWN_PROFILE: 'invalidInput',
  INVALID_JSON: 'invalidInput',
  INVALID_CONFIG: 'invalidInput',
  INVALID_CSR: 'invalidInput',
  INVALID_PEM: 'invalidInput',
  INVALID_KEY: 'invalidInput',
  WEAK_KEY: 'invalidInput',
  INVALID_DURATION: 'invalidInput',
  INVALID_HOST: 'invalidInput',
  KEY_MISMATCH: 'invalidInput',
  INVALID_ARCHIVE: 'invalidInput',
  UNSAFE_ARCHIVE: 'invalidInput',
  ETCD_UNAVAILABLE: 'precondition',
  /** etcd runs but cannot be snapshotted, and copying its live data dir was not allowed (--allow-live-copy). */
  ETCD_LIVE_COPY: 'precondition',
  ABORTED: 'failedNothingChanged',
  FAILED_ROLLED_BACK: 'failedPartialChange',
  INTERRUPTED_RUN: 'precondition',
  INTERRUPTED: 'interrupted',
  CA_MISMATCH: 'invalidInput',
  NOT_A_CA: 'invalidInput',
  CA_EXPIRED: 'precondition',
  CA_TOO_SHORT: 'precondition',
  FILE_NOT_FOUND: 'precondition',
  FILE_EXISTS: 'precondition',
  WRITE_FAILED: 'failedNothingChanged',
  DISK_FULL: 'failedNothingChanged',
  READ_ONLY: 'failedNothingChanged',
  PERMISSION_DENIED: 'failedNothingChanged',
  /** The tree changed between the plan and the first write (another run, the kubelet): plan again. */
  TREE_CHANGED: 'failedNothingChanged',
  /** Another rescue-kit run holds the lock right now. */
  RUN_IN_PROGRESS: 'precondition',
  /** Some certificates could not be renewed (named); the others were. */
  NOT_ALL_RENEWED: 'precondition',
  /** A generic precondition (e.g. nothing needs renewing without --force). */
  PRECONDITION: 'precondition',
  /** --root / --path hold no recognisable tree (absent, empty, one level too deep). */
  NO_TREE: 'precondition',
  /**
   * `audit verify`: the log is not what was written (a line edited, deleted, moved, cut off). Exit 4, like any
   * input that fails its own checksums (a tampered backup is INVALID_ARCHIVE, also 4): cron and monitoring alert on non-zero.
   */
  AUDIT_TAMPERED: 'invalidInput',
  INTERNAL: 'bug',
} as const satisfies Record<string, ExitCodeName>;
export type ErrorCode = keyof typeof codeClass;

export interface RescueErrorOptions {
  /** The next thing the user should do, as a command where possible. */
  hint?: string;
  /** The file the problem is in, so the message can name it. */
  file?: string;
  cause?: unknown;
}

export class RescueError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, options: RescueErrorOptions = {}) {
    super(options.file ? `${options.file}: ${message}` : message, { cause: options.cause });
    this.name = 'RescueError';
    this.code = code;
    this.hint = options.hint;
    this.file = options.file;
  }

  get exitCode(): number {
    return ExitCode[codeClass[this.code]];
  }

  /** Same error, now naming the file it came from (for pure functions that never saw a path). */
  inFile(file: string): RescueError {
    if (this.file) return this;
    const located = new RescueError(this.code, this.message, { hint: this.hint, file, cause: this.cause });
    located.stack = this.stack;
    return located;
  }
}

export function isRescueError(error: unknown): error is RescueError {
  return error instanceof RescueError;
}

/** Run fn; a RescueError thrown inside is re-labelled with the file it concerns. */
export function withFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isRescueError(error)) throw error.inFile(file);
    throw error;
  }
}

/** errno codes an outage produces (full disk, read-only mount, chattr +i, not root), in words and with the fix. */
const IO_CAUSES: Record<string, { code: ErrorCode; words: string; fix: string }> = {
  ENOSPC: { code: 'DISK_FULL', words: 'no space left on the device', fix: 'free space on that filesystem (old backups in /var/lib/rescue-kit/backups, logs, images), then run the command again' },
  EDQUOT: { code: 'DISK_FULL', words: 'disk quota exceeded', fix: 'free space or raise the quota, then run the command again' },
  EROFS: { code: 'READ_ONLY', words: 'the filesystem is mounted read-only', fix: 'remount it read-write (mount -o remount,rw MOUNTPOINT), then run the command again' },
  EPERM: { code: 'PERMISSION_DENIED', words: 'operation not permitted (immutable or append-only file, or not root)', fix: 'run as root; if it is already root, clear the immutable flag (lsattr / chattr -i PATH)' },
  EACCES: { code: 'PERMISSION_DENIED', words: 'permission denied', fix: 'run as root (sudo rescue-kit ...)' },
  EIO: { code: 'WRITE_FAILED', words: 'an I/O error from the device', fix: 'check the disk (dmesg); write to another device with --root on a copy' },
};

export function isIoError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in IO_CAUSES;
}

/**
 * A system error (ENOSPC, EROFS, EPERM, EACCES, ...) as a RescueError that names the path, the cause in
 * words and the fix. `outcome` says what happened to the tree, so the operator never has to guess.
 */
export function ioError(error: unknown, outcome = 'nothing was changed'): RescueError {
  if (isRescueError(error)) return error;
  const errno = error as NodeJS.ErrnoException;
  const cause = IO_CAUSES[errno.code ?? ''];
  if (!cause) return new RescueError('INTERNAL', errno.message ?? String(error), { cause: error });
  const where = errno.path ? `${errno.path}: ` : '';
  return new RescueError(cause.code, `${where}${cause.words} (${errno.code}${errno.syscall ? ` in ${errno.syscall}` : ''}); ${outcome}`, { hint: cause.fix, cause: error });
}
