// Finalizers are added and removed with a merge patch that names the object's resourceVersion:
// the patch replaces the whole list, so a concurrent change of it (someone else's finalizer) is a
// conflict, and the queue tries again with the object as it is then.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from '../../pkg/k8s/errors.js';

export interface MetadataPatcher<O> {
  patch(namespace: string, name: string, body: unknown): Promise<O>;
}

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** The object as patched, with the finalizer. */
export async function addFinalizer<O extends KubernetesObject>(client: MetadataPatcher<O>, obj: O, finalizer: string): Promise<O> {
  const m = obj.metadata ?? {};
  return client.patch(m.namespace ?? '', m.name ?? '', { metadata: { resourceVersion: m.resourceVersion, finalizers: [...(m.finalizers ?? []), finalizer] } });
}

/** Releases the object (gone already: nothing to do). */
export async function removeFinalizer<O extends KubernetesObject>(client: MetadataPatcher<O>, obj: O, finalizer: string): Promise<void> {
  const m = obj.metadata ?? {};
  const rest = (m.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    await client.patch(m.namespace ?? '', m.name ?? '', { metadata: { resourceVersion: m.resourceVersion, finalizers: rest.length ? rest : null } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
