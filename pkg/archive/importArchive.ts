// An opened archive (openArchive.ts) into a backup location, so that an ImageStreamsRestore on
// the far side restores it: every layer into the pool (skipped when the pool has it, checked
// against its digest on the way, as a backup stores it), then the bundle, the commit point,
// written last. Or straight into a registry: the restore's own push, reading layers from the
// archive instead of the pool.
import pLimit from 'p-limit';
import type { Progress, Registry } from '../contracts.js';
import { ByteBudget } from '../backup/budget.js';
import { PartBuffers } from '../store/parts.js';
import { ProgressTracker } from '../backup/progress.js';
import { DEFAULT_CONCURRENCY } from '../backup/uploadBlobs.js';
import { uploadOne } from '../backup/uploadOne.js';
import { commitBundle } from '../bundle/commit.js';
import { restoreImages, type RestoreFailure } from '../restore/restoreImages.js';
import type { RetryPolicy } from '../retry.js';
import type { ObjectStore } from '../store/objectStore.js';
import type { OpenedArchive } from './openArchive.js';

export interface ImportOptions {
  /** Layers copied at once. */
  concurrency?: number;
  retry?: RetryPolicy;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export async function importToLocation(archive: OpenedArchive, store: ObjectStore, opts: ImportOptions = {}): Promise<{ bundleKey: string; progress: Progress }> {
  const { backup } = archive.bundle;
  const { signal } = opts;
  const tracker = new ProgressTracker(opts.onProgress);
  try {
    const p = tracker.progress;
    p.images.total = backup.imageStreams.reduce((n, s) => n + s.references.length, 0);
    p.blobs.total = backup.layers.length;
    p.bytes.total = backup.layers.reduce((n, l) => n + l.size, 0);
    p.referrers = new Set((backup.referrers ?? []).map((r) => r.digest)).size;
    tracker.changed(true);
    const limit = pLimit(opts.concurrency ?? DEFAULT_CONCURRENCY.images);
    const budget = new ByteBudget(DEFAULT_CONCURRENCY.bufferBytes);
    const partBuffers = new PartBuffers();
    await Promise.all(backup.layers.map((l) => limit(async () => {
      const outcome = await uploadOne({
        store, layer: { ...l, repos: [] }, budget, partBuffers, source: async () => archive.openBlob(l.digest),
        onBytes: (n) => { p.bytes.done += n; tracker.changed(); },
        ...(opts.retry && { retry: opts.retry }), ...(signal && { signal }),
      });
      if (outcome === 'skipped') {
        p.blobs.skipped++;
        p.bytes.skipped += l.size;
      } else {
        p.blobs.done++;
      }
      tracker.changed();
    })));
    const bundleKey = await commitBundle(store, archive.bundle, { ...(opts.retry && { retry: opts.retry }), ...(signal && { signal }) });
    p.images.done = p.images.total;
    tracker.changed(true);
    return { bundleKey, progress: tracker.snapshot() };
  } finally {
    tracker.finish();
  }
}

export interface RegistryImportOptions extends ImportOptions {
  /** {archive namespace: registry namespace}. */
  namespaceMapping?: Record<string, string>;
}

export async function importToRegistry(archive: OpenedArchive, registry: Registry, opts: RegistryImportOptions = {}): Promise<{ failures: RestoreFailure[]; progress: Progress }> {
  const tracker = new ProgressTracker(opts.onProgress);
  try {
    const failures = await restoreImages({
      // The archive stands in for the pool: layers are read from it by digest.
      store: { blobKey: (digest) => digest, get: async (digest) => archive.openBlob(digest) },
      registry, bundle: archive.bundle, progress: tracker,
      ...(opts.namespaceMapping && { namespaceMapping: opts.namespaceMapping }),
      ...(opts.concurrency && { concurrency: { images: opts.concurrency } }),
      ...(opts.retry && { retry: opts.retry }), ...(opts.signal && { signal: opts.signal }),
    });
    return { failures, progress: tracker.snapshot() };
  } finally {
    tracker.finish();
  }
}
