// The meta.k8s.io/v1 Table that plain `kubectl get` asks for (Accept: ...;as=Table),
// with the two columns every kind has: NAME and AGE (kubectl adds NAMESPACE from
// the rows' metadata when -A is given). `-o json/yaml` ask for the objects instead.

export const wantsTable = (req) => /as=Table/.test(req.headers.accept ?? '');

/** Like the apiserver's duration.HumanDuration, to the precision kubectl shows. */
function age(timestamp) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}

export function listTable(items, resourceVersion) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
      { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    ],
    rows: items.map((item) => ({ cells: [item.metadata.name, age(item.metadata.creationTimestamp)], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.metadata } })),
  };
}
