// Kubeconfig edits that change only the values they must: each scalar is
// located with the YAML parser and replaced in place in the original text, so
// comments, order and every other byte stay as they were (no sed, no re-dump).
import { isScalar, parseDocument } from 'yaml';
import { RescueError } from '../../errors.js';

export interface KubeconfigUser {
  index: number;
  name: string;
  certData?: string;
  keyData?: string;
  certFile?: string;
  keyFile?: string;
}

export interface KubeconfigView {
  currentUser?: KubeconfigUser;
  users: KubeconfigUser[];
  /** Indexes of clusters carrying certificate-authority-data. */
  clustersWithCaData: number[];
}

type YamlPath = (string | number)[];

function parse(text: string, file: string) {
  const document = parseDocument(text, { keepSourceTokens: false });
  if (document.errors.length) {
    throw new RescueError('INVALID_CONFIG', `not valid YAML: ${document.errors[0]!.message}`, { file, hint: 'restore the kubeconfig from the backup' });
  }
  return document;
}

export function readKubeconfig(text: string, file: string): KubeconfigView {
  return parseKubeconfig(text, file).view;
}

/** The parsed document (for in-place edits) and what it says, from one parse. */
export function parseKubeconfig(text: string, file: string): { document: ReturnType<typeof parse>; view: KubeconfigView } {
  const document = parse(text, file);
  const config = document.toJS() as {
    users?: { name?: string; user?: Record<string, string> }[];
    clusters?: { cluster?: Record<string, string> }[];
    contexts?: { name?: string; context?: { user?: string } }[];
    'current-context'?: string;
  };
  const users = (config?.users ?? []).map((entry, index) => ({
    index,
    name: entry.name ?? '',
    certData: entry.user?.['client-certificate-data'],
    keyData: entry.user?.['client-key-data'],
    certFile: entry.user?.['client-certificate'],
    keyFile: entry.user?.['client-key'],
  }));
  const contextUser = config?.contexts?.find((context) => context.name === config['current-context'])?.context?.user;
  const currentUser = users.find((user) => user.name === contextUser) ?? users.find((user) => user.certData || user.certFile);
  const clustersWithCaData = (config?.clusters ?? []).flatMap((entry, index) => (entry.cluster?.['certificate-authority-data'] ? [index] : []));
  return { document, view: { currentUser, users, clustersWithCaData } };
}

export interface ScalarEdit {
  path: YamlPath;
  value: string;
}

/** Replace existing scalar values in place; every other byte of `text` is kept. Pass the parsed document when you have it. */
export function patchKubeconfig(text: string, edits: ScalarEdit[], file: string, parsed?: ReturnType<typeof parse>): string {
  const document = parsed ?? parse(text, file);
  const replacements = edits.map((edit) => {
    const node = document.getIn(edit.path, true);
    if (!isScalar(node) || !node.range) {
      throw new RescueError('INVALID_CONFIG', `kubeconfig has no ${edit.path.join('.')} to update`, { file, hint: 'the kubeconfig has an unexpected shape; edit it by hand or restore it' });
    }
    if (/[\s"'#:]/.test(edit.value)) throw new RescueError('INTERNAL', `refusing to write a YAML value that needs quoting at ${edit.path.join('.')}`);
    return { start: node.range[0], end: node.range[1], value: edit.value };
  });
  let result = text;
  for (const { start, end, value } of replacements.sort((a, b) => b.start - a.start)) result = result.slice(0, start) + value + result.slice(end);
  // Prove the edit did exactly what was asked.
  const check = parse(result, file);
  for (const edit of edits) {
    if (check.getIn(edit.path) !== edit.value) throw new RescueError('INTERNAL', `kubeconfig edit of ${edit.path.join('.')} did not take`);
  }
  return result;
}

/** Point every cluster's certificate-authority-data at caPem (undefined when there is nothing to change). */
export function withCaData(text: string, caPem: string, file: string): string | undefined {
  const { document, view } = parseKubeconfig(text, file);
  if (!view.clustersWithCaData.length) return undefined;
  const patched = patchKubeconfig(text, view.clustersWithCaData.map((index) => ({ path: clusterCaField(index), value: base64(caPem) })), file, document);
  return patched === text ? undefined : patched;
}

export const userField = (index: number, field: string): YamlPath => ['users', index, 'user', field];
export const clusterCaField = (index: number): YamlPath => ['clusters', index, 'cluster', 'certificate-authority-data'];
export const base64 = (text: string) => Buffer.from(text).toString('base64');
