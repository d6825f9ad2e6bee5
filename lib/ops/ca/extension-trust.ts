// What distrust cannot reach on the node: the copy of the client and front-proxy CAs that every
// kube-apiserver publishes for aggregated API servers (its ClusterAuthenticationTrustController).

/**
 * The trust that outlives distrust: every kube-apiserver merges its --client-ca-file and
 * --requestheader-client-ca-file INTO kube-system/extension-apiserver-authentication (the union with what is
 * there; a CA leaves only once expired), and aggregated API servers (metrics-server ...) trust that ConfigMap.
 */
export function extensionTrustWarning(name: 'ca' | 'front-proxy-ca'): string {
  const key = name === 'ca' ? 'client-ca-file' : 'requestheader-client-ca-file';
  return (
    `${name}: the ConfigMap kube-system/extension-apiserver-authentication still holds the old CA in ${key} — every kube-apiserver adds its own bundle to it and none removes a CA before it expires, so aggregated API servers (metrics-server, ...) still trust it. ` +
    'Once every control plane has distrusted: kubectl -n kube-system delete configmap extension-apiserver-authentication (each kube-apiserver re-creates it from its own flags within seconds; aggregated servers keep the bundle they loaded meanwhile)'
  );
}
