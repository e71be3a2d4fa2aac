// One backup: read every image's tree, put the missing layers in the pool, then commit the
// bundle. An image that fails for a lasting reason is reported and left out. An image that
// fails transiently makes the whole run transient (TransientImagesError): the run is tried
// again later and the pool already holds what this one stored; only the last attempt before
// the deadline (`finalAttempt`) commits without them. An image that the committed bundle of
// this same backup holds is never dropped by a re-run: when it fails now, it is carried
// forward from that bundle (its blobs are in the pool).
import type { ImageFailure, Progress, Registry } from '../contracts.js';
import { StalledError, TransientImagesError, classify, errorMessage } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';
import type { RetryPolicy } from '../retry.js';
import { BUNDLE_FORMAT_VERSION, type BackupJson, type BundleImageStream, type BundleReferrer } from '../bundle/format.js';
import { commitBundle } from '../bundle/commit.js';
import { checkBeforeCommit } from '../gc/fence.js';
import { Lease } from '../gc/lease.js';
import { MetadataCache, subset } from '../bundle/metadata.js';
import { carryForward, type CarriedImage } from './carryForward.js';
import { productVersion } from './productVersion.js';
import { ProgressTracker } from './progress.js';
import { inInputOrder, resolveImages } from './resolveImages.js';
import type { BackupIdentity, ImageError, ImageStreamInput, LayerSource, ResolvedImage } from './types.js';
import { resolveConcurrency, uploadBlobs, type Concurrency } from './uploadBlobs.js';

export interface RunBackupOptions {
  store: ObjectStore;
  registry: Registry;
  backup: BackupIdentity;
  imageStreams: ImageStreamInput[];
  concurrency?: Concurrency;
  /** Keep each image's referrers and cosign tags (default true; BACKUP_REFERRERS). */
  referrers?: boolean;
  retry?: RetryPolicy;
  /** The last attempt before the run's deadline: transient failures are final, the bundle is committed without them. */
  finalAttempt?: boolean;
  /** Called at most every 500 ms, and once at each phase's end, with a copy; a change is never left unreported. */
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  now?: () => Date;
  /** The collector's fence (pkg/gc/collect.ts GC_FENCE_MS); shorter in tests only. */
  gcFenceMs?: number;
}

export interface BackupResult {
  progress: Progress;
  failures: ImageFailure[];
  /** Images that failed in this run but are kept from the committed bundle. */
  carried: ImageFailure[];
  bundleKey: string;
  backup: BackupJson;
}

/** No image could be backed up (reason NothingBackedUp), with why for each image. */
export class NothingBackedUpError extends StalledError {
  constructor(readonly failures: ImageFailure[]) {
    super('NothingBackedUp', nothingMessage(failures));
  }
}

export async function runBackup(opts: RunBackupOptions): Promise<BackupResult> {
  const tracker = new ProgressTracker(opts.onProgress);
  // Every blob this backup relies on is announced here before it is skipped, uploaded or read:
  // the collector keeps it (pkg/gc).
  const lease = await Lease.take(opts.store, 'backup', `ImageStreamsBackup ${opts.backup.namespace}/${opts.backup.name} (uid ${opts.backup.uid})`);
  try {
    return await backUp(opts, tracker, lease);
  } finally {
    tracker.finish();
    await lease.release();
  }
}

async function backUp(opts: RunBackupOptions, tracker: ProgressTracker, lease: Lease): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const { store, registry, signal } = opts;
  const p = tracker.progress;
  const referenceCount = opts.imageStreams.reduce((n, s) => n + s.references.length, 0);
  p.images.total = referenceCount;
  tracker.changed(true);

  const resolution = await resolveImages({
    registry, imageStreams: opts.imageStreams, concurrency: resolveConcurrency(opts.concurrency), ...(signal && { signal }),
    metadata: metadataCache(store, lease, signal), ...(opts.referrers === false && { referrers: false }),
  });
  const failures: ImageError[] = [...resolution.failures];
  p.images.failed += failures.length;
  await lease.add(resolution.layers.keys());

  const failedBlobs = await uploadBlobs({
    store, registry, images: resolution.images, layers: resolution.layers, progress: tracker,
    ...(opts.concurrency && { concurrency: opts.concurrency }), ...(opts.retry && { retry: opts.retry }), ...(signal && { signal }),
  });
  const stored: ResolvedImage[] = [];
  for (const image of resolution.images) {
    const bad = image.layers.find((d) => failedBlobs.has(d));
    if (bad === undefined) {
      stored.push(image);
      continue;
    }
    const cause = failedBlobs.get(bad);
    failures.push({
      imageStream: `${image.imageStream.namespace}/${image.imageStream.name}`,
      reference: image.reference,
      digest: image.digest,
      tags: image.tags,
      message: `layer ${bad} could not be stored: ${errorMessage(cause)}`,
      cause,
    });
  }
  signal?.throwIfAborted();

  const transient = failures.filter((f) => classify(f.cause) === 'transient');
  if (transient.length > 0 && !opts.finalAttempt) throw new TransientImagesError(transient.map(withoutCause), tracker.snapshot());

  // What failed now but the committed bundle of this backup holds is kept, not dropped.
  const carried: CarriedImage[] = failures.length > 0
    ? await carryForward(store, opts.backup, failures, lease, signal)
    : [];
  const carriedIds = new Set(carried.map((c) => c.failure));
  const lost = failures.filter((f) => !carriedIds.has(f));
  if (stored.length === 0 && carried.length === 0 && referenceCount > 0) throw new NothingBackedUpError(lost.map(withoutCause));

  signal?.throwIfAborted();
  const kept = new Set<string>();
  for (const image of stored) for (const d of image.blobs) kept.add(d);
  for (const c of carried) {
    for (const [d, bytes] of c.blobs) {
      await resolution.blobs.set(d, bytes);
      kept.add(d);
      if (c.configs.has(d)) resolution.configs.add(d);
    }
  }
  const layers = new Map(resolution.layers);
  for (const c of carried) for (const l of c.layers) if (!layers.has(l.digest)) layers.set(l.digest, { ...l, repos: [] });
  const images = [...stored, ...carried.map((c) => c.image)];
  const backup = backupJson(opts, inInputOrder(images, opts.imageStreams), layers, resolution.configs, startedAt, now().toISOString());
  const blobs = subset(resolution.blobs, kept);
  // No blob of the bundle may have been collected under this run (pkg/gc/fence.ts).
  await checkBeforeCommit(store, lease, [
    ...backup.layers,
    ...[...blobs.digests()].filter((d) => lease.has(d)).map((d) => ({ digest: d, size: blobs.size(d)! })),
  ], { ...(signal && { signal }), ...(opts.gcFenceMs !== undefined && { fenceMs: opts.gcFenceMs }) });
  const bundleKey = await commitBundle(store, { backup, blobs }, { ...(opts.retry && { retry: opts.retry }), ...(signal && { signal }) });
  // Carried images count as backed up: the bundle holds them.
  p.images.failed -= carried.length;
  p.images.done += carried.length;
  if (opts.referrers !== false) p.referrers = new Set((backup.referrers ?? []).map((r) => r.digest)).size;
  tracker.changed(true);
  return {
    progress: tracker.snapshot(), failures: lost.map(withoutCause), carried: carried.map((c) => withoutCause(c.failure)), bundleKey, backup,
  };
}

/** What a status may show: the cause stays in the process. */
function withoutCause({ imageStream, reference, message }: ImageError): ImageFailure {
  return { imageStream, reference, message };
}

function backupJson(
  opts: RunBackupOptions, images: ResolvedImage[], layers: Map<string, LayerSource>, configs: ReadonlySet<string>,
  startedAt: string, completedAt: string,
): BackupJson {
  const streams = new Map<string, BundleImageStream>();
  const layerSet = new Set<string>();
  const blobSet = new Set<string>();
  const referrers = new Map<string, BundleReferrer>(); // "<subject> <digest>"
  for (const image of images) {
    for (const r of image.referrers) {
      const key = `${r.subject} ${r.digest}`;
      const known = referrers.get(key);
      if (known) known.tags = [...new Set([...known.tags, ...r.tags])];
      else referrers.set(key, { ...r, tags: [...r.tags] });
    }
    const id = `${image.imageStream.namespace}/${image.imageStream.name}`;
    let stream = streams.get(id);
    if (!stream) {
      stream = { namespace: image.imageStream.namespace, name: image.imageStream.name, references: [] };
      streams.set(id, stream);
    }
    // The same digest named twice in one stream is one reference with the tags of both.
    const same = stream.references.find((r) => r.digest === image.digest);
    if (same) {
      for (const t of image.tags) if (!same.tags.includes(t)) same.tags.push(t);
    } else {
      stream.references.push({ digest: image.digest, mediaType: image.mediaType, tags: [...image.tags], source: image.reference });
    }
    for (const d of image.layers) layerSet.add(d);
    for (const d of image.blobs) blobSet.add(d);
  }
  const layerList = [...layerSet].map((d) => {
    const { digest, size, mediaType } = layers.get(d)!;
    return { digest, size, mediaType };
  });
  const manifests = [...blobSet].filter((d) => !configs.has(d));
  return {
    formatVersion: BUNDLE_FORMAT_VERSION,
    productVersion: productVersion(),
    backup: { ...opts.backup },
    imageStreams: [...streams.values()],
    layers: layerList,
    ...(referrers.size > 0 && { referrers: [...referrers.values()] }),
    totals: {
      imageStreams: streams.size,
      images: [...streams.values()].reduce((n, s) => n + s.references.length, 0),
      manifests: manifests.length,
      configs: blobSet.size - manifests.length,
      layers: layerList.length,
      layerBytes: layerList.reduce((n, l) => n + l.size, 0),
      ...(referrers.size > 0 && { referrers: new Set([...referrers.values()].map((r) => r.digest)).size }),
    },
    startedAt,
    completedAt,
  };
}

/**
 * Manifests and configs in memory up to the budget; beyond it in the pool, under their digest
 * like layers (a key that is there already is not written again), and read back from it.
 */
function metadataCache(store: ObjectStore, lease: Lease, signal?: AbortSignal): MetadataCache<number> {
  return new MetadataCache<number>({
    put: async (digest, bytes) => {
      await lease.add([digest]);
      const key = store.blobKey(digest);
      const there = await store.head(key, signal);
      if (there?.size !== bytes.length) await store.put(key, bytes, { ...(signal && { signal }) });
      return bytes.length;
    },
    read: (digest, size) => store.getRange(store.blobKey(digest), 0, size, { ...(signal && { signal }) }),
  });
}

function nothingMessage(failures: ImageFailure[]): string {
  const shown = failures.slice(0, 3).map((f) => `${f.imageStream} ${f.reference}: ${f.message}`).join('; ');
  const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
  return `no image could be backed up: ${shown}${more}`;
}
