// The controller's connection to the API server: $KUBECONFIG, ~/.kube/config, or the pod's
// service account (in-cluster), in client-go's order; through the cluster-wide proxy when
// HTTPS_PROXY is set and NO_PROXY does not name the API server, as client-go does.
import { KubeConfig } from '@kubernetes/client-node';
import { proxyFor, type Env } from '../proxy.js';

export function loadKubeConfig(env: Env = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    const from = process.env.KUBECONFIG ? `KUBECONFIG=${process.env.KUBECONFIG}` : 'the default kubeconfig';
    throw new Error(`cannot load ${from}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: set KUBECONFIG, or run in a pod with a service account');
  }
  applyProxy(kc, env);
  return kc;
}

/** Sets each cluster's proxy-url from the environment, unless the kubeconfig names one. */
export function applyProxy(kc: KubeConfig, env: Env): void {
  let changed = false;
  const clusters = kc.clusters.map((c) => {
    if (c.proxyUrl) return c;
    const proxyUrl = proxyFor(new URL(c.server), env);
    if (!proxyUrl) return c;
    changed = true;
    return { ...c, proxyUrl };
  });
  if (changed) kc.loadFromOptions({ clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.getCurrentContext() });
}

/** The namespace of the pod the controller runs in, from its service account, when in a pod. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
