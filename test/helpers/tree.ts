// A tree as a comparable record: every entry under dir (hidden ones too) with its
// type, mode, and content hash or link target. Equal records = byte-identical trees.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

export function treeListing(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      const stat = lstatSync(path);
      const key = relative(dir, path);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) entries[key] = `link:${readlinkSync(path)}`;
      else if (stat.isDirectory()) {
        entries[key] = `dir:${mode}`;
        walk(path);
      } else entries[key] = `file:${mode}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  return entries;
}
