// A bundle.tar read from the store and validated (see unpackBundle), or undefined when there
// is none: restore, the restore's lookup and the backup's ownership check all read it so.
import type { ObjectStore } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';
import { unpackBundle, type Bundle } from './format.js';

export interface OpenBundleOptions {
  /** Stop after backup.json, the first entry: enough to know who wrote it and what it holds. */
  stopAfterBackupJson?: boolean;
  /** How messages name the bundle. */
  name: string;
  signal?: AbortSignal;
}

export async function openBundle(store: ObjectStore, key: string, opts: OpenBundleOptions): Promise<Bundle | undefined> {
  let body;
  try {
    body = await store.get(key, opts.signal);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  return unpackBundle(body, { name: opts.name, ...(opts.stopAfterBackupJson && { stopAfterBackupJson: true }) });
}
