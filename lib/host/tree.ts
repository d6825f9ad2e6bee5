// Materialise a list of files (with modes and symlinks) under a root directory.
import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFilesAtomically } from './fs.js';

export interface TreeFile {
  /** Path relative to the root, no leading slash. */
  path: string;
  data?: string | Buffer;
  mode?: number;
  /** For symlinks: the link target (absolute, as the kubelet writes it). */
  symlink?: string;
}

export function writeTree(root: string, files: TreeFile[]): void {
  writeFilesAtomically(
    files.filter((file) => file.symlink === undefined).map((file) => ({ path: join(root, file.path), data: file.data ?? '', mode: file.mode ?? 0o644 })),
  );
  for (const file of files.filter((entry) => entry.symlink !== undefined)) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    symlinkSync(file.symlink!, join(root, file.path));
  }
}
