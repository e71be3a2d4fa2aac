// The manifests, indexes and configs of a backup (its "metadata": everything of an image but
// its layers), by digest. They are small, but a backup of thousands of images has thousands of
// them: held in memory up to a budget, and beyond it kept where they can be read again (the
// blob pool while a backup writes them, the bundle object itself, by byte range, while a
// restore reads it). Memory stays bounded whatever the backup's size; every read from
// elsewhere is checked against its digest.
import { DigestMismatchError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';

export interface MetadataBlobs {
  has(digest: string): boolean;
  size(digest: string): number | undefined;
  /** The exact bytes; fails when the digest is not known, or the bytes read do not match it. */
  get(digest: string): Promise<Buffer>;
  digests(): IterableIterator<string>;
}

/** Where blobs beyond the budget go and come from. */
export interface Overflow<L> {
  /** Keeps `bytes` somewhere it can be read again; returns how to find it. */
  put(digest: string, bytes: Buffer): Promise<L>;
  read(digest: string, where: L): Promise<Buffer>;
}

/** 64 MiB: a few thousand images' metadata fits; a bigger backup overflows, it does not grow. */
export const DEFAULT_METADATA_BUDGET = 64 * 1024 * 1024;

export class MetadataCache<L = unknown> implements MetadataBlobs {
  private readonly memory = new Map<string, Buffer>();
  private readonly elsewhere = new Map<string, { size: number; where: L }>();
  private used = 0;

  constructor(private readonly overflow?: Overflow<L>, private readonly budget = DEFAULT_METADATA_BUDGET) {}

  /** Keeps a blob whose digest was checked by the caller. */
  async set(digest: string, bytes: Buffer): Promise<void> {
    if (this.has(digest)) return;
    if (!this.overflow || this.used + bytes.length <= this.budget) {
      this.memory.set(digest, bytes);
      this.used += bytes.length;
      return;
    }
    this.elsewhere.set(digest, { size: bytes.length, where: await this.overflow.put(digest, bytes) });
  }

  /** Records a blob that is already elsewhere (a bundle entry past the budget: its byte range). */
  setElsewhere(digest: string, size: number, where: L): void {
    if (!this.has(digest)) this.elsewhere.set(digest, { size, where });
  }

  /** Would `bytes` more fit in memory? */
  fits(bytes: number): boolean {
    return !this.overflow || this.used + bytes <= this.budget;
  }

  has(digest: string): boolean {
    return this.memory.has(digest) || this.elsewhere.has(digest);
  }

  size(digest: string): number | undefined {
    return this.memory.get(digest)?.length ?? this.elsewhere.get(digest)?.size;
  }

  async get(digest: string): Promise<Buffer> {
    const held = this.memory.get(digest);
    if (held) return held;
    const far = this.elsewhere.get(digest);
    if (!far || !this.overflow) throw new Error(`internal: metadata blob ${digest} is not known`);
    const bytes = await this.overflow.read(digest, far.where);
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, 'metadata blob read back');
    return bytes;
  }

  *digests(): IterableIterator<string> {
    yield* this.memory.keys();
    yield* this.elsewhere.keys();
  }

  /** Bytes held in memory (tests, logs). */
  get inMemory(): number {
    return this.used;
  }
}

/** Only `digests` of `blobs` (a bundle holds the metadata of the images it stored, not of those that failed). */
export function subset(blobs: MetadataBlobs, digests: ReadonlySet<string>): MetadataBlobs {
  return {
    has: (d) => digests.has(d) && blobs.has(d),
    size: (d) => (digests.has(d) ? blobs.size(d) : undefined),
    get: (d) => {
      if (!digests.has(d)) throw new Error(`internal: metadata blob ${d} is not in this set`);
      return blobs.get(d);
    },
    digests: () => [...digests].filter((d) => blobs.has(d))[Symbol.iterator](),
  };
}

/** A fixed set of blobs, all in memory (tests, small tools). */
export function inMemoryBlobs(blobs: ReadonlyMap<string, Buffer>): MetadataBlobs {
  const c = new MetadataCache();
  for (const [d, b] of blobs) void c.set(d, b);
  return c;
}
