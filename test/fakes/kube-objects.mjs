// A tiny Kubernetes REST object store for the apiserver stand-in, kept in the
// rig's REAL etcd (v3 JSON gateway) under /registry/<resource>/[<namespace>/]<name>,
// so the three stand-ins share one state and a write through one is read
// through another, and objects outlive a stand-in restart. metadata.resourceVersion
// is the key's etcd mod_revision (never stored in the value); every write is an
// etcd txn comparing mod_revision, so a stale resourceVersion is a 409 Conflict
// and two writers cannot lose each other's change. Errors are real `Status`
// objects, so kubectl prints `Error from server (NotFound): ...`.
import { randomUUID } from 'node:crypto';
import { discovery, groupVersion, resourceFor } from './kube-discovery.mjs';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from './kube-patch.mjs';
import { decodeProtobuf } from './kube-protobuf.mjs';
import { listTable, wantsTable } from './kube-table.mjs';

/** Paths this module answers; every other path keeps the stand-in's own behaviour. */
export const isKubeApiPath = (path) => /^\/(api|apis|version|openapi)(\/|$)/.test(path);

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const b64 = (text) => Buffer.from(text).toString('base64');
const unb64 = (text) => Buffer.from(text ?? '', 'base64').toString('utf8');
const clone = (value) => JSON.parse(JSON.stringify(value));
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

class ApiError extends Error {
  constructor(code, reason, message, details) {
    super(message);
    Object.assign(this, { code, reason, details });
  }
}

const status = (code, reason, message, details) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
/** `configmaps "x"` / `deployments.apps "x"`: how the apiserver names an object in its messages. */
const qualified = (resource, name) => `${resource.group ? `${resource.name}.${resource.group}` : resource.name} "${name}"`;
const details = (resource, name) => ({ name, ...(resource.group ? { group: resource.group } : {}), kind: resource.name });
const notFound = (resource, name) => new ApiError(404, 'NotFound', `${qualified(resource, name)} not found`, details(resource, name));
const conflict = (resource, name) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, name)}: the object has been modified; please apply your changes to the latest version and try again`, details(resource, name));
const badRequest = (message) => new ApiError(400, 'BadRequest', message);

/** The etcd side: one key per object, JSON values, mod_revision as resourceVersion. */
function etcdStore(etcdCall) {
  const call = async (path, body) => JSON.parse(await etcdCall(path, JSON.stringify(body)));
  const toObject = (kv) => {
    const object = JSON.parse(unb64(kv.value));
    object.metadata = { ...object.metadata, resourceVersion: String(kv.mod_revision) };
    return object;
  };
  const rangeEnd = (prefix) => {
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    return end.toString('base64');
  };
  return {
    async get(key) {
      const kv = (await call('/v3/kv/range', { key: b64(key) })).kvs?.[0];
      return kv ? toObject(kv) : undefined;
    },
    async list(prefix) {
      const answer = await call('/v3/kv/range', { key: b64(prefix), range_end: rangeEnd(prefix) });
      return { items: (answer.kvs ?? []).map(toObject), revision: String(answer.header.revision) };
    },
    /** Write when the key's mod_revision is still `expected` (0: the key must not exist); the new resourceVersion, or undefined. */
    async put(key, object, expected) {
      const value = clone(object);
      delete value.metadata.resourceVersion;
      const answer = await call('/v3/kv/txn', {
        compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(expected) }],
        success: [{ request_put: { key: b64(key), value: b64(JSON.stringify(value)) } }],
      });
      return answer.succeeded ? String(answer.header.revision) : undefined;
    },
    async delete(key) {
      const answer = await call('/v3/kv/deleterange', { key: b64(key), prev_kv: true });
      return answer.prev_kvs?.[0] ? toObject(answer.prev_kvs[0]) : undefined;
    },
  };
}

const keyOf = (resource, namespace, name) => `/registry/${resource.name}/${resource.namespaced ? `${namespace}/` : ''}${name}`;

/** What the apiserver's strategies do on every write: defaults, Secret stringData folded into data. */
function normalise(resource, object) {
  if (resource.kind === 'Secret') {
    if (object.stringData) object.data = { ...object.data, ...Object.fromEntries(Object.entries(object.stringData).map(([key, value]) => [key, b64(String(value))])) };
    delete object.stringData;
    object.type ||= 'Opaque';
  }
  if (resource.kind === 'Namespace') {
    object.spec = { finalizers: ['kubernetes'], ...object.spec };
    object.status = { phase: 'Active', ...object.status };
  }
  return object;
}

/** fieldValidation=Strict: a top-level field the kind does not have is refused, as the real decoder does. */
function validateFields(resource, object, query) {
  if (query.get('fieldValidation') !== 'Strict') return;
  const unknown = Object.keys(object).filter((field) => !['apiVersion', 'kind', 'metadata', ...resource.fields].includes(field));
  if (unknown.length) throw badRequest(`${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: strict decoding error: ${unknown.map((field) => `unknown field "${field}"`).join(', ')}`);
}

function checkIdentity(resource, object, namespace, name) {
  const gv = groupVersion(resource);
  if (object.kind && object.kind !== resource.kind) throw badRequest(`the object provided is unrecognized (must be of type ${resource.kind}): ${object.kind}`);
  if (object.apiVersion && object.apiVersion !== gv) throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${gv})`);
  if (resource.namespaced && object.metadata?.namespace && object.metadata.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  if (name !== undefined && object.metadata?.name !== name) throw badRequest(`the name of the object (${object.metadata?.name}) does not match the name on the URL (${name})`);
}

/** apiVersion/kind first, namespace filled in: the shape every answer has. */
function shaped(resource, object, namespace) {
  const { apiVersion, kind, metadata, ...rest } = object;
  return { apiVersion: groupVersion(resource), kind: resource.kind, metadata: { ...metadata, ...(resource.namespaced ? { namespace } : {}) }, ...rest };
}

/** Label selectors kubectl sends: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y). */
function matchesLabels(selector, labels = {}) {
  if (!selector) return true;
  return selector.split(/,(?![^(]*\))/).every((term) => {
    const requirement = term.trim();
    let match;
    if ((match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(requirement))) {
      const values = match[3].split(',').map((value) => value.trim());
      return (match[2] === 'in') === (match[1] in labels && values.includes(labels[match[1]]));
    }
    if ((match = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(requirement))) return match[2] === '!=' ? labels[match[1]] !== match[3] : labels[match[1]] === match[3];
    if ((match = /^!([\w./-]+)$/.exec(requirement))) return !(match[1] in labels);
    if (/^[\w./-]+$/.test(requirement)) return requirement in labels;
    throw badRequest(`unable to parse requirement: ${requirement}`);
  });
}

/** The field selectors every kind has (kubectl delete --wait lists with metadata.name=). */
function matchesFields(selector, object) {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const match = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (!match) throw badRequest(`"${term}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    const value = match[1] === 'metadata.name' ? object.metadata.name : object.metadata.namespace;
    return match[2] === '!=' ? value !== match[3] : value === match[3];
  });
}

const PATCHERS = {
  'application/merge-patch+json': mergePatch,
  'application/json-patch+json': jsonPatch,
  'application/strategic-merge-patch+json': strategicMerge,
};

const sameContent = (a, b) => {
  const strip = (object) => ({ ...object, metadata: { ...object.metadata, resourceVersion: undefined } });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
};

/** A JSON body, or the protobuf one kubectl's typed commands send (kube-protobuf.mjs). */
function parseBody(req, raw) {
  const unsupported = (why) => new ApiError(415, 'UnsupportedMediaType', `the rig's apiserver stand-in cannot read this body: ${why}`);
  if (/protobuf/.test(req.headers['content-type'] ?? '')) {
    let object;
    try {
      object = decodeProtobuf(raw);
    } catch (error) {
      throw unsupported(error.message);
    }
    if (!object) throw unsupported('protobuf is decoded for Namespace, ConfigMap and Secret only; send JSON');
    return object;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw unsupported('not JSON');
  }
}

/** One stand-in's view of the store. */
export function kubeObjects(etcdCall) {
  const store = etcdStore(etcdCall);
  let namespacesSeeded;
  // The namespaces every cluster has, created once in etcd by whichever stand-in asks first.
  const seedNamespaces = () =>
    (namespacesSeeded ??= Promise.all(
      BUILTIN_NAMESPACES.map((name) => store.put(keyOf(resourceFor('v1', 'namespaces'), undefined, name), normalise(resourceFor('v1', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: randomUUID(), creationTimestamp: now() } }), 0)),
    ).catch((error) => {
      namespacesSeeded = undefined;
      throw error;
    }));

  async function requireNamespace(resource, namespace) {
    if (!resource.namespaced) return;
    if (!(await store.get(keyOf(resourceFor('v1', 'namespaces'), undefined, namespace)))) throw notFound(resourceFor('v1', 'namespaces'), namespace);
  }

  async function create(resource, namespace, body, query) {
    checkIdentity(resource, body, namespace);
    validateFields(resource, body, query);
    const object = normalise(resource, shaped(resource, clone(body), namespace));
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    if (!object.metadata.name) throw new ApiError(422, 'Invalid', `${resource.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (object.metadata.resourceVersion) throw new ApiError(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
    await requireNamespace(resource, namespace);
    Object.assign(object.metadata, { uid: randomUUID(), creationTimestamp: now() });
    if (resource.fields.includes('spec') && resource.kind !== 'Namespace') object.metadata.generation = 1;
    const revision = await store.put(keyOf(resource, namespace, object.metadata.name), object, 0);
    if (!revision) throw new ApiError(409, 'AlreadyExists', `${qualified(resource, object.metadata.name)} already exists`, details(resource, object.metadata.name));
    object.metadata.resourceVersion = revision;
    return [201, object];
  }

  /**
   * The one write path of PUT and PATCH: `change` turns the current object into the wanted one;
   * a resourceVersion the wanted object carries must be the current one (else 409), and the
   * etcd txn compares mod_revision, so a writer in between makes us re-read and re-apply.
   */
  async function update(resource, namespace, name, change) {
    const key = keyOf(resource, namespace, name);
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await store.get(key);
      if (!current) throw notFound(resource, name);
      const wanted = normalise(resource, shaped(resource, change(clone(current)), namespace));
      checkIdentity(resource, wanted, namespace, name);
      const asked = wanted.metadata.resourceVersion;
      if (asked && asked !== current.metadata.resourceVersion) throw conflict(resource, name);
      Object.assign(wanted.metadata, { uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp, resourceVersion: current.metadata.resourceVersion });
      if (current.metadata.generation !== undefined) wanted.metadata.generation = current.metadata.generation + (JSON.stringify(wanted.spec) === JSON.stringify(current.spec) ? 0 : 1);
      // Like the apiserver: a write that changes nothing keeps the resourceVersion.
      if (sameContent(wanted, current)) return [200, current];
      const revision = await store.put(key, wanted, current.metadata.resourceVersion);
      if (revision) {
        wanted.metadata.resourceVersion = revision;
        return [200, wanted];
      }
      if (asked) throw conflict(resource, name);
    }
    throw conflict(resource, name);
  }

  function patcher(req, resource, body) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const apply = PATCHERS[type];
    if (!apply) throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCHERS).join(', ')}`);
    return (current) => {
      try {
        const result = apply(current, body);
        if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new PatchError('the patch did not produce an object');
        return result;
      } catch (error) {
        if (error instanceof PatchError) throw new ApiError(422, 'Invalid', `${resource.kind} is invalid: ${error.message}`);
        throw error;
      }
    };
  }

  async function route(req, path, query, body) {
    const match = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))\/(.+)$/.exec(path);
    if (!match) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const gv = match[1] ?? match[2];
    const parts = match[3].split('/').map(decodeURIComponent);
    const [namespace, plural, name, extra] = parts[0] === 'namespaces' && parts.length >= 3 ? [parts[1], parts[2], parts[3], parts[4]] : [undefined, parts[0], parts[1], parts[2]];
    const resource = resourceFor(gv, plural);
    if (!resource || extra !== undefined || (namespace !== undefined && !resource.namespaced)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    await seedNamespaces();
    const method = req.method;
    if (name === undefined) {
      if (method === 'GET') {
        if (query.get('watch') === 'true' || query.get('watch') === '1') throw new ApiError(405, 'MethodNotAllowed', 'watch is not served by the rig\'s apiserver stand-in');
        const prefix = `/registry/${resource.name}/${namespace !== undefined ? `${namespace}/` : ''}`;
        const { items, revision } = await store.list(prefix);
        const selected = items
          .map((item) => shaped(resource, item, item.metadata.namespace))
          .filter((item) => matchesLabels(query.get('labelSelector'), item.metadata.labels) && matchesFields(query.get('fieldSelector'), item));
        if (wantsTable(req)) return [200, listTable(selected, revision)];
        return [200, { kind: `${resource.kind}List`, apiVersion: groupVersion(resource), metadata: { resourceVersion: revision }, items: selected }];
      }
      if (method === 'POST') {
        if (resource.namespaced && namespace === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return create(resource, namespace, body, query);
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on a collection by the rig's apiserver stand-in`);
    }
    if (resource.namespaced && namespace === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const key = keyOf(resource, namespace, name);
    switch (method) {
      case 'GET': {
        const object = await store.get(key);
        if (!object) throw notFound(resource, name);
        return [200, wantsTable(req) ? listTable([shaped(resource, object, namespace)], object.metadata.resourceVersion) : shaped(resource, object, namespace)];
      }
      case 'PUT':
        validateFields(resource, body, query);
        return update(resource, namespace, name, () => clone(body));
      case 'PATCH':
        return update(resource, namespace, name, patcher(req, resource, body));
      case 'DELETE': {
        const gone = await store.delete(key);
        if (!gone) throw notFound(resource, name);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...details(resource, name), uid: gone.metadata.uid } }];
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported by the rig's apiserver stand-in`);
    }
  }

  /** Answer one request: `{status, body, type}`; etcd failures reject (the stand-in answers 503). */
  return async function serveKubeApi(req, address) {
    const url = new URL(req.url, 'https://stand-in');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const json = (code, value) => ({ status: code, body: JSON.stringify(value), type: 'application/json' });
    try {
      if (req.method === 'GET') {
        const answer = discovery(path, address);
        if (answer) return json(200, answer);
      }
      const body = raw.length ? parseBody(req, raw) : undefined;
      if (['POST', 'PUT', 'PATCH'].includes(req.method) && body === undefined) throw badRequest('the request has no body');
      const [code, value] = await route(req, path, url.searchParams, body);
      return json(code, value);
    } catch (error) {
      if (error instanceof ApiError) return json(error.code, status(error.code, error.reason, error.message, error.details));
      throw error;
    }
  };
}
