// A bundle.tar read from the store and validated (see unpack.ts), or undefined when there is
// none: restore, the restore's lookup, the carry-forward and the backup's ownership check all
// read it so. One version of the object is read throughout (its ETag): the blobs past the
// memory budget are read again by range from that same version.
import type { ObjectStore } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';
import type { Bundle } from './format.js';
import { unpackBundle } from './unpack.js';

export interface OpenBundleOptions {
  /** Stop after backup.json, the first entry: enough to know who wrote it and what it holds. */
  stopAfterBackupJson?: boolean;
  /** How messages name the bundle. */
  name: string;
  signal?: AbortSignal;
  /** Bytes of metadata held in memory (tests). */
  budget?: number;
}

export async function openBundle(store: ObjectStore, key: string, opts: OpenBundleOptions): Promise<Bundle | undefined> {
  const info = await store.head(key, opts.signal);
  if (!info) return undefined;
  let body;
  try {
    body = await store.get(key, opts.signal, info.etag);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  const { signal } = opts;
  return unpackBundle(body, {
    name: opts.name,
    ...(opts.stopAfterBackupJson && { stopAfterBackupJson: true }),
    ...(opts.budget !== undefined && { budget: opts.budget }),
    readRange: (offset, length) => store.getRange(key, offset, length, { ...(info.etag && { ifMatch: info.etag }), ...(signal && { signal }) }),
  });
}
