// Is the backup in the location? Reads bundle.tar only as far as backup.json (its first
// entry): enough to know the backup exists, which image streams it holds, and that this
// version can read its format; the restore itself reads and checks the whole bundle.
import type { BackupJson } from '../../pkg/bundle/format.js';
import { openBundle } from '../../pkg/bundle/open.js';
import type { ObjectStore } from '../../pkg/store/objectStore.js';

export type BundleLookup =
  | { found: true; key: string; backup: BackupJson }
  | { found: false; key: string; bucket: string };

/** Absent is an answer; anything else (an invalid name, a refused credential, a corrupt bundle) is thrown. */
export async function findBundle(store: ObjectStore, backupName: string, signal?: AbortSignal): Promise<BundleLookup> {
  const key = store.bundleKey(backupName);
  const bundle = await openBundle(store, key, {
    stopAfterBackupJson: true, name: `bundle of backup ${JSON.stringify(backupName)} (${key})`, ...(signal && { signal }),
  });
  return bundle ? { found: true, key, backup: bundle.backup } : { found: false, key, bucket: store.bucket };
}
