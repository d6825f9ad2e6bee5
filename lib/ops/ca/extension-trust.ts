// What distrust cannot reach on the node: the copy of the client and front-proxy CAs that every
// kube-apiserver publishes for aggregated API servers (its ClusterAuthenticationTrustController), and
// clients elsewhere that authenticate with a cert of the old CA.

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

/**
 * Said at the cluster CA's reissue, while there is time: rescue-kit re-signs what lives on the nodes, but not
 * a client cert held elsewhere. Found on the rig: a load balancer health-checking with an old-CA client cert
 * marked every apiserver down once the last one distrusted.
 */
export const OUTSIDE_CLIENTS_WARNING =
  'ca: client certs of the old CA held off the nodes are refused after distrust: a load balancer health check that presents one (use an anonymous GET /readyz, or give it a new-CA cert now), monitoring that scrapes with one, CI and users with their own certs. Re-issue them from the new CA before distrust';
