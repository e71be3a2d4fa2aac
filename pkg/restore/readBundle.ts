// Reads a backup's bundle.tar from the store, validated (see unpackBundle).
import { WaitingError } from '../errors.js';
import type { Bundle } from '../bundle/format.js';
import { openBundle } from '../bundle/open.js';
import type { ObjectStore } from '../store/objectStore.js';

/** The backup is not (or no longer) in the store. */
export class BundleNotFoundError extends WaitingError {
  constructor(backupName: string, key: string, bucket: string) {
    super('BundleNotFound', `backup ${JSON.stringify(backupName)} is not in bucket ${bucket} `
      + `(no ${key}): it has not completed yet, or the name or backup location is wrong`, 30_000);
  }
}

export async function readBundle(store: ObjectStore, backupName: string, signal?: AbortSignal): Promise<Bundle> {
  const key = store.bundleKey(backupName);
  const bundle = await openBundle(store, key, { name: `bundle of backup ${JSON.stringify(backupName)}`, ...(signal && { signal }) });
  // The backup may still be running, or the restore may have been created first on purpose.
  if (!bundle) throw new BundleNotFoundError(backupName, key, store.bucket);
  return bundle;
}
