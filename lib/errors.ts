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
