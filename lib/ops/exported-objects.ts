// Kubernetes objects an operator exported (`kubectl get ... -o yaml` or `-o json`, one object, several
// documents, or a List) and carried to where rescue-kit runs: what `webhook --from` and
// `ca in-cluster --from` read when the cluster does not answer here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { RescueError, withFile } from '../errors.js';
import type { K8sObject } from './seeds/webhook.js';

/** Every object in a file, or in the .yaml/.yml/.json files of a directory; a List's items count one by one. */
export function exportedObjects(path: string): K8sObject[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? readdirSync(path).filter((name) => /\.(ya?ml|json)$/.test(name)).sort().map((name) => join(path, name)) : [path];
  } catch (error) {
    throw new RescueError('FILE_NOT_FOUND', `${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, { file: path, hint: 'export the objects first (kubectl get ... -o yaml > FILE) and pass that file or its directory' });
  }
  const objects: K8sObject[] = [];
  for (const file of files) {
    withFile(file, () => {
      for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
        if ('errors' in document && document.errors.length) throw new RescueError('INVALID_CONFIG', `not valid YAML/JSON: ${document.errors[0]!.message}`, { hint: 'export again with kubectl get ... -o yaml' });
        const value = document.toJS() as K8sObject | null;
        if (!value) continue;
        objects.push(...(value.kind?.endsWith('List') && Array.isArray(value.items) ? (value.items as K8sObject[]) : [value]));
      }
    });
  }
  return objects;
}

/**
 * An object as a rollback writes it back: without metadata.resourceVersion. The run itself changed the object,
 * so the version it was read at is stale by then, and the apiserver would refuse it as a Conflict.
 */
export function withoutResourceVersion(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  delete (copy.metadata as Record<string, unknown> | undefined)?.resourceVersion;
  return copy;
}
