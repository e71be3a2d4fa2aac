// Velero's record of a backup in its BSL, `<prefix>/backups/<name>/velero-backup.json`: what
// Velero's sync brings a Backup object back from, and what Velero deletes (with the rest of the
// backup's files) when it deletes the backup. Read with the ISB's own location and credentials.
import { veleroBackupMetadataKey } from '../../pkg/store/index.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { TransportSettings } from '../config.js';
import { openLocationStore } from '../locationStore.js';
import type { Logger } from '../runtime/logger.js';

/**
 * True when the object is there, false only on a definite "not there". A listing of the exact key
 * rather than a HEAD: S3 answers a HEAD in a bucket that does not exist with the same bodiless
 * 404 as for a missing key, while a listing fails with NoSuchBucket. Any error is thrown (typed
 * by the store: unreachable, refused credentials, no bucket), so that it never reads as "gone".
 */
export async function veleroMetadataExists(location: ResolvedLocation, backupName: string, log: Logger, transport?: TransportSettings): Promise<boolean> {
  const key = veleroBackupMetadataKey(location.location.objectStorage.prefix, backupName);
  const store = await openLocationStore(location, log, transport);
  try {
    for await (const object of store.list(key)) {
      if (object.key === key) return true;
    }
    return false;
  } finally {
    await store.close();
  }
}
