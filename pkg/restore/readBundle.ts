// Reads a backup's bundle.tar from the store, validated (see unpackBundle).
import { WaitingError } from '../errors.js';
import { unpackBundle, type Bundle } from '../backup/bundle.js';
import type { ObjectStore } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';

export async function readBundle(store: ObjectStore, backupName: string, signal?: AbortSignal): Promise<Bundle> {
  const key = store.bundleKey(backupName);
  let body;
  try {
    body = await store.get(key, signal);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) {
      // The backup may still be running, or the restore may have been created first on purpose.
      throw new WaitingError('BundleNotFound', `backup ${JSON.stringify(backupName)} is not in bucket ${store.bucket} `
        + `(no ${key}): it has not completed yet, or the name or backup location is wrong`, 30_000, { cause: err });
    }
    throw err;
  }
  return unpackBundle(body, { name: `bundle of backup ${JSON.stringify(backupName)}` });
}
