// The Azure Blob implementation of ObjectStore (provider azure). A streamed blob goes in one
// Put Blob of its announced length, or as staged blocks that are committed (Put Block List)
// only once the body ended whole, which is after its digest was checked: a body that fails
// leaves uncommitted blocks, which are invisible and which Azure deletes by itself after a
// week. Every request that can be sent again is tried under the one retry policy.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobServiceClient, BlockBlobClient, ContainerClient, BlobItem } from '@azure/storage-blob';
import { resumable, type Opened } from '../../resumable.js';
import type { RetryPolicy } from '../../retry.js';
import { TransientError } from '../../errors.js';
import { blobKey, bundleKey } from '../keys.js';
import {
  DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, PreconditionFailedError,
  type ObjectInfo, type ObjectStore, type PutOptions, type Retention, type StoreStats, type UploadInfo,
} from '../objectStore.js';
import { BufferPool, partsOf, putStreamed, sendBodyOnce } from '../parts.js';
import { call, countedBody, readExactly } from '../requests.js';
import { ObjectNotFoundError } from '../storeError.js';
import { azureCode, azureError, isBlobNotFound, statusOf, type AzureContext } from './azureError.js';

/** Azure's largest Put Blob (service version 2019-12-12 and later). */
const MAX_SINGLE_PUT = 5000 * 1024 * 1024;
/** Azure's most blocks in one blob. */
const MAX_BLOCKS = 50_000;

export interface AzureStoreOptions {
  container: string;
  root: string;
  account: string;
  endpoint: string;
  /** config.blockSizeInBytes: no staged block is larger. */
  maxBlockSize?: number;
  retry: RetryPolicy;
  idleTimeoutMs: number;
}

export class AzureObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly root: string;
  readonly stats: StoreStats = { bytesWritten: 0, bytesRead: 0, objectsWritten: 0 };
  private readonly container: ContainerClient;
  private readonly ctx: AzureContext;

  constructor(service: BlobServiceClient, private readonly opts: AzureStoreOptions, private readonly onClose: () => Promise<void> = async () => {}) {
    this.bucket = opts.container;
    this.root = opts.root;
    this.container = service.getContainerClient(opts.container);
    this.ctx = { account: opts.account, container: opts.container, endpoint: opts.endpoint };
  }

  blobKey(digest: string): string {
    return blobKey(this.root, digest);
  }

  bundleKey(backupName: string): string {
    return bundleKey(this.root, backupName);
  }

  private blob(key: string): BlockBlobClient {
    return this.container.getBlockBlobClient(key);
  }

  private map(what: string) {
    return (err: unknown) => azureError(err, what, this.ctx);
  }

  /** Reads: a missing blob and a version that is not the one asked for are answers, not failures. */
  private mapRead(key: string) {
    return (err: unknown) => {
      if (isBlobNotFound(err)) return new ObjectNotFoundError(key, this.bucket);
      if (statusOf(err) === 412) return new PreconditionFailedError(key);
      return azureError(err, `reading ${key}`, this.ctx);
    };
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const p = await call(() => this.blob(key).getProperties({ ...(signal && { abortSignal: signal }) }), this.mapRead(key), this.callOpts(signal));
      return { key, size: p.contentLength ?? 0, ...(p.etag && { etag: p.etag }), ...(p.lastModified && { lastModified: p.lastModified }) };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  async has(key: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.head(key, signal)) !== undefined;
  }

  /** The blob's body; one that breaks is read on by range from where it stopped, of the same version (its ETag). */
  async get(key: string, signal?: AbortSignal, ifMatch?: string): Promise<Readable> {
    let etag = ifMatch;
    const open = (offset: number): Promise<Opened> => call(async () => {
      const out = await this.blob(key).download(offset, undefined, {
        maxRetryRequests: 0, // a broken body is resumed by resumable(), under the one policy
        ...(etag && { conditions: { ifMatch: etag } }),
        ...(signal && { abortSignal: signal }),
      });
      etag ??= out.etag;
      // 206 when the range was honoured; a 200 starts from byte 0 again.
      return { stream: out.readableStreamBody as Readable, offset: out._response.status === 206 ? offset : 0 };
    }, this.mapRead(key), this.callOpts(signal));
    const body = resumable((await open(0)).stream, open, {
      what: `blob ${key} from container ${this.bucket}`, policy: this.opts.retry, idleTimeoutMs: this.opts.idleTimeoutMs, ...(signal && { signal }),
    });
    return countedBody(body, this.stats, signal);
  }

  async getRange(key: string, offset: number, length: number, opts: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    return call(async () => {
      const out = await this.blob(key).download(offset, length, {
        maxRetryRequests: 0, ...(opts.ifMatch && { conditions: { ifMatch: opts.ifMatch } }), ...(opts.signal && { abortSignal: opts.signal }),
      });
      const got = await readExactly(out.readableStreamBody as AsyncIterable<Buffer>, length);
      this.stats.bytesRead += got.length;
      if (got.length !== length) throw new TransientError('StorageError', `reading ${key}: ${got.length} of ${length} bytes at ${offset}`);
      return got;
    }, this.mapRead(key), this.callOpts(opts.signal));
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    const headers = { blobHTTPHeaders: { blobContentType: opts.contentType ?? 'application/octet-stream' } };
    // If-None-Match: * is refused with 409 BlobAlreadyExists, If-Match with 412: both mean "someone wrote it".
    const conditions = opts.ifNoneMatch ? { ifNoneMatch: '*' } : opts.ifMatch ? { ifMatch: opts.ifMatch } : undefined;
    const map = (err: unknown) => {
      if (statusOf(err) === 412 || (conditions && azureCode(err) === 'BlobAlreadyExists')) return new PreconditionFailedError(key);
      return azureError(err, `writing ${key}`, this.ctx);
    };
    if (Buffer.isBuffer(body)) {
      await call(() => this.blob(key).upload(body, body.length, {
        ...headers, ...(conditions && { conditions }), ...(opts.signal && { abortSignal: opts.signal }),
      }), map, this.callOpts(opts.signal));
      this.stats.bytesWritten += body.length;
    } else {
      if (conditions && !(opts.singlePut && opts.size !== undefined)) throw new Error('a conditional write of a stream needs singlePut and its size');
      this.stats.bytesWritten += await this.putStream(key, body, opts, { ...headers, ...(conditions && { conditions }) }, map);
    }
    this.stats.objectsWritten++;
  }

  /** A streamed body in one Put Blob of its announced length when it fits, else in staged blocks. */
  private putStream(key: string, body: Readable, opts: PutOptions, writeOpts: object, map: (err: unknown) => Error): Promise<number> {
    return putStreamed(body, opts, MAX_SINGLE_PUT, (size) => this.putWhole(key, body, size, writeOpts, map), () => this.putBlocks(key, body, opts, writeOpts, map));
  }

  /**
   * One Put Blob with the body streamed at its announced length: Azure stores nothing unless
   * it gets that many bytes, so the request is aborted when the body fails. Sent once: the
   * caller may try again with a new body.
   */
  private putWhole(key: string, body: Readable, size: number, writeOpts: object, map: (err: unknown) => Error): Promise<void> {
    return sendBodyOnce(body, (abort) => call(() => this.blob(key).upload(() => body, size, { ...writeOpts, abortSignal: abort }), map, { ...this.callOpts(), once: true }));
  }

  /**
   * Staged blocks, a few in flight, each from a reused buffer; the block list is committed
   * only after the body ended whole. Block ids carry a random upload id, so a commit names
   * only this upload's blocks, never those a failed upload of the same blob left.
   */
  private async putBlocks(key: string, body: Readable, opts: PutOptions, writeOpts: object, map: (err: unknown) => Error): Promise<number> {
    const blob = this.blob(key);
    const blockSize = this.blockSize(opts);
    const queueSize = opts.queueSize ?? DEFAULT_QUEUE_SIZE;
    const pool = new BufferPool(blockSize, queueSize + 1, opts.partBuffers);
    const upload = randomBytes(8).toString('hex');
    const blockId = (i: number) => Buffer.from(`${upload}-${String(i).padStart(6, '0')}`).toString('base64');
    const stop = new AbortController();
    const onAbort = () => stop.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let total = 0;
    try {
      for await (const part of partsOf(body, blockSize, pool)) {
        if (failure !== undefined) throw failure;
        if (part.length === 0 && part.index > 0) {
          pool.release(part.buffer);
          break;
        }
        const id = blockId(part.index);
        ids.push(id);
        total += part.length;
        const staged = call(() => blob.stageBlock(id, part.buffer.subarray(0, part.length), part.length, { abortSignal: stop.signal }),
          this.map(`writing ${key}`), this.callOpts(stop.signal)).then(
          () => {},
          (err: unknown) => {
            failure ??= err;
            stop.abort(err);
          },
        ).finally(() => {
          inFlight.delete(staged);
          pool.release(part.buffer);
        });
        inFlight.add(staged);
        if (ids.length > MAX_BLOCKS) throw new Error(`${key}: more than ${MAX_BLOCKS} blocks of ${blockSize} bytes`);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      await call(() => blob.commitBlockList(ids, { ...writeOpts, ...(opts.signal && { abortSignal: opts.signal }) }), map, this.callOpts(opts.signal));
      return total;
    } catch (err) {
      // The first failure is the cause; the stagings it stops fail with AbortError after it.
      failure ??= err;
      stop.abort(failure);
      await Promise.allSettled(inFlight);
      throw failure;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      // Every staging has settled by now: the buffers can serve the next upload.
      pool.close();
      body.destroy();
    }
  }

  /** The caller's part size, no more than config.blockSizeInBytes, and enough for the blob in 50,000 blocks. */
  private blockSize(opts: PutOptions): number {
    const wanted = Math.min(opts.partSize ?? DEFAULT_PART_SIZE, this.opts.maxBlockSize ?? Infinity);
    return Math.max(wanted, Math.ceil((opts.size ?? 0) / MAX_BLOCKS), 1);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await call(() => this.container.listBlobsFlat({ prefix, ...(signal && { abortSignal: signal }) })
        .byPage({ ...(token && { continuationToken: token }), maxPageSize: 1000 }).next(), this.map(`listing ${prefix}`), this.callOpts(signal));
      if (page.done) return;
      for (const b of page.value.segment.blobItems as BlobItem[]) {
        yield {
          key: b.name, size: b.properties.contentLength ?? 0,
          ...(b.properties.etag && { etag: b.properties.etag }), ...(b.properties.lastModified && { lastModified: b.properties.lastModified }),
        };
      }
      token = page.value.continuationToken || undefined;
    } while (token);
  }

  /**
   * Azure has no upload to list: blocks staged and never committed are invisible, and the
   * service deletes them a week after they were staged. Nothing to list, nothing to abort.
   */
  // eslint-disable-next-line require-yield
  async *listUploads(_prefix: string, _signal?: AbortSignal): AsyncIterable<UploadInfo> {
    return;
  }

  /** See listUploads: uncommitted blocks expire by themselves. */
  async abortUpload(_upload: UploadInfo, _signal?: AbortSignal): Promise<void> {}

  /**
   * Versioning is a setting of the storage account that the Blob API does not show: a blob of
   * the prefix listed with its versions tells (a version id means versioning is on). Immutable
   * storage (a policy or a legal hold on the container) is Azure's object lock.
   */
  async retention(signal?: AbortSignal): Promise<Retention> {
    const props = await call(() => this.container.getProperties({ ...(signal && { abortSignal: signal }) }),
      this.map(`reading the properties of container ${this.bucket}`), this.callOpts(signal));
    const objectLock = Boolean(props.hasImmutabilityPolicy || props.hasLegalHold || props.isImmutableStorageWithVersioningEnabled);
    const page = await call(() => this.container.listBlobsFlat({ prefix: this.root, includeVersions: true, ...(signal && { abortSignal: signal }) })
      .byPage({ maxPageSize: 1 }).next(), this.map(`listing the versions under ${this.root}`), this.callOpts(signal));
    const versioned = !page.done && page.value.segment.blobItems.some((b) => b.versionId !== undefined);
    return { versioning: versioned || props.isImmutableStorageWithVersioningEnabled ? 'Enabled' : 'Off', objectLock };
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    try {
      await call(() => this.blob(key).delete({ deleteSnapshots: 'include', ...(signal && { abortSignal: signal }) }), this.mapRead(key), this.callOpts(signal));
    } catch (err) {
      // Gone already: what deleting wanted.
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
  }

  async check(signal?: AbortSignal): Promise<void> {
    await call(() => this.container.listBlobsFlat({ prefix: this.root, ...(signal && { abortSignal: signal }) }).byPage({ maxPageSize: 1 }).next(),
      this.map(`listing ${this.root}`), this.callOpts(signal));
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  private callOpts(signal?: AbortSignal) {
    return { retry: this.opts.retry, ...(signal && { signal }) };
  }
}
