// What kubectl asks before it touches an object, for kube-objects.mjs: the
// resource table, legacy discovery (/api, /apis, /api/v1, /apis/G/V: kubectl
// 1.32 asks for aggregated discovery first and falls back when the answer is
// plain application/json), /version, and the OpenAPI v3 documents kubectl reads
// to learn that the server validates fields itself (a PATCH operation per kind
// carrying the `fieldValidation` parameter): then `create/replace/apply -f`
// need no client-side schema and no --validate=false.

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.4', gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335', gitTreeState: 'clean', buildDate: '2025-04-22T16:02:27Z', goVersion: 'go1.23.6', compiler: 'gc', platform: 'linux/amd64' };

const WORKLOAD_FIELDS = ['spec', 'status'];
/** Every kind the store keeps; `fields` are its top-level fields besides apiVersion/kind/metadata (fieldValidation=Strict refuses others). */
export const RESOURCES = [
  { group: '', version: 'v1', name: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, short: ['ns'], fields: ['spec', 'status'] },
  { group: '', version: 'v1', name: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, short: ['cm'], fields: ['data', 'binaryData', 'immutable'] },
  { group: '', version: 'v1', name: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, short: [], fields: ['data', 'stringData', 'type', 'immutable'] },
  { group: '', version: 'v1', name: 'services', singular: 'service', kind: 'Service', namespaced: true, short: ['svc'], fields: ['spec', 'status'] },
  { group: '', version: 'v1', name: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, short: ['ep'], fields: ['subsets'] },
  { group: 'admissionregistration.k8s.io', version: 'v1', name: 'validatingwebhookconfigurations', singular: 'validatingwebhookconfiguration', kind: 'ValidatingWebhookConfiguration', namespaced: false, short: [], fields: ['webhooks'] },
  { group: 'admissionregistration.k8s.io', version: 'v1', name: 'mutatingwebhookconfigurations', singular: 'mutatingwebhookconfiguration', kind: 'MutatingWebhookConfiguration', namespaced: false, short: [], fields: ['webhooks'] },
  { group: 'apiregistration.k8s.io', version: 'v1', name: 'apiservices', singular: 'apiservice', kind: 'APIService', namespaced: false, short: [], fields: ['spec', 'status'] },
  { group: 'apiextensions.k8s.io', version: 'v1', name: 'customresourcedefinitions', singular: 'customresourcedefinition', kind: 'CustomResourceDefinition', namespaced: false, short: ['crd', 'crds'], fields: ['spec', 'status'] },
  { group: 'apps', version: 'v1', name: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, short: ['deploy'], fields: WORKLOAD_FIELDS },
  { group: 'apps', version: 'v1', name: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', namespaced: true, short: ['sts'], fields: WORKLOAD_FIELDS },
  { group: 'apps', version: 'v1', name: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true, short: ['ds'], fields: WORKLOAD_FIELDS },
];

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update'];
const groupVersion = (resource) => (resource.group ? `${resource.group}/${resource.version}` : resource.version);
const groups = () => [...new Set(RESOURCES.filter((resource) => resource.group).map(groupVersion))];

/** `api/v1` or `apis/apps/v1`: the OpenAPI v3 path of a group version. */
const openapiPath = (gv) => (gv === 'v1' ? 'api/v1' : `apis/${gv}`);

function resourceList(gv) {
  const resources = RESOURCES.filter((resource) => groupVersion(resource) === gv);
  if (!resources.length) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: resources.map((resource) => ({ name: resource.name, singularName: resource.singular, namespaced: resource.namespaced, kind: resource.kind, verbs: VERBS, ...(resource.short.length ? { shortNames: resource.short } : {}) })),
  };
}

function openapiDocument(gv) {
  const resources = RESOURCES.filter((resource) => groupVersion(resource) === gv);
  if (!resources.length) return undefined;
  const paths = {};
  for (const resource of resources) {
    const prefix = `/${openapiPath(gv)}${resource.namespaced ? '/namespaces/{namespace}' : ''}/${resource.name}`;
    const gvk = { group: resource.group, version: resource.version, kind: resource.kind };
    const parameters = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));
    const operation = (action) => ({ operationId: `${action}${resource.kind}`, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, parameters, responses: { 200: { description: 'OK' } } });
    paths[prefix] = { get: operation('list'), post: operation('post') };
    paths[`${prefix}/{name}`] = { get: operation('get'), put: operation('put'), patch: operation('patch'), delete: operation('delete') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: KUBE_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

/**
 * The answer to a discovery or OpenAPI path, or undefined when the path is not one.
 * `address` is what serverAddressByClientCIDRs names (this stand-in's own).
 */
export function discovery(path, address) {
  if (path === '/version') return KUBE_VERSION;
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups().map((gv) => {
        const [name, version] = gv.split('/');
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      }),
    };
  }
  if (path === '/api/v1') return resourceList('v1');
  const group = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (group) return resourceList(`${group[1]}/${group[2]}`);
  const groupOnly = /^\/apis\/([^/]+)$/.exec(path);
  const preferred = groupOnly && groups().find((gv) => gv.startsWith(`${groupOnly[1]}/`));
  if (preferred) {
    const version = { groupVersion: preferred, version: preferred.split('/')[1] };
    return { kind: 'APIGroup', apiVersion: 'v1', name: groupOnly[1], versions: [version], preferredVersion: version };
  }
  if (path === '/openapi/v3') {
    const all = ['v1', ...groups()];
    return { paths: Object.fromEntries(all.map((gv) => [openapiPath(gv), { serverRelativeURL: `/openapi/v3/${openapiPath(gv)}?hash=${KUBE_VERSION.gitCommit.slice(0, 16)}${gv.replace(/\W/g, '')}` }])) };
  }
  const v3 = /^\/openapi\/v3\/(api\/v1|apis\/[^/]+\/[^/]+)$/.exec(path);
  if (v3) return openapiDocument(v3[1] === 'api/v1' ? 'v1' : v3[1].slice('apis/'.length));
  return undefined;
}

/** The table row for a group version and a plural resource name. */
export const resourceFor = (gv, name) => RESOURCES.find((resource) => groupVersion(resource) === gv && resource.name === name);
export { groupVersion };
