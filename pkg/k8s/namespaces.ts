// Namespaces, read one by one: whether one is being deleted (a deleted backup's location may be
// going with it), and the cluster's identity.
import { CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { makeApiClient } from './apiClient.js';
import { isNotFound } from './errors.js';

export class Namespaces {
  private readonly api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.api = makeApiClient(kc, CoreV1Api);
  }

  async get(name: string): Promise<V1Namespace | undefined> {
    try {
      return await this.api.readNamespace({ name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async terminating(name: string): Promise<boolean> {
    const ns = await this.get(name);
    return ns === undefined || ns.metadata?.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating';
  }

  /**
   * The cluster's identity: the uid of its kube-system namespace, which lives as long as the
   * cluster (as other tools identify a cluster). A bundle records it, so that only the cluster
   * that wrote a bundle may ever find it orphaned.
   */
  async clusterIdentity(): Promise<string | undefined> {
    return (await this.get('kube-system'))?.metadata?.uid;
  }
}
