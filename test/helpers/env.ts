// Paths and tools shared by the tests: repo root, the built CLI, the shared
// fixtures (read-only: always copy), temp dirs, and the Go x509 checker.
import { chmodSync, cpSync, mkdtempSync, mkdirSync, rmSync, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync, Options } from 'execa';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repoRoot, 'build', 'lib', 'cli', 'main.js');
// The real expired trees live in the repository (test/fixtures, README there names their origins), so a plain clone tests.
export const fixturesRoot = resolve(repoRoot, 'test', 'fixtures');
export const FIXTURES = ['kubeadm-1.11-expired', 'kubeadm-1.14-expired'] as const;

const created: string[] = [];
/** A fresh temp dir, removed after the run (kept when KEEP_TMP is set, for debugging). */
export function tempDir(prefix = 'rk-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}
process.on('exit', () => {
  if (process.env.KEEP_TMP) return;
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/**
 * Key files as a real host has them: the fixtures are committed 0644, a kubeadm (or cfssljson) host writes
 * every private key — key files, kubeconfigs embedding client-key-data, the kubelet's cert+key pems — 0600.
 * Tests that want a group-readable key chmod it back themselves.
 */
export function hostKeyModes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stats = lstatSync(path);
    if (stats.isDirectory()) hostKeyModes(path);
    else if (stats.isFile() && stats.size < 1_000_000 && /PRIVATE KEY-----|client-key-data:/.test(readFileSync(path, 'latin1'))) chmodSync(path, 0o600);
  }
}

/** Copy a shared fixture into a temp dir (never write into shared/); returns the copy's root. */
export function copyFixture(name: (typeof FIXTURES)[number]): string {
  const dir = tempDir(`rk-${name}-`);
  cpSync(join(fixturesRoot, name), dir, { recursive: true, verbatimSymlinks: true });
  hostKeyModes(dir);
  return dir;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Commands on the host itself (issue, sign, ca init, webhook, cert-manager: no --root) record into the host's
 * /var/lib/rescue-kit/audit.log: every CLI a test starts sends those lines to a scratch log instead
 * (tests that check them set their own RESCUE_KIT_AUDIT_LOG). Runs with --root DIR still log under DIR.
 */
process.env.RESCUE_KIT_AUDIT_LOG ??= join(tempDir('rk-audit-'), 'audit.log');

/** Run the built CLI as a user would (no TTY, no stdin). */
export async function runCli(args: string[], options: Options = {}): Promise<CliResult> {
  const result = await execa('node', [cliPath, ...args], { reject: false, stdin: 'ignore', ...options, env: { NO_COLOR: '1', ...options.env } });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

let unprivilegedCliPath: string | undefined;
/**
 * The CLI as one esbuild file in a world-readable dir, for runs as an unprivileged user (setpriv):
 * the checkout itself may sit under a 0700 temp dir (CI's fresh clone) that such a user cannot enter.
 */
export function unprivilegedCli(): string {
  if (unprivilegedCliPath) return unprivilegedCliPath;
  const dir = mkdtempSync(join(tmpdir(), 'rk-cli-'));
  chmodSync(dir, 0o755);
  const out = join(dir, 'rescue-kit.mjs');
  const banner = "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);";
  execaSync(join(repoRoot, 'node_modules', '.bin', 'esbuild'), [join(repoRoot, 'lib', 'cli', 'main.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--log-level=warning', `--banner:js=${banner}`, `--outfile=${out}`]);
  chmodSync(out, 0o644);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  unprivilegedCliPath = out;
  return out;
}

/** Run the CLI as uid/gid `id` (nobody by default): root reads any file, so "permission denied" needs this. */
export async function runCliAs(args: string[], id = 65534): Promise<CliResult & { signal: string | undefined }> {
  const result = await execa('setpriv', [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', 'node', unprivilegedCli(), ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
  return { exitCode: result.exitCode ?? -1, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

let checkerPath: string | undefined;
/** Build test/go/x509check once per run (offline, stdlib only). */
export function goChecker(): string {
  if (checkerPath) return checkerPath;
  const out = join(repoRoot, '.test-tmp', 'bin', 'x509check');
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    execaSync('go', ['build', '-o', out, '.'], {
      cwd: join(repoRoot, 'test', 'go', 'x509check'),
      env: { GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: join(repoRoot, '.test-tmp', 'gocache'), CGO_ENABLED: '0' },
    });
  }
  checkerPath = out;
  return out;
}

export interface GoCheck {
  ok: boolean;
  error?: string;
  serial?: string;
  isCA?: boolean;
  dns?: string[];
  ips?: string[];
  eku?: number[];
}

export async function goCheck(args: string[]): Promise<GoCheck> {
  const result = await execa(goChecker(), args, { reject: false });
  if (result.exitCode === 2) throw new Error(`x509check usage error: ${result.stderr}`);
  return JSON.parse(String(result.stdout)) as GoCheck;
}

/** `openssl verify`; returns [ok, output]. */
export async function opensslVerify(caFile: string, certFile: string, extra: string[] = []): Promise<[boolean, string]> {
  const result = await execa('openssl', ['verify', '-CAfile', caFile, ...extra, certFile], { reject: false, all: true });
  return [result.exitCode === 0, String(result.all)];
}

/**
 * A fixture laid out as a host root: ROOT/etc/kubernetes (and kubeadm.conf beside it when present),
 * with owner write bits restored (shared/ is read-only), so ops can run with --root ROOT.
 */
export function fixtureRoot(name: (typeof FIXTURES)[number] | 'kubeadm-1.25-expired'): string {
  const root = tempDir(`rk-root-${name}-`);
  cpSync(join(fixturesRoot, name, 'etc-kubernetes'), join(root, 'etc', 'kubernetes'), { recursive: true, verbatimSymlinks: true });
  execaSync('chmod', ['-R', 'u+w', root]);
  hostKeyModes(root);
  return root;
}
