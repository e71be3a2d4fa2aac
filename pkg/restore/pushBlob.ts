// Makes one blob present in a target repository: a mount from a repository this run already
// filled, else a HEAD (a restarted restore does not push again; skipped in a restore's first run
// for a small blob of a reference the target has no manifest of), else an upload from
// the bundle (configs) or the pool (layers), verified on the way out of the store (by the
// registry client, which checks what it sends).
import { Readable, pipeline } from 'node:stream';
import { ByteBudget } from '../backup/budget.js';
import { DEFAULT_CONCURRENCY } from '../backup/uploadBlobs.js';
import { ByteMeter } from '../byteMeter.js';
import type { Descriptor, Registry } from '../contracts.js';
import { DigestMismatchError, StalledError, classify } from '../errors.js';
import { retrying, type RetryPolicy } from '../retry.js';
import type { ObjectStore } from '../store/objectStore.js';
import { DEFAULT_MONOLITHIC_MAX } from '../registry/client.js';
import { ObjectNotFoundError } from '../store/storeError.js';

export type PushOutcome = 'present' | 'mounted' | 'uploaded';

/** Where layers are read from: the location's pool, or an archive being imported. */
export type LayerStore = Pick<ObjectStore, 'blobKey' | 'get'>;

export interface BlobSource {
  desc: Descriptor;
  /** Configs come from the bundle (already verified); layers from the pool. */
  bundled?: Buffer;
  /** A restore's first run, and the target has no manifest of the reference this blob belongs to (see fill()). */
  likelyAbsent?: boolean;
}

export class BlobPusher {
  private readonly filledBy = new Map<string, string>(); // digest -> a repository that has it
  private readonly running = new Map<string, Promise<PushOutcome>>(); // repo@digest
  private mountsRefused = false;
  private readonly filling = new Map<string, Promise<unknown>>(); // digest -> the check and upload of the repository taking it in

  private readonly signal?: AbortSignal;
  private readonly retry?: RetryPolicy;
  private readonly budget: ByteBudget;

  constructor(
    private readonly store: LayerStore,
    private readonly registry: Registry,
    /** `budget`: bytes small layers may hold together (default DEFAULT_CONCURRENCY.bufferBytes). */
    opts: { retry?: RetryPolicy; signal?: AbortSignal; budget?: ByteBudget } = {},
  ) {
    if (opts.signal) this.signal = opts.signal;
    if (opts.retry) this.retry = opts.retry;
    this.budget = opts.budget ?? new ByteBudget(DEFAULT_CONCURRENCY.bufferBytes);
  }

  /** Concurrent calls for the same repository and digest share one push. */
  ensure(repo: string, blob: BlobSource, onBytes?: (n: number) => void): Promise<PushOutcome> {
    const key = `${repo}@${blob.desc.digest}`;
    let p = this.running.get(key);
    if (!p) {
      p = this.push(repo, blob, onBytes);
      this.running.set(key, p);
      // A failed push may be retried by a later call (another image needing the same blob).
      p.catch(() => this.running.delete(key));
    }
    return p;
  }

  /**
   * A push cut short (a reset connection, a 503 on the PATCH) starts again from the check:
   * the blob may have landed after all; else a new upload with a new read of the source (an
   * upload session, or a streamed body, cannot be continued).
   */
  private push(repo: string, blob: BlobSource, onBytes?: (n: number) => void): Promise<PushOutcome> {
    return retrying(() => this.pushOnce(repo, blob, onBytes), {
      ...(this.retry && { policy: this.retry }), ...(this.signal && { signal: this.signal }),
    });
  }

  private async pushOnce(repo: string, blob: BlobSource, onBytes?: (n: number) => void): Promise<PushOutcome> {
    const { digest } = blob.desc;
    this.signal?.throwIfAborted();
    // One repository at a time takes a blob in (checks, then uploads it); the others wait, then
    // mount from it. That mount needs no HEAD first: it succeeds as well when the target already
    // holds the blob, so the HEAD would be a round trip spent for nothing.
    for (let pending = this.filling.get(digest); pending; pending = this.filling.get(digest)) await pending.catch(() => {});
    this.signal?.throwIfAborted();
    const from = this.filledBy.get(digest);
    if (from && from !== repo && !this.mountsRefused && (await this.tryMount(repo, digest, from))) {
      this.remember(digest, repo);
      return 'mounted';
    }
    const fill = this.fill(repo, blob, onBytes);
    // A registry that will not mount lets every repository fill its own, at once.
    if (!this.filling.has(digest)) this.filling.set(digest, fill);
    try {
      return await fill;
    } finally {
      if (this.filling.get(digest) === fill) this.filling.delete(digest);
    }
  }

  /**
   * A registry that answers a mount with an upload, or refuses it outright (no read access to
   * the source repository, say), is not asked to mount again in this run: each blob is checked
   * and uploaded, as without mounts, and a refused mount never fails a blob.
   */
  private async tryMount(repo: string, digest: string, from: string): Promise<boolean> {
    try {
      if (await this.registry.mountBlob(repo, digest, from)) return true;
    } catch (err) {
      if (this.signal?.aborted || classify(err) === 'transient') throw err;
    }
    this.mountsRefused = true;
    return false;
  }

  /** What a repository is known to hold already (a manifest of it is there): never pushed, and a source to mount from. */
  known(repo: string, digest: string): void {
    const key = `${repo}@${digest}`;
    if (!this.running.has(key)) this.running.set(key, Promise.resolve('present'));
    this.remember(digest, repo);
  }

  private async fill(repo: string, blob: BlobSource, onBytes?: (n: number) => void): Promise<'present' | 'uploaded'> {
    const { digest, size } = blob.desc;
    // In a restore's first run, a small blob of a reference the target has no manifest of is
    // sent without a HEAD first: into an empty registry (a restore after a disaster) every such
    // HEAD answers 404. Where the blob was there after all (another image of the repository has
    // it), the registry takes the same bytes again, at the cost of one small upload. A later run
    // of the restore always asks: what an earlier run pushed is never pushed again.
    const present = !(blob.likelyAbsent && size <= DEFAULT_MONOLITHIC_MAX) && await this.registry.hasBlob(repo, digest);
    if (!present) await this.upload(repo, blob, onBytes);
    this.remember(digest, repo);
    return present ? 'present' : 'uploaded';
  }

  private async upload(repo: string, blob: BlobSource, onBytes?: (n: number) => void): Promise<void> {
    const { desc } = blob;
    if (blob.bundled) {
      await this.registry.pushBlob(repo, desc, Readable.from([blob.bundled]));
      onBytes?.(blob.bundled.length);
      return;
    }
    // The registry client reads a small layer whole before its one PUT: many small layers at
    // once are bounded by bytes, not by count (a large one streams and holds little).
    const release = await this.budget.acquire(desc.size <= DEFAULT_MONOLITHIC_MAX ? desc.size : 0);
    try {
      await this.uploadLayer(repo, desc, onBytes);
    } finally {
      release();
    }
  }

  private async uploadLayer(repo: string, desc: Descriptor, onBytes?: (n: number) => void): Promise<void> {
    const key = this.store.blobKey(desc.digest);
    let source: Readable;
    try {
      source = await this.store.get(key, this.signal);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw new StalledError('BlobMissing', `layer ${desc.digest} is missing from the object store (${key}): `
          + 'the pool was changed outside imagestream-backup', { cause: err });
      }
      throw err;
    }
    const meter = new ByteMeter(onBytes);
    const body = pipeline(source, meter, () => {});
    try {
      // The registry client checks size and digest as it sends (and holds the last bytes back
      // until they match), so one hash pass does for both.
      await this.registry.pushBlob(repo, desc, body);
    } catch (err) {
      meter.takeBack();
      // What did not match came from the store: say so, whatever words the client used.
      if (err instanceof DigestMismatchError) throw new DigestMismatchError(err.expected, err.actual, `layer in the object store (${key})`);
      throw err;
    } finally {
      if (!body.destroyed) body.destroy();
    }
  }

  private remember(digest: string, repo: string): void {
    if (!this.filledBy.has(digest)) this.filledBy.set(digest, repo);
  }
}
