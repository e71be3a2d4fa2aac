// The controller's connection to the API server: $KUBECONFIG, ~/.kube/config, or the pod's
// service account (in-cluster), in client-go's order.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(): KubeConfig {
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
  return kc;
}

/** The namespace of the pod the controller runs in, from its service account, when in a pod. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
