// Writes templates/kubeadm/*.json from the catalogue, so the CSR templates can
// never drift from the table (test/templates.test.ts checks they are current).
// Run: node build/scripts/gen-templates.js [--check]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubeadmTemplates } from '../lib/catalogue/templates.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, json] of kubeadmTemplates()) {
  const path = join(root, 'templates', 'kubeadm', file);
  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`stale: ${path}`);
      stale++;
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
process.exit(stale ? 1 : 0);
