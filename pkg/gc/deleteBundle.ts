// Deleting a backup's bundle.tar when its ImageStreamsBackup is deleted: only a bundle whose
// backup.json names that object's uid. Another object's bundle (a namesake in another namespace
// sharing the location, a backup of another cluster) and one that cannot be read are left alone:
// nothing is deleted on a guess.
import { openBundle } from '../bundle/open.js';
import type { BackupIdentity } from '../bundle/format.js';
import { StalledError, errorMessage, isLocationError } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';

export type BundleDeletion =
  | { result: 'deleted'; key: string }
  | { result: 'absent' }
  | { result: 'other'; key: string; uid: string }
  | { result: 'unreadable'; key: string; why: string };

export async function deleteOwnBundle(store: ObjectStore, backup: Pick<BackupIdentity, 'name' | 'uid'>, signal?: AbortSignal): Promise<BundleDeletion> {
  const key = store.bundleKey(backup.name);
  let bundle;
  try {
    bundle = await openBundle(store, key, { name: key, stopAfterBackupJson: true, ...(signal && { signal }) });
  } catch (err) {
    // Not a bundle this product can read (InvalidBundle, UnsupportedBundleVersion): whose it is cannot be known.
    if (err instanceof StalledError && !isLocationError(err)) return { result: 'unreadable', key, why: errorMessage(err) };
    throw err;
  }
  if (!bundle) return { result: 'absent' };
  const owner = bundle.backup.backup.uid;
  if (owner !== backup.uid) return { result: 'other', key, uid: owner };
  await store.delete(key, signal);
  return { result: 'deleted', key };
}
