// Writes bundle.tar, the commit point of a backup: after every layer is in the pool. A
// bundle that another ImageStreamsBackup (another uid) wrote is never replaced; the same
// backup running again replaces its own. Conditional writes close the race between the
// ownership check and the write where the store supports them.
import { StalledError } from '../errors.js';
import { PreconditionFailedError, type ObjectStore } from '../store/objectStore.js';
import { packBundle, type BackupJson, type Bundle } from './bundle.js';
import { openBundle } from './openBundle.js';

export async function commitBundle(store: ObjectStore, bundle: Bundle, signal?: AbortSignal): Promise<string> {
  const { backup } = bundle;
  const key = store.bundleKey(backup.backup.name);
  const data = await packBundle(bundle);
  for (let attempt = 0; ; attempt++) {
    const existing = await store.head(key, signal);
    if (existing) {
      const owner = await readOwner(store, key, signal);
      if (owner && owner.uid !== backup.backup.uid) throw ownedByOther(key, backup, owner);
    }
    try {
      await store.put(key, data, {
        contentType: 'application/x-tar',
        ...(existing?.etag ? { ifMatch: existing.etag } : existing ? {} : { ifNoneMatch: true }),
        ...(signal && { signal }),
      });
      return key;
    } catch (err) {
      // Someone wrote the key between the check and the write: check again, once.
      if (err instanceof PreconditionFailedError && attempt === 0) continue;
      throw err;
    }
  }
}

/** The owner of an existing bundle, or undefined when it vanished meanwhile. */
async function readOwner(store: ObjectStore, key: string, signal?: AbortSignal): Promise<BackupJson['backup'] | undefined> {
  try {
    return (await openBundle(store, key, { stopAfterBackupJson: true, name: key, ...(signal && { signal }) }))?.backup.backup;
  } catch (err) {
    if (err instanceof StalledError && err.reason === 'InvalidBundle') {
      throw new StalledError('BundleOwnedByOther', `${key} exists and cannot be read as a bundle, so it is not replaced: `
        + 'remove it or use another backup name', { cause: err });
    }
    throw err;
  }
}

function ownedByOther(key: string, backup: BackupJson, owner: BackupJson['backup']): StalledError {
  return new StalledError('BundleOwnedByOther', `${key} belongs to ImageStreamsBackup ${owner.namespace}/${owner.name} `
    + `(uid ${owner.uid}), not to this one (uid ${backup.backup.uid}); a backup is never overwritten by another: `
    + 'use another name, or another backup location or prefix');
}
