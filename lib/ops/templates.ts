// The CSR templates shipped in templates/ (kubeadm components, a binary
// install's, webhooks), and the \${VARS} a template asks for.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readText } from '../host/fs.js';

const TEMPLATE_GROUPS = ['kubeadm', 'binary', 'webhook'];

/** Every template as GROUP/FILE (e.g. kubeadm/apiserver-csr.json). */
export function listTemplates(templatesDir: string): string[] {
  return TEMPLATE_GROUPS.flatMap((group) => readdirSync(join(templatesDir, group)).map((file) => `${group}/${file}`));
}

/** The \${NAME} variables a template needs filled, in order of first use. */
export function templateVariables(path: string): string[] {
  return [...new Set([...readText(path, 'CSR template').matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((match) => match[1]!))];
}
