// Is the backup in the location? Reads bundle.tar only as far as backup.json (its first
// entry): enough to know the backup exists, which image streams it holds, and that this
// version can read its format; the restore itself reads and checks the whole bundle.
import { unpackBundle, type BackupJson } from '../../pkg/backup/bundle.js';
import { ReconcileError, StalledError, errorMessage } from '../../pkg/errors.js';
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
  const what = `bundle of backup ${JSON.stringify(backupName)}`;
  try {
    const { backup } = await unpackBundle(body, { stopAfterBackupJson: true, name: what });
    return { found: true, key, backup };
  } catch (err) {
    // tar-stream's own errors are plain Errors; they mean the object is not a tar (or is cut short).
    if (!(err instanceof ReconcileError) && TAR_ERRORS.test(errorMessage(err))) {
      throw new StalledError('InvalidBundle', `${what} (${key}) is not a valid imagestream-backup bundle: ${errorMessage(err)}`, { cause: err });
    }
    throw err;
  }
}

const TAR_ERRORS = /tar header|Invalid header|Header exceeds max size|Unexpected end of data/;
