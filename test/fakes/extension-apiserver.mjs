#!/usr/bin/env node
// An extension-apiserver stand-in (what metrics-server is to the aggregation layer), for the cluster
// rig: a real TLS server that authenticates the front proxy as k8s.io/apiserver's requestheader
// authenticator does. Its trust comes from kube-system/extension-apiserver-authentication, as the real
// one's RequestHeaderAuthRequestController reads it: here the rig's JSON model of that ConfigMap
// (test/fakes/standin-aggregator.mjs writes it from every stand-in's --requestheader-client-ca-file),
// re-read every 200 ms and swapped in with setSecureContext (the real one reloads dynamically too); a
// deleted ConfigMap leaves the last bundle loaded (the real controller only retries), one that never
// existed leaves it trusting nothing. A request is served only when its client cert verifies against
// that bundle (client-auth usage, dates), the cert's CN is in requestheader-allowed-names (when the list
// is not empty) and the username header is set; anything else is 401.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const flags = new Map(process.argv.slice(2).map((arg) => /^--([^=]+)=(.*)$/.exec(arg)).filter(Boolean).map((m) => [m[1], m[2]]));
const configMapFile = flags.get('authentication-configmap-file');
const tls = { cert: readFileSync(flags.get('tls-cert-file')), key: readFileSync(flags.get('tls-private-key-file')) };

let loaded; // {text, bundle, allowedNames, usernameHeaders, groupHeaders} of the ConfigMap last read
function reload() {
  let text;
  try {
    text = readFileSync(configMapFile, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return; // deleted: keep what was loaded, wait for an apiserver to re-create it
    throw error;
  }
  if (text === loaded?.text) return;
  let data;
  try {
    data = JSON.parse(text).data ?? {};
  } catch {
    return; // a torn read cannot happen (writers rename), but never crash on one
  }
  const bundle = data['requestheader-client-ca-file'];
  if (!bundle) return;
  const list = (key, fallback) => (data[key] ? JSON.parse(data[key]) : fallback);
  loaded = { text, bundle, allowedNames: list('requestheader-allowed-names', []), usernameHeaders: list('requestheader-username-headers', ['X-Remote-User']), groupHeaders: list('requestheader-group-headers', ['X-Remote-Group']) };
  server.setSecureContext({ ...tls, ca: bundle });
  console.log(`extension-apiserver: requestheader CA bundle loaded (${bundle.match(/BEGIN CERTIFICATE/g).length} certificates)`);
}

/** The requestheader authenticator: {user, groups, proxy} or a reason for the 401. */
function authenticate(req) {
  if (!loaded) return { reason: 'no requestheader-client-ca-file loaded yet' };
  const peer = req.socket.getPeerCertificate();
  if (!peer || !Object.keys(peer).length) return { reason: 'no client certificate' };
  if (!req.socket.authorized) return { reason: `client certificate not verified by requestheader-client-ca-file: ${req.socket.authorizationError}` };
  if (loaded.allowedNames.length && !loaded.allowedNames.includes(peer.subject?.CN)) return { reason: `client certificate CN ${peer.subject?.CN} is not in requestheader-allowed-names` };
  const header = (names) => names.map((name) => req.headers[name.toLowerCase()]).find((value) => value !== undefined);
  const user = header(loaded.usernameHeaders);
  if (!user) return { reason: 'no username header' };
  return { user, groups: [header(loaded.groupHeaders) ?? []].flat(), proxy: peer.subject?.CN };
}

const server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
  const path = new URL(req.url, 'https://x').pathname;
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(body));
  };
  if (path === '/healthz') return reply(200, 'ok');
  const who = authenticate(req);
  if (!who.user) return reply(401, { kind: 'Status', status: 'Failure', reason: 'Unauthorized', message: who.reason, code: 401 });
  return reply(200, { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items: [], servedFor: { user: who.user, groups: who.groups, frontProxy: who.proxy } });
});
reload();
setInterval(reload, 200);
server.listen(Number(flags.get('secure-port')), flags.get('bind-address') ?? '127.0.0.1', () => console.log(`extension-apiserver listening on ${server.address().address}:${server.address().port}`));
server.on('error', (error) => {
  console.error(`extension-apiserver: ${error.message}`);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
