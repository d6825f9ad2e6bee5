#!/usr/bin/env node
// A kube-apiserver stand-in for the cluster rig: a real TLS server taking the
// apiserver's own flags (from the node's manifest). It serves --tls-cert-file,
// demands a client cert signed by --client-ca-file, and reaches etcd with the
// --etcd-certfile/--etcd-keyfile pair: /livez and /readyz answer 200 only while
// etcd answers /health through one of --etcd-servers, and any other path does
// a real range read in etcd (POST /v3/kv/range), except the Kubernetes API
// paths (/api, /apis, /version, /openapi): kube-objects.mjs serves those from
// etcd, for kubectl. On SIGTERM it behaves like the real apiserver's
// --shutdown-delay-duration: /readyz fails at once (so the load balancer's
// health check takes it out), requests are still served for the delay, then
// it stops listening and exits when the last request is done. Authentication (client cert
// or service-account token; 401 / anonymous as the real one) is standin-auth.mjs; aggregated APIs and
// the extension-apiserver-authentication ConfigMap are standin-aggregator.mjs.
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { isKubeApiPath, kubeObjects } from './kube-objects.mjs';
import { createAggregator, runAuthenticationTrustController } from './standin-aggregator.mjs';
import { anonymousMayRead, createAuthenticator } from './standin-auth.mjs';

const flags = new Map(process.argv.slice(2).map((arg) => /^--([^=]+)=(.*)$/.exec(arg)).filter(Boolean).map((m) => [m[1], m[2]]));
const need = (name) => {
  const value = flags.get(name);
  if (!value) {
    console.error(`apiserver-standin: --${name} is required`);
    process.exit(2);
  }
  return value;
};
const bind = flags.get('bind-address') && flags.get('bind-address') !== '0.0.0.0' ? flags.get('bind-address') : need('advertise-address');
const port = Number(flags.get('secure-port') ?? 6443);
const shutdownDelayMs = Number(flags.get('shutdown-delay-ms') ?? 1000);
const etcdServers = need('etcd-servers').split(',');
const etcdTls = { ca: readFileSync(need('etcd-cafile')), cert: readFileSync(need('etcd-certfile')), key: readFileSync(need('etcd-keyfile')) };

/** One call to etcd, trying each --etcd-servers in order (the real apiserver's client balances over them). */
async function etcdCall(path, body) {
  let last = 'no etcd server';
  for (const server of etcdServers) {
    try {
      return await new Promise((resolve, reject) => {
        const url = new URL(path, server);
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: body ? 'POST' : 'GET', ...etcdTls, servername: 'localhost', timeout: 2000, agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${server}${path}: HTTP ${res.statusCode} ${text.slice(0, 100)}`))));
        });
        req.on('timeout', () => req.destroy(new Error(`${server}${path}: timed out`)));
        req.on('error', reject);
        req.end(body);
      });
    } catch (error) {
      last = error.message;
    }
  }
  throw new Error(last);
}

async function etcdHealthy() {
  const text = await etcdCall('/health');
  if (!/"health":\s*"true"/.test(text)) throw new Error(`etcd /health: ${text}`);
}

const serveKubeApi = kubeObjects(etcdCall);
const authenticate = createAuthenticator(flags, process.argv.slice(2));
const aggregator = createAggregator(flags);
let shuttingDown = false;
let inFlight = 0;
const server = createServer(
  { cert: readFileSync(need('tls-cert-file')), key: readFileSync(need('tls-private-key-file')), ca: readFileSync(need('client-ca-file')), requestCert: true, rejectUnauthorized: false },
  async (req, res) => {
    inFlight++;
    const reply = (status, text, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, connection: 'close' });
      res.end(text);
      inFlight--;
    };
    try {
      const path = new URL(req.url, 'https://x').pathname;
      const who = authenticate(req);
      if (who.status) return reply(who.status, `Unauthorized: ${who.reason}`);
      if (who.anonymous && !anonymousMayRead(path)) return reply(403, `forbidden: User "system:anonymous" cannot get path "${path}"`);
      if (path === '/readyz' && shuttingDown) return reply(503, 'shutting down');
      const service = aggregator.route(path);
      if (service) {
        const { status, body } = await aggregator.proxy(service, req, who.user);
        return reply(status, body);
      }
      if (path === '/livez' || path === '/readyz' || path === '/healthz') {
        await etcdHealthy();
        return reply(200, 'ok');
      }
      if (isKubeApiPath(path)) {
        const answer = await serveKubeApi(req, `${bind}:${port}`);
        return reply(answer.status, answer.body, answer.type);
      }
      const key = Buffer.from(`/registry${path}`).toString('base64');
      const range = await etcdCall('/v3/kv/range', JSON.stringify({ key }));
      return reply(200, JSON.stringify({ path, by: who.user?.name, etcd: JSON.parse(range).header?.member_id ?? null }));
    } catch (error) {
      return reply(503, `etcd: ${error.message}`);
    }
  },
);
server.listen(port, bind, () => {
  console.log(`apiserver-standin listening on ${bind}:${port}`);
  runAuthenticationTrustController(flags);
});
server.on('error', (error) => {
  console.error(`apiserver-standin: ${error.message}`);
  process.exit(1);
});

process.on('SIGTERM', () => {
  shuttingDown = true;
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    // Never hang the restart: whatever is still open after 3 s is cut.
    setTimeout(() => process.exit(0), 3000).unref();
    const poll = setInterval(() => inFlight === 0 && server.closeAllConnections?.(), 50);
    poll.unref();
  }, shutdownDelayMs);
});
