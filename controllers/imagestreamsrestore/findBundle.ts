// Is the backup in the location? Reads bundle.tar only as far as backup.json (its first
// entry): enough to know the backup exists, which image streams it holds, and that this
// version can read its format; the restore itself reads and checks the whole bundle.
import { unpackBundle, type BackupJson } from '../../pkg/backup/bundle.js';
import type { ObjectStore } from '../../pkg/store/objectStore.js';
import { ObjectNotFoundError } from '../../pkg/store/storeError.js';

export type BundleLookup =
  | { found: true; key: string; backup: BackupJson }
  | { found: false; key: string; bucket: string };

/** Absent is an answer; anything else (an invalid name, a refused credential, a corrupt bundle) is thrown. */
export async function findBundle(store: ObjectStore, backupName: string, signal?: AbortSignal): Promise<BundleLookup> {
  const key = store.bundleKey(backupName);
  let body;
  try {
    body = await store.get(key, signal);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { found: false, key, bucket: store.bucket };
    throw err;
  }
  const { backup } = await unpackBundle(body, { stopAfterBackupJson: true, name: `bundle of backup ${JSON.stringify(backupName)} (${key})` });
  return { found: true, key, backup };
}
