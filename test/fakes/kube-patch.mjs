// The three PATCH flavours the apiserver takes, for kube-objects.mjs:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902, `test` included) and the
// part of Kubernetes' strategic merge patch that `kubectl apply` and
// `kubectl rollout restart` send for the rig's object kinds. Pure functions on
// plain JSON; a failure throws PatchError (the store answers 422 Invalid).

export class PatchError extends Error {}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const equal = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])]));
}

/** RFC 7386: objects merge recursively, null removes a member, anything else replaces. */
export function mergePatch(target, patch) {
  if (!isObject(patch)) return clone(patch);
  const result = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6901 pointer into its unescaped tokens. */
function tokens(pointer) {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer === '' ? [] : pointer.slice(1).split('/').map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document, pointer) {
  const path = tokens(pointer);
  if (!path.length) return { parent: undefined, key: undefined };
  let parent = document;
  for (const token of path.slice(0, -1)) {
    parent = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
    if (parent === undefined) throw new PatchError(`path ${pointer}: ${token} does not exist`);
  }
  return { parent, key: path[path.length - 1] };
}

function getAt(document, pointer) {
  let value = document;
  for (const token of tokens(pointer)) {
    if (Array.isArray(value) && /^(0|[1-9][0-9]*)$/.test(token) && Number(token) < value.length) value = value[Number(token)];
    else if (isObject(value) && Object.hasOwn(value, token)) value = value[token];
    else throw new PatchError(`path ${pointer} does not exist`);
  }
  return value;
}

function arrayIndex(array, key, forInsert, pointer) {
  if (forInsert && key === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw new PatchError(`path ${pointer}: ${key} is not an array index`);
  const index = Number(key);
  if (index > array.length || (!forInsert && index === array.length)) throw new PatchError(`path ${pointer}: index ${index} out of range`);
  return index;
}

function addAt(document, pointer, value) {
  const { parent, key } = parentOf(document, pointer);
  if (key === undefined) return clone(value);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, clone(value));
  else if (isObject(parent)) parent[key] = clone(value);
  else throw new PatchError(`path ${pointer}: parent is not a container`);
  return document;
}

function removeAt(document, pointer) {
  const { parent, key } = parentOf(document, pointer);
  if (key === undefined) throw new PatchError('cannot remove the whole document');
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (isObject(parent) && Object.hasOwn(parent, key)) delete parent[key];
  else throw new PatchError(`path ${pointer} does not exist`);
  return document;
}

/** RFC 6902: add, remove, replace, move, copy, test; all or nothing. */
export function jsonPatch(target, operations) {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch is an array of operations');
  let document = clone(target);
  for (const operation of operations) {
    const { op, path, from, value } = operation ?? {};
    if (['add', 'replace', 'test'].includes(op) && !Object.hasOwn(operation, 'value')) throw new PatchError(`${op} ${path}: no value`);
    switch (op) {
      case 'add':
        document = addAt(document, path, value);
        break;
      case 'remove':
        document = removeAt(document, path);
        break;
      case 'replace':
        getAt(document, path);
        document = tokens(path).length ? addAt(removeAt(document, path), path, value) : clone(value);
        break;
      case 'move': {
        const moved = clone(getAt(document, from));
        if (path !== from && path.startsWith(`${from}/`)) throw new PatchError(`move ${from} into its own child ${path}`);
        document = addAt(removeAt(document, from), path, moved);
        break;
      }
      case 'copy':
        document = addAt(document, path, getAt(document, from));
        break;
      case 'test':
        if (!equal(getAt(document, path), value)) throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation ${JSON.stringify(op)}`);
    }
  }
  return document;
}

// Strategic merge patch: which lists merge by which key. Kubernetes reads this
// from its Go struct tags (patchStrategy=merge, patchMergeKey); these are the
// tags of the fields the rig's kinds carry (admissionregistration/v1 webhooks,
// the pod template of apps/v1 workloads, ObjectMeta).
const MERGE_KEYS = {
  webhooks: 'name',
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  env: 'name',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  resourceClaims: 'name',
};
/** Lists of scalars whose patchStrategy is merge (a set union, not a replacement). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

function strategicList(field, original, patch) {
  const key = MERGE_KEYS[field];
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(clone);
  if (key) {
    const result = Array.isArray(original) ? original.map(clone) : [];
    for (const item of patch) {
      if (!isObject(item) || !Object.hasOwn(item, key)) throw new PatchError(`${field}: every item needs its merge key ${key}`);
      const at = result.findIndex((existing) => isObject(existing) && equal(existing[key], item[key]));
      if (item.$patch === 'delete') {
        if (at >= 0) result.splice(at, 1);
      } else if (at >= 0) result[at] = strategicMerge(result[at], item);
      else result.push(strategicMerge({}, item));
    }
    return result;
  }
  if (MERGED_SCALAR_LISTS.has(field)) {
    const result = Array.isArray(original) ? [...original] : [];
    for (const item of patch) if (!result.some((existing) => equal(existing, item))) result.push(item);
    return result;
  }
  return patch.map(clone);
}

/** Put the merged list in the order the client asked for; items only the server had go after. */
function reorder(field, list, order) {
  const key = MERGE_KEYS[field];
  const position = (item) => order.findIndex((wanted) => (key ? isObject(wanted) && isObject(item) && equal(wanted[key], item[key]) : equal(wanted, item)));
  const listed = list.filter((item) => position(item) >= 0).sort((a, b) => position(a) - position(b));
  return [...listed, ...list.filter((item) => position(item) < 0)];
}

/** Kubernetes' strategic merge patch, for the fields listed above; other lists are replaced, maps merged like RFC 7386. */
export function strategicMerge(original, patch) {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'delete') return undefined;
  const replace = patch.$patch === 'replace';
  const result = replace || !isObject(original) ? {} : clone(original);
  const orders = {};
  const deletions = {};
  let retainKeys;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (key === '$retainKeys') retainKeys = value;
    else if (key.startsWith(ORDER)) orders[key.slice(ORDER.length)] = value;
    else if (key.startsWith(DELETE_FROM)) deletions[key.slice(DELETE_FROM.length)] = value;
    else if (key.startsWith('$')) throw new PatchError(`unknown strategic merge patch directive ${key}`);
    else if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = strategicList(key, result[key], value);
    else if (isObject(value)) {
      const merged = strategicMerge(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [field, values] of Object.entries(deletions)) if (Array.isArray(result[field])) result[field] = result[field].filter((item) => !values.some((value) => equal(value, item)));
  for (const [field, order] of Object.entries(orders)) if (Array.isArray(result[field]) && Array.isArray(order)) result[field] = reorder(field, result[field], order);
  if (Array.isArray(retainKeys)) for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  return result;
}
