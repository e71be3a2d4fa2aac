// One restore: read and validate the bundle, then push the selected image streams.
import type { ImageFailure, Progress, Registry } from '../contracts.js';
import type { BackupJson } from '../bundle/format.js';
import { ProgressTracker } from '../backup/progress.js';
import type { ObjectStore } from '../store/objectStore.js';
import type { RestoreSelector } from './select.js';
import { readBundle } from './readBundle.js';
import { restoreImages, type RestoreFailure } from './restoreImages.js';
import { TransientImagesError, classify } from '../errors.js';
import type { RetryPolicy } from '../retry.js';
import { Lease } from '../gc/lease.js';

function withoutCause({ imageStream, reference, message }: RestoreFailure): ImageFailure {
  return { imageStream, reference, message };
}

export interface RunRestoreOptions {
  store: ObjectStore;
  registry: Registry;
  backupName: string;
  /** Empty or absent: every image stream of the backup. */
  imageStreams?: RestoreSelector[];
  /** {backup namespace: target namespace}, as in a Velero Restore. */
  namespaceMapping?: Record<string, string>;
  /** Restore into this namespace only (a restore outside the admin namespaces). */
  targetNamespace?: string;
  concurrency?: { images?: number; blobs?: number };
  retry?: RetryPolicy;
  /** The last attempt before the run's deadline: images that fail transiently are final failures. */
  finalAttempt?: boolean;
  /** Called at most every 500 ms, and at the end, with a copy; a change is never left unreported. */
  onProgress?: (p: Progress) => void;
  /**
   * The first run of this restore (not a restart, not a retry): nothing in the target came from
   * an earlier run of it, so a small blob of a reference the target has no manifest of is pushed
   * without asking first (pushBlob.ts). A later run asks, and never pushes again what one pushed.
   */
  firstRun?: boolean;
  /** Nothing is written to the location (a ReadOnly BSL): no lease is taken. */
  readOnly?: boolean;
  /** Told when the lease cannot be written: the restore goes on without it. */
  onLeaseError?: (message: string) => void;
  signal?: AbortSignal;
}

export interface RestoreResult {
  progress: Progress;
  failures: ImageFailure[];
  backup: BackupJson;
}

/**
 * Throws WaitingError 'BundleNotFound' while the backup is not in the store, TransientImagesError
 * when images failed for a reason that may pass (unless `finalAttempt`); other image failures are
 * returned.
 */
export async function runRestore(opts: RunRestoreOptions): Promise<RestoreResult> {
  const bundle = await readBundle(opts.store, opts.backupName, opts.signal);
  const lease = opts.readOnly ? undefined : await Lease.tryTake(opts.store, 'restore', `restore of backup ${bundle.backup.backup.namespace}/${bundle.backup.backup.name}`,
    bundle.backup.layers.map((l) => l.digest), opts.onLeaseError);
  const tracker = new ProgressTracker(opts.onProgress);
  try {
    const failures = await restoreImages({
      store: opts.store,
      registry: opts.registry,
      bundle,
      progress: tracker,
      ...(opts.imageStreams && { imageStreams: opts.imageStreams }),
      ...(opts.namespaceMapping && { namespaceMapping: opts.namespaceMapping }),
      ...(opts.targetNamespace && { targetNamespace: opts.targetNamespace }),
      ...(opts.concurrency && { concurrency: opts.concurrency }),
      ...(opts.retry && { retry: opts.retry }),
      ...(opts.signal && { signal: opts.signal }),
      ...(opts.firstRun && { firstRun: true }),
    });
    const transient = failures.filter((f) => f.cause !== undefined && classify(f.cause) === 'transient');
    if (transient.length > 0 && !opts.finalAttempt) throw new TransientImagesError(transient.map(withoutCause), tracker.snapshot());
    return { progress: tracker.snapshot(), failures: failures.map(withoutCause), backup: bundle.backup };
  } finally {
    tracker.finish();
    await lease?.release();
  }
}
