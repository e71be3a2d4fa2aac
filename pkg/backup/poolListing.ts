// What the pool holds, learned by listing it instead of one HEAD per layer: a listing page
// names up to 1,000 blobs in one request, so a repeat backup of 2,000 layers asks the store
// a few times instead of 2,000 (each a round trip, 40 ms to a bucket in another region).
// A pool much larger than the backup would cost more pages than the HEADs it saves: the
// listing stops after LISTED_PER_LAYER objects per layer of the run (at least one page), and
// a layer it did not reach is asked by HEAD as before.
//
// As safe as the HEAD it replaces: the run's lease already names every layer when the pool
// is listed, so the collector keeps what the listing saw (pkg/gc), and a layer the listing
// shows with another size is replaced, as a HEAD showing it would have it replaced.
import type { ObjectInfo, ObjectStore } from '../store/objectStore.js';
import { blobsPrefix, digestOfBlobKey } from '../store/keys.js';

/** Objects listed per layer the run needs before the listing gives way to HEADs (about one page per 100 layers). */
export const LISTED_PER_LAYER = 10;
/** The first page is read whole, whatever the run's size. */
const FIRST_PAGE = 1000;
/**
 * A layer larger than this (one part) is asked by HEAD even when a whole listing did not show
 * it: another backup running at the same time may have stored it since the listing, and the
 * HEAD costs little next to uploading it again.
 */
export const HEAD_ABOVE = 8 * 1024 * 1024;

/** Looks a pool key up: from the listing where it reached, else with a HEAD. */
export type PoolLookup = (key: string, size: number, signal?: AbortSignal) => Promise<ObjectInfo | undefined>;

export interface PoolListing {
  lookup: PoolLookup;
  /** Objects read, and whether the listing reached the end of the pool (every absence it shows is then known). */
  listed: number;
  complete: boolean;
}

/** `layers`: the digests the run needs; only those are kept, so memory follows the run, not the pool. */
export async function listPool(store: Pick<ObjectStore, 'root' | 'list' | 'head'>, layers: ReadonlySet<string>, signal?: AbortSignal): Promise<PoolListing> {
  const seen = new Map<string, ObjectInfo>();
  const most = Math.max(FIRST_PAGE, layers.size * LISTED_PER_LAYER);
  let listed = 0;
  let complete = true;
  try {
    for await (const o of store.list(blobsPrefix(store.root), signal)) {
      const digest = digestOfBlobKey(store.root, o.key);
      if (digest && layers.has(digest)) seen.set(o.key, o);
      if (++listed >= most) {
        complete = false;
        break;
      }
    }
  } catch {
    signal?.throwIfAborted();
    // The listing is only a shortcut: a store that fails or refuses it is asked blob by blob,
    // as before (a refusal that matters shows on those requests, in their own words).
    complete = false;
  }
  return {
    listed,
    complete,
    lookup: async (key, size, s) => seen.get(key) ?? (complete && size <= HEAD_ABOVE ? undefined : store.head(key, s)),
  };
}
