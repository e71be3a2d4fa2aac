// A small typed client for one custom resource kind over CustomObjectsApi (which returns `any`).
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { makeApiClient } from './apiClient.js';
import { isNotFound } from './errors.js';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export interface ObjectList<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class CustomResources<T extends KubernetesObject> {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig, readonly ref: ResourceRef) {
    this.api = makeApiClient(kc, CustomObjectsApi);
  }

  /** The watch path for a namespace, as makeInformer wants it. */
  path(namespace: string): string {
    return `/apis/${this.ref.group}/${this.ref.version}/namespaces/${namespace}/${this.ref.plural}`;
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.ref, namespace, name })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(namespace: string): Promise<ObjectList<T>> {
    return (await this.api.listNamespacedCustomObject({ ...this.ref, namespace })) as ObjectList<T>;
  }

  async create(namespace: string, body: T): Promise<T> {
    return (await this.api.createNamespacedCustomObject({ ...this.ref, namespace, body })) as T;
  }

  /** JSON merge patch (RFC 7386) of the object; `null` deletes a field. */
  async patch(namespace: string, name: string, body: unknown): Promise<T> {
    return (await this.api.patchNamespacedCustomObject({ ...this.ref, namespace, name, body }, mergePatch)) as T;
  }

  /** JSON merge patch through the status subresource, so spec and metadata are never touched. */
  async patchStatus(namespace: string, name: string, status: unknown): Promise<T> {
    return (await this.api.patchNamespacedCustomObjectStatus(
      { ...this.ref, namespace, name, body: { status } }, mergePatch)) as T;
  }

  /**
   * Gone already is fine. `uid`: only the object with that uid (a precondition the API server
   * checks); another object of the same name is left alone and the call fails with 409.
   */
  async delete(namespace: string, name: string, opts: { uid?: string } = {}): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({
        ...this.ref, namespace, name, ...(opts.uid !== undefined && { body: { preconditions: { uid: opts.uid } } }),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
