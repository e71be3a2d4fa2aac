// Puts every layer of the resolved images in the pool once: images go a few at a time, each
// with a few blobs at a time; a layer shared by images in flight together is uploaded by the
// first and awaited by the others; a byte budget caps what uploads hold in memory.
import pLimit from 'p-limit';
import type { Registry } from '../contracts.js';
import type { RetryPolicy } from '../retry.js';
import type { ObjectStore } from '../store/objectStore.js';
import { PartBuffers } from '../store/parts.js';
import { ByteBudget } from './budget.js';
import type { ProgressTracker } from './progress.js';
import type { LayerSource, ResolvedImage } from './types.js';
import { listPool } from './poolListing.js';
import { uploadOne, type UploadOutcome } from './uploadOne.js';

export interface Concurrency {
  /** Images whose layers are copied at once (default 4). */
  images?: number;
  /**
   * Images whose trees (manifests, configs, referrers) are read at once: small reads whose time
   * is round trips, so many more than `images` (default 16, and never fewer than `images`).
   */
  resolve?: number;
  /** Blobs in flight per image (default 6). */
  blobs?: number;
  /** Bytes all multipart uploads together may buffer (default 64 MiB: two large layers at a time; a layer of one part is streamed, unbuffered). */
  bufferBytes?: number;
}

export const DEFAULT_CONCURRENCY = { images: 4, resolve: 16, blobs: 6, bufferBytes: 64 * 1024 * 1024 } as const;

/** Trees read at once: `resolve`, or the default, but never fewer than the images copied at once. */
export function resolveConcurrency(c: Concurrency | undefined): number {
  return Math.max(c?.resolve ?? DEFAULT_CONCURRENCY.resolve, c?.images ?? 0);
}

export interface UploadBlobsOptions {
  store: ObjectStore;
  registry: Registry;
  images: ResolvedImage[];
  layers: Map<string, LayerSource>;
  concurrency?: Concurrency;
  progress: ProgressTracker;
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

/** Layers that could not be stored, with why. */
export type FailedBlobs = Map<string, unknown>;

export async function uploadBlobs(opts: UploadBlobsOptions): Promise<FailedBlobs> {
  const { store, registry, layers, progress, signal } = opts;
  const c = { ...DEFAULT_CONCURRENCY, ...definedOnly(opts.concurrency) };
  const imageLimit = pLimit(c.images);
  const budget = new ByteBudget(c.bufferBytes);
  // Part buffers pass from one multipart upload to the next; the budget bounds how many exist.
  const partBuffers = new PartBuffers();
  const inFlight = new Map<string, Promise<UploadOutcome>>();
  const failed: FailedBlobs = new Map();
  const p = progress.progress;

  const needed = new Set(opts.images.flatMap((i) => i.layers));
  p.blobs.total += needed.size;
  for (const d of needed) p.bytes.total += layers.get(d)?.size ?? 0;
  progress.changed(true);
  const lookup = needed.size > 0 ? (await listPool(store, needed, signal)).lookup : undefined;

  const storeLayer = (digest: string): Promise<UploadOutcome> => {
    let running = inFlight.get(digest);
    if (!running) {
      const layer = layers.get(digest);
      if (!layer) throw new Error(`internal: layer ${digest} was not resolved`);
      running = uploadOne({
        store, registry, layer, ...(lookup && { lookup }), budget, partBuffers, ...(opts.retry && { retry: opts.retry }),
        onBytes: (n) => { p.bytes.done += n; progress.changed(); },
        ...(signal && { signal }),
      }).then((outcome) => {
        if (outcome === 'skipped') {
          p.blobs.skipped++;
          p.bytes.skipped += layer.size;
        } else {
          p.blobs.done++;
        }
        progress.changed();
        return outcome;
      }, (err: unknown) => {
        failed.set(digest, err);
        throw err;
      });
      inFlight.set(digest, running);
    }
    return running;
  };

  await Promise.all(opts.images.map((image) => imageLimit(async () => {
    const blobLimit = pLimit(c.blobs);
    const results = await Promise.allSettled(image.layers.map((d) => blobLimit(() => storeLayer(d))));
    if (results.some((r) => r.status === 'rejected')) p.images.failed++;
    else p.images.done++;
    progress.changed();
  })));
  signal?.throwIfAborted();
  return failed;
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
