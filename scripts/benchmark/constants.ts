// Where things are and the fixed numbers every scenario shares.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (this file runs as build/scripts/benchmark/constants.js). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CA_CONFIG = join(ROOT, 'conf', 'ca-config.json');
/** rescue-kit's CLI, as an operator runs it. */
export const CLI = join(ROOT, 'build', 'lib', 'cli', 'main.js');
/** The bench's own entry point (scenario 3 runs it again as a child). */
export const BENCH_MAIN = join(ROOT, 'build', 'scripts', 'benchmark', 'main.js');
/** Scenario 4's child: one createBackup in a process of its own. */
export const BACKUP_CHILD = join(ROOT, 'build', 'scripts', 'benchmark', 'backup-child.js');
/** A real kubeadm 1.14 /etc/kubernetes whose leaves have expired (scenario 5). */
export const KUBEADM_FIXTURE = join(ROOT, 'test', 'fixtures', 'kubeadm-1.14-expired', 'etc-kubernetes');
export const DAY = 86_400_000;
export const LEAF_DAYS = 365;
