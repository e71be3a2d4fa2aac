// Custom resources created, watched until they settle, and removed. The namespace, Secret
// and BSL come from the end-to-end tests' TestCluster; the watch here is what times a phase:
// it sees the status change as it happens, where polling would add up to its period.
import {
  CustomObjectsApi, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type KubernetesObject,
} from '@kubernetes/client-node';
import type { StackEnv } from '../stackEnv.js';

export const GROUP = 'oadp.openshift.io';
export const VERSION = 'v1alpha1';

export interface Resource {
  group: string;
  version: string;
  plural: string;
}

export const ISB: Resource = { group: GROUP, version: VERSION, plural: 'imagestreamsbackups' };
export const ISR: Resource = { group: GROUP, version: VERSION, plural: 'imagestreamsrestores' };

export type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export class Kube {
  readonly kc = new KubeConfig();
  private readonly custom: CustomObjectsApi;

  constructor(env: StackEnv) {
    this.kc.loadFromFile(env.KUBECONFIG);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
  }

  async create(r: Resource, namespace: string, body: Obj): Promise<Obj> {
    return (await this.custom.createNamespacedCustomObject({ ...r, namespace, body })) as Obj;
  }

  /** Deletes; finalizers left by a controller that no longer runs are dropped, so nothing stays behind. */
  async remove(r: Resource, namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ ...r, namespace, name });
      await this.custom.patchNamespacedCustomObject({ ...r, namespace, name, body: { metadata: { finalizers: null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch {
      // already gone
    }
  }

  /**
   * Resolves with the object once `done(obj)` holds. A watch without a resourceVersion starts
   * with the object as it is, then sees each change; a watch that ends (server timeout, lost
   * connection) is started again, and so sees the current state again.
   */
  async waitFor(
    r: Resource, namespace: string, name: string, done: (o: Obj) => boolean, timeoutMs: number, seen?: (o: Obj) => void,
  ): Promise<Obj> {
    return new Promise<Obj>((resolve, reject) => {
      let watch: AbortController | undefined;
      let settled = false;
      const finish = (err: Error | undefined, obj?: Obj) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        watch?.abort();
        if (err) reject(err);
        else resolve(obj!);
      };
      const check = (o: Obj) => {
        seen?.(o);
        try {
          if (done(o)) finish(undefined, o);
        } catch (err) {
          finish(err as Error);
        }
      };
      const start = (): void => {
        if (settled) return;
        new Watch(this.kc).watch(`/apis/${r.group}/${r.version}/namespaces/${namespace}/${r.plural}`,
          { fieldSelector: `metadata.name=${name}` },
          (_type, obj: Obj) => check(obj),
          (err: unknown) => (err ? setTimeout(start, 1000) : start()),
        ).then((w) => {
          watch = w;
          if (settled) w.abort();
        }, () => setTimeout(start, 1000));
      };
      const timer = setTimeout(() => finish(new Error(`${r.plural} ${namespace}/${name} not done after ${timeoutMs / 1000}s`)), timeoutMs);
      start();
    });
  }
}
