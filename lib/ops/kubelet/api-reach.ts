// Does the kubelet's new identity reach the apiserver? A TLS GET of its own
// Node object against the server in kubelet.conf, with the installed client
// cert and key, trusting only kubelet.conf's CA — what the kubelet does first.
// Any HTTP answer but 401 means the apiserver authenticated the cert; 401 or a
// TLS alert means it did not; no connection at all means "unreachable".
import { request } from 'node:https';
import type { Host } from '../../host/host.js';
import { pollUntil } from '../renewal/poll.js';
import { readKubeletConf } from './worker-csr.js';

export interface ApiReach {
  outcome: 'accepted' | 'rejected' | 'unreachable';
  detail: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'TIMEOUT']);

function getOnce(url: URL, path: string, tls: { ca: string; cert: Buffer; key: Buffer }): Promise<ApiReach> {
  return new Promise((resolve) => {
    const req = request({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 443, path, method: 'GET', ...tls, timeout: 5000 }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status === 401 ? { outcome: 'rejected', detail: `${url.origin}${path}: HTTP 401, the apiserver does not accept the client cert` } : { outcome: 'accepted', detail: `${url.origin}${path}: HTTP ${status} (authenticated)` });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ outcome: UNREACHABLE.has(error.code ?? '') ? 'unreachable' : 'rejected', detail: `${url.origin}: ${error.code ? `${error.code} ` : ''}${error.message}` }),
    );
    req.end();
  });
}

/** Poll until the apiserver answers (it may be restarting too); a rejection is final. */
export async function kubeletReachesApiserver(host: Host, nodeName: string, timing: { timeoutMs: number; pollMs: number }): Promise<ApiReach> {
  const conf = readKubeletConf(host);
  if (!conf.server) return { outcome: 'rejected', detail: 'kubelet.conf names no server' };
  if (!conf.caPem) return { outcome: 'rejected', detail: 'kubelet.conf has no CA to trust the apiserver with' };
  const user = conf.user;
  const cert = user?.certData ? Buffer.from(user.certData, 'base64') : user?.certFile ? host.read(user.certFile) : undefined;
  const key = user?.keyData ? Buffer.from(user.keyData, 'base64') : user?.keyFile ? host.read(user.keyFile) : undefined;
  if (!cert || !key) return { outcome: 'rejected', detail: 'kubelet.conf\'s client cert or key cannot be read' };
  const url = new URL(conf.server);
  return pollUntil(() => getOnce(url, `/api/v1/nodes/${nodeName}`, { ca: conf.caPem!, cert, key }), (reach) => reach.outcome !== 'unreachable', timing);
}
