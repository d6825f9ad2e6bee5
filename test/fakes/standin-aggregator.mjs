// The aggregation layer of the apiserver stand-in, as the real kube-apiserver has it:
//  - APIServices: requests under /apis/<group>/ of a registered group are proxied to its extension
//    apiserver over TLS, the stand-in presenting --proxy-client-cert-file/--proxy-client-key-file and
//    passing the authenticated user in X-Remote-User / X-Remote-Group; the extension server's cert is
//    verified with the APIService's caBundle. The real apiserver reads APIService objects from etcd;
//    here they come from a JSON file the rig writes (--aggregated-apis-file, a stand-in-only flag).
//  - kube-system/extension-apiserver-authentication: every real kube-apiserver runs the
//    ClusterAuthenticationTrustController, which merges its own --requestheader-client-ca-file (and
//    allowed names, header names) INTO the ConfigMap: the union of what is there and its own, expired
//    certs dropped (5 min slack), duplicates dropped; it never removes an unexpired CA, re-syncs on
//    every change or deletion of the ConfigMap and once a minute. Modelled with a JSON file
//    ({data: {...}}, --authentication-configmap-file, stand-in-only) merged the same way under a lock
//    (the real one's optimistic concurrency) at start and every 250 ms (the informer's reaction time).
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const FIVE_MINUTES_MS = 5 * 60_000;

/** combineCertLists: lhs then rhs, expired (5 min slack) and duplicate certificates dropped. */
export function combineCertLists(...bundles) {
  const seen = new Set();
  const kept = [];
  for (const pem of bundles.flatMap((bundle) => bundle?.match(PEM_CERT) ?? [])) {
    const certificate = new X509Certificate(pem);
    const der = certificate.raw.toString('base64');
    if (seen.has(der) || Date.parse(certificate.validTo) <= Date.now() - FIVE_MINUTES_MS) continue;
    seen.add(der);
    kept.push(`${pem}\n`);
  }
  return kept.join('');
}

const combineStrings = (existing, own) => JSON.stringify([...new Set([...JSON.parse(existing ?? '[]'), ...own])]);

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** One syncConfigMap of the trust controller: merge this apiserver's info in, write only on a change. */
function syncAuthenticationConfigMap(file, own) {
  const lock = `${file}.lock`;
  try {
    mkdirSync(lock);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    // A writer killed inside its few milliseconds of critical section must not block the others forever.
    if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 2000) rmdirSync(lock);
    return; // a conflict: the next tick retries, as the real controller requeues
  }
  try {
    const existing = readJson(file)?.data ?? {};
    const data = { ...existing };
    const clientCa = combineCertLists(existing['client-ca-file'], own.clientCa);
    if (clientCa) data['client-ca-file'] = clientCa;
    const requestHeaderCa = combineCertLists(existing['requestheader-client-ca-file'], own.requestHeaderCa);
    if (requestHeaderCa) {
      data['requestheader-client-ca-file'] = requestHeaderCa;
      data['requestheader-allowed-names'] = combineStrings(existing['requestheader-allowed-names'], own.allowedNames);
      data['requestheader-username-headers'] = combineStrings(existing['requestheader-username-headers'], own.usernameHeaders);
      data['requestheader-group-headers'] = combineStrings(existing['requestheader-group-headers'], own.groupHeaders);
    }
    if (JSON.stringify(data) === JSON.stringify(readJson(file)?.data)) return;
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ metadata: { namespace: 'kube-system', name: 'extension-apiserver-authentication' }, data }, null, 1));
    renameSync(temp, file);
  } finally {
    rmdirSync(lock);
  }
}

const listFlag = (flags, name, fallback) => flags.get(name)?.split(',').filter(Boolean) ?? fallback;

/** Start the trust controller of this stand-in (when the rig gave a ConfigMap file). */
export function runAuthenticationTrustController(flags) {
  const file = flags.get('authentication-configmap-file');
  if (!file || !flags.get('requestheader-client-ca-file')) return;
  const own = {
    clientCa: readFileSync(flags.get('client-ca-file'), 'utf8'),
    requestHeaderCa: readFileSync(flags.get('requestheader-client-ca-file'), 'utf8'),
    allowedNames: listFlag(flags, 'requestheader-allowed-names', []),
    usernameHeaders: listFlag(flags, 'requestheader-username-headers', ['X-Remote-User']),
    groupHeaders: listFlag(flags, 'requestheader-group-headers', ['X-Remote-Group']),
  };
  const sync = () => {
    try {
      syncAuthenticationConfigMap(file, own);
    } catch (error) {
      console.error(`apiserver-standin: extension-apiserver-authentication: ${error.message}`);
    }
  };
  sync();
  setInterval(sync, 250).unref();
}

/** The aggregator of this stand-in: `route(path)` finds the APIService serving a path, `proxy` forwards to it. */
export function createAggregator(flags) {
  const file = flags.get('aggregated-apis-file');
  const services = file ? JSON.parse(readFileSync(file, 'utf8')).apiServices : [];
  // Read once at start, like the real apiserver (which in fact reloads these files; a rotation restarts it anyway).
  const client = flags.get('proxy-client-cert-file') ? { cert: readFileSync(flags.get('proxy-client-cert-file')), key: readFileSync(flags.get('proxy-client-key-file')) } : undefined;
  const usernameHeader = listFlag(flags, 'requestheader-username-headers', ['X-Remote-User'])[0];
  const groupHeader = listFlag(flags, 'requestheader-group-headers', ['X-Remote-Group'])[0];
  return {
    route: (path) => services.find((service) => path.startsWith(`/apis/${service.group}/`) || path === `/apis/${service.group}`),
    /** Forward one request for `user`; resolves to {status, body}: 503 when the extension server cannot be reached, as the real one. */
    proxy(service, req, user) {
      const url = new URL(service.url);
      const headers = { [usernameHeader]: user.name, [groupHeader]: user.groups, accept: req.headers.accept ?? 'application/json' };
      return new Promise((resolve) => {
        const out = request({ host: url.hostname, port: url.port, path: req.url, method: req.method, headers, ca: readFileSync(service.caBundleFile), servername: service.serverName, ...client, agent: false, timeout: 3000 }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        out.on('timeout', () => out.destroy(new Error('timed out')));
        out.on('error', (error) => resolve({ status: 503, body: `error trying to reach service: ${error.message}` }));
        out.end();
      });
    },
  };
}
