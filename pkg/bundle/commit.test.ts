// The commit under writers that race it, with an in-memory store that answers conditional
// writes as S3 does (412 when the ETag moved): the backup's own bundle written meanwhile is
// not a failure, another backup's bundle is never replaced.
import { Readable } from 'node:stream';
import type { ObjectStore, PutOptions } from '../store/objectStore.js';
import { PreconditionFailedError } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';
import { commitBundle } from './commit.js';
import type { Bundle } from './format.js';
import { inMemoryBlobs } from './metadata.js';
import { packBundleBuffer as packBundle } from './pack.js';

const bundleOf = (uid: string): Bundle => ({
  backup: {
    formatVersion: 1, productVersion: 't', backup: { namespace: 'ns', name: 'b', uid }, imageStreams: [], layers: [],
    totals: { imageStreams: 0, images: 0, manifests: 0, configs: 0, layers: 0, layerBytes: 0 }, startedAt: '2026-01-01T00:00:00Z', completedAt: '2026-01-01T00:00:00Z',
  },
  blobs: inMemoryBlobs(new Map()),
});

class RacyStore {
  objects = new Map<string, { data: Buffer; etag: string }>();
  puts = 0;
  private n = 0;
  /** Before each of the next `races` conditional writes, someone else writes the key. */
  constructor(private races: number, private readonly racer: () => Promise<Buffer>) {}
  bundleKey = (name: string) => `p/backups/${name}/bundle.tar`;
  bucket = 'b';
  async head(key: string) {
    const o = this.objects.get(key);
    return o && { key, size: o.data.length, etag: o.etag };
  }
  async getRange(key: string, offset: number, length: number) {
    return this.objects.get(key)!.data.subarray(offset, offset + length);
  }
  async get(key: string) {
    const o = this.objects.get(key);
    if (!o) throw new ObjectNotFoundError(key, 'b');
    return Readable.from([o.data]);
  }
  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}) {
    const chunks: Buffer[] = [];
    for await (const c of Buffer.isBuffer(body) ? [body] : body as AsyncIterable<Buffer>) chunks.push(c);
    const data = Buffer.concat(chunks);
    this.puts++;
    if (this.races > 0) {
      this.races--;
      this.objects.set(key, { data: await this.racer(), etag: `"e${++this.n}"` });
    }
    const cur = this.objects.get(key);
    if ((opts.ifNoneMatch && cur) || (opts.ifMatch !== undefined && cur?.etag !== opts.ifMatch)) throw new PreconditionFailedError(key);
    this.objects.set(key, { data, etag: `"e${++this.n}"` });
  }
}

describe('commitBundle when another write races it', () => {
  it('writes after two 412s caused by its own backup\'s bundle (a lost answer, a second replica)', async () => {
    const store = new RacyStore(2, () => packBundle(bundleOf('u1')));
    const key = await commitBundle(store as unknown as ObjectStore, bundleOf('u1'), { retry: { attempts: 5, baseMs: 1, maxMs: 2 } });
    expect(key).toBe('p/backups/b/bundle.tar');
    expect(store.puts).toBe(3);
  });

  it('never replaces the bundle another backup (another uid) wrote meanwhile', async () => {
    const store = new RacyStore(1, () => packBundle(bundleOf('other')));
    await expect(commitBundle(store as unknown as ObjectStore, bundleOf('u1'), { retry: { attempts: 5, baseMs: 1, maxMs: 2 } }))
      .rejects.toMatchObject({ reason: 'BundleOwnedByOther' });
  });

  it('gives up as a failure that may pass when the key keeps changing', async () => {
    const store = new RacyStore(100, () => packBundle(bundleOf('u1')));
    await expect(commitBundle(store as unknown as ObjectStore, bundleOf('u1'), { retry: { attempts: 3, baseMs: 1, maxMs: 2 } }))
      .rejects.toMatchObject({ kind: 'Transient', reason: 'BundleCommitRaced' });
    expect(store.puts).toBe(3);
  });
});
