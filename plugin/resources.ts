// The API calls the plugin makes, over its small client (kubeClient.ts): ImageStreamsBackups in
// Velero's namespace, and the plugin ConfigMap.
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../pkg/api/index.js';
import { isNotFound } from '../pkg/k8s/errors.js';
import type { KubeClient } from './kubeClient.js';

/** The calls on ImageStreamsBackups. */
export interface IsbApi {
  get(namespace: string, name: string): Promise<ImageStreamsBackup | undefined>;
  create(namespace: string, body: ImageStreamsBackup): Promise<ImageStreamsBackup>;
  /** JSON merge patch (RFC 7386). */
  patch(namespace: string, name: string, body: unknown): Promise<ImageStreamsBackup>;
  /** JSON patch (RFC 6902): applied whole or not at all. */
  jsonPatch(namespace: string, name: string, ops: JsonPatchOp[]): Promise<ImageStreamsBackup>;
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'test';
  path: string;
  value: unknown;
}

export function isbApi(kube: KubeClient): IsbApi {
  const base = (ns: string) => `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(ns)}/${ISB_PLURAL}`;
  return {
    get: async (ns, name) => {
      try {
        return await kube.request<ImageStreamsBackup>('GET', `${base(ns)}/${encodeURIComponent(name)}`);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (ns, body) => kube.request('POST', base(ns), body),
    patch: (ns, name, body) => kube.request('PATCH', `${base(ns)}/${encodeURIComponent(name)}`, body, 'application/merge-patch+json'),
    jsonPatch: (ns, name, ops) => kube.request('PATCH', `${base(ns)}/${encodeURIComponent(name)}`, ops, 'application/json-patch+json'),
  };
}

export interface ConfigMap {
  metadata?: { name?: string };
  data?: Record<string, string>;
}

export async function listConfigMaps(kube: KubeClient, namespace: string, labelSelector: string): Promise<ConfigMap[]> {
  const list = await kube.request<{ items?: ConfigMap[] }>('GET',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps?labelSelector=${encodeURIComponent(labelSelector)}`);
  return list.items ?? [];
}
