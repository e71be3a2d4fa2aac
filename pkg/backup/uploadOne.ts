// Puts one layer in the pool: skipped when an object of the right size is already there,
// else streamed registry -> sha256 check -> multipart upload, which is aborted when the
// check fails, so the pool only ever holds whole blobs under their true digest.
import { pipeline, type Readable } from 'node:stream';
import { ByteMeter } from '../byteMeter.js';
import type { Registry } from '../contracts.js';
import { verifyingStream } from '../oci/verifyingStream.js';
import { markExhausted, retrying, type RetryPolicy } from '../retry.js';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, type ObjectStore } from '../store/objectStore.js';
import type { PartBuffers } from '../store/parts.js';
import type { PoolLookup } from './poolListing.js';
import type { ByteBudget } from './budget.js';
import type { LayerSource } from './types.js';

export interface UploadOneOptions {
  store: ObjectStore;
  /** Where the layer is read from: the registry (from the layer's repositories), unless `source` is given. */
  registry?: Registry;
  /** Opens the layer's bytes anew for each try (an archive being imported); they are checked all the same. */
  source?: (layer: LayerSource) => Promise<Readable>;
  layer: LayerSource;
  /** How the pool is asked whether it holds the layer (a listing of it, see poolListing.ts); a HEAD when absent. */
  lookup?: PoolLookup;
  budget?: ByteBudget;
  /** Part buffers shared with the run's other uploads. */
  partBuffers?: PartBuffers;
  /** Bytes as they pass; negative to take back the bytes of an upload that failed. */
  onBytes?: (n: number) => void;
  /** The one retry policy: a copy that fails transiently is started again from the registry. */
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

export type UploadOutcome = 'uploaded' | 'skipped';

const MAX_PARTS = 9_000; // S3 allows 10,000; keep room

export function partSizeFor(size: number): number {
  return Math.max(DEFAULT_PART_SIZE, Math.ceil(size / MAX_PARTS));
}

/** What the upload of this blob may hold in memory: nothing for one streamed PUT; else the part being filled and those in flight. */
export function memoryFor(size: number, queueSize = DEFAULT_QUEUE_SIZE): number {
  const part = partSizeFor(size);
  return size <= part ? 0 : part * (queueSize + 1);
}

export async function uploadOne(opts: UploadOneOptions): Promise<UploadOutcome> {
  const { store, layer, signal } = opts;
  const key = store.blobKey(layer.digest);
  const stored = await (opts.lookup ?? ((k, _size, s) => store.head(k, s)))(key, layer.size, signal);
  // Same key means same digest; a size mismatch can only be damage, and is replaced.
  if (stored && stored.size === layer.size) return 'skipped';

  const release = opts.budget ? await opts.budget.acquire(memoryFor(layer.size)) : () => {};
  try {
    // A streamed body cannot be sent twice, so the SDK does not retry it: a blip on the S3 side
    // (a reset connection, a 503) gets a new read from the registry here instead (a break on the
    // registry side is resumed by the registry client itself).
    await retrying(() => copyOnce(opts, key), { ...(opts.retry && { policy: opts.retry }), ...(signal && { signal }) });
    return 'uploaded';
  } finally {
    release();
  }
}

async function copyOnce(opts: UploadOneOptions, key: string): Promise<void> {
  const { store, layer, signal } = opts;
  const meter = new ByteMeter(opts.onBytes);
  try {
    signal?.throwIfAborted();
    // The registry client spends its own tries on opening the blob: no second round of them.
    const source = await (opts.source ? opts.source(layer) : openSource(opts.registry!, layer)).catch((err: unknown) => { throw markExhausted(err); });
    const verifier = verifyingStream(layer, `layer ${layer.digest} from ${opts.source ? 'the archive' : opts.registry!.host}`);
    const body = pipeline(source, verifier, meter, () => {});
    await store.put(key, body, {
      size: layer.size, digest: layer.digest, partSize: partSizeFor(layer.size), contentType: layer.mediaType,
      ...(opts.partBuffers && { partBuffers: opts.partBuffers }), ...(signal && { signal }),
    });
  } catch (err) {
    meter.takeBack();
    throw err;
  }
}

/** The image's own repository first; other repositories that reference the layer after. */
async function openSource(registry: Registry, layer: LayerSource): Promise<Readable> {
  let first: unknown;
  for (const repo of layer.repos) {
    try {
      return await registry.getBlob(repo, layer.digest);
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}
