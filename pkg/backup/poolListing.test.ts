import type { ObjectInfo } from '../store/objectStore.js';
import { HEAD_ABOVE, LISTED_PER_LAYER, listPool } from './poolListing.js';

const root = 'velero/plugins/imagestreams/v1/';
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const key = (n: number) => `${root}blobs/sha256/${digest(n).slice('sha256:'.length)}`;
/** The digests of blobs 0..count-1: what a run of `count` layers needs. */
const needs = (count: number, from = 0) => new Set(Array.from({ length: count }, (_, i) => digest(from + i)));

/** A pool of `count` blobs of size 10 that fails after `failAfter` objects, counting HEADs. */
function pool(count: number, failAfter = Infinity) {
  const heads: string[] = [];
  return {
    heads,
    store: {
      root,
      async *list(prefix: string): AsyncIterable<ObjectInfo> {
        expect(prefix).toBe(`${root}blobs/sha256/`);
        yield { key: `${root}blobs/sha256/not-a-digest`, size: 1 };
        for (let i = 0; i < count; i++) {
          if (i >= failAfter) throw new Error('connection reset');
          yield { key: key(i), size: 10 };
        }
      },
      async head(k: string): Promise<ObjectInfo | undefined> {
        heads.push(k);
        return { key: k, size: 99 };
      },
    },
  };
}

describe('listing the pool instead of a HEAD per layer', () => {
  test.each([
    ['a listed blob is known without a HEAD', 5, needs(2, 3), 3, { key: key(3), size: 10 }, 0],
    ['a blob a whole listing did not show is known absent without a HEAD', 5, needs(2, 6), 7, undefined, 0],
    ['a blob past the first page, when the run is small, is asked by HEAD', 1500, needs(1, 1200), 1200, { key: key(1200), size: 99 }, 1],
    ['a larger run lists further before it asks by HEAD', 1500, needs(200, 1100), 1200, { key: key(1200), size: 10 }, 0],
  ])('%s', async (_name, blobs, layers, wanted, found, heads) => {
    const p = pool(blobs);
    const listing = await listPool(p.store, layers);
    expect(await listing.lookup(key(wanted), 10)).toEqual(found);
    expect(p.heads).toHaveLength(heads);
  });

  test('a large blob a whole listing did not show is still asked by HEAD (another run may have stored it since)', async () => {
    const p = pool(5);
    const listing = await listPool(p.store, needs(2, 6));
    expect(listing.complete).toBe(true);
    expect(await listing.lookup(key(7), HEAD_ABOVE)).toBeUndefined();
    expect(p.heads).toEqual([]);
    expect(await listing.lookup(key(7), HEAD_ABOVE + 1)).toEqual({ key: key(7), size: 99 });
    expect(p.heads).toEqual([key(7)]);
  });

  test('stops after LISTED_PER_LAYER objects per layer, at least one page, and says it did not see everything', async () => {
    const p = pool(5000);
    const listing = await listPool(p.store, needs(150));
    expect(listing.listed).toBe(150 * LISTED_PER_LAYER);
    expect(listing.complete).toBe(false);
  });

  test('keeps only what the run needs, whatever the size of the pool', async () => {
    const p = pool(1800);
    const listing = await listPool(p.store, needs(200, 100));
    expect(listing.complete).toBe(true);
    // A blob of the pool the run does not need is not kept: it reads as absent, without a HEAD.
    expect(await listing.lookup(key(1700), 10)).toBeUndefined();
    expect(await listing.lookup(key(150), 10)).toEqual({ key: key(150), size: 10 });
    expect(p.heads).toEqual([]);
  });

  test('a listing that fails keeps what it saw and asks the rest by HEAD', async () => {
    const p = pool(10, 4);
    const listing = await listPool(p.store, needs(10));
    expect(listing.complete).toBe(false);
    expect(await listing.lookup(key(2), 10)).toEqual({ key: key(2), size: 10 });
    expect(p.heads).toEqual([]);
    expect(await listing.lookup(key(7), 10)).toEqual({ key: key(7), size: 99 });
    expect(p.heads).toEqual([key(7)]);
  });

  test('an aborted run does not fall back to HEADs: it stops', async () => {
    const ac = new AbortController();
    ac.abort(new Error('run cancelled'));
    const p = pool(10);
    p.store.list = async function* () {
      ac.signal.throwIfAborted();
      yield* [];
    };
    await expect(listPool(p.store, needs(3), ac.signal)).rejects.toThrow('run cancelled');
  });
});
