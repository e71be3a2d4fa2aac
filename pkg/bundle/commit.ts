// Writes bundle.tar, the commit point of a backup: after every layer is in the pool. A
// bundle that another ImageStreamsBackup (another uid) wrote is never replaced; the same
// backup running again replaces its own. Conditional writes close the race between the
// ownership check and the write where the store supports them: a 412 means someone wrote the
// key in between, so ownership is checked again and, while the bundle there is this backup's
// own (an earlier write of this same run whose answer was lost, or a second replica), the
// write is tried again under the retry policy: a valid bundle never turns into a failure.
import { setTimeout as sleep } from 'node:timers/promises';
import { StalledError, TransientError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from '../retry.js';
import { ConditionalWritesUnsupportedError, PreconditionFailedError, type ObjectStore } from '../store/objectStore.js';
import type { BackupJson, Bundle } from './format.js';
import { openBundle } from './open.js';
import { packBundle } from './pack.js';

export async function commitBundle(store: ObjectStore, bundle: Bundle, opts: { retry?: RetryPolicy; signal?: AbortSignal } = {}): Promise<string> {
  const { backup } = bundle;
  const { signal } = opts;
  const policy = opts.retry ?? DEFAULT_RETRY_POLICY;
  const key = store.bundleKey(backup.backup.name);
  // Streamed in one PUT of its known size: the bundle is never whole in memory.
  const packed = packBundle(bundle);
  let conditional = true;
  for (let attempt = 1; ; attempt++) {
    const existing = await store.head(key, signal);
    if (existing) {
      const owner = await readOwner(store, key, signal);
      if (owner && owner.uid !== backup.backup.uid) throw ownedByOther(key, backup, owner);
    }
    try {
      await store.put(key, packed.open(), {
        contentType: 'application/x-tar', size: packed.size, singlePut: true,
        ...(conditional && (existing?.etag ? { ifMatch: existing.etag } : existing ? {} : { ifNoneMatch: true })),
        ...(signal && { signal }),
      });
      return key;
    } catch (err) {
      // Some S3 implementations have no conditional writes: the ownership check stands alone.
      if (err instanceof ConditionalWritesUnsupportedError && conditional) {
        conditional = false;
        attempt--;
        continue;
      }
      if (!(err instanceof PreconditionFailedError)) throw err;
      if (attempt >= policy.attempts) {
        throw new TransientError('BundleCommitRaced', `${key} kept changing while it was being written (${attempt} tries): `
          + 'another writer uses this backup name at the same time; the backup is tried again', { cause: err });
      }
      await sleep(backoffDelay(attempt, policy), undefined, signal ? { signal } : {});
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
