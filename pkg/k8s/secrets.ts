// Reading one key of a Secret. The value is returned to the caller only; it is never logged.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { makeApiClient } from './apiClient.js';
import { isNotFound } from './errors.js';

export type SecretKeyLookup =
  | { found: true; value: string }
  | { found: false; missing: 'secret' | 'key' };

export class Secrets {
  private readonly api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.api = makeApiClient(kc, CoreV1Api);
  }

  async readKey(namespace: string, name: string, key: string): Promise<SecretKeyLookup> {
    let secret;
    try {
      secret = await this.api.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return { found: false, missing: 'secret' };
      throw err;
    }
    // The key comes from a BSL anyone may write: own properties only (`__proto__` is not a key).
    const data = secret.data && Object.hasOwn(secret.data, key) ? secret.data[key] : undefined;
    if (typeof data === 'string') return { found: true, value: Buffer.from(data, 'base64').toString('utf8') };
    const plain = secret.stringData && Object.hasOwn(secret.stringData, key) ? secret.stringData[key] : undefined;
    if (typeof plain === 'string') return { found: true, value: plain };
    return { found: false, missing: 'key' };
  }
}
