// The Google Cloud Storage implementation of ObjectStore (provider gcp), on GCS's JSON API.
// A streamed blob goes in one upload of its announced length, or in a resumable upload whose
// last chunk, the one that finalises the object, is sent only once the body ended whole, which
// is after its digest was checked: a body that fails leaves an unfinished session, which is
// cancelled (and which GCS would drop by itself after a week). The version a conditional read
// or write names is the object's generation.
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { resumable, type Opened } from '../../resumable.js';
import type { RetryPolicy } from '../../retry.js';
import { TransientError } from '../../errors.js';
import { blobKey, bundleKey } from '../keys.js';
import {
  DEFAULT_PART_SIZE, PreconditionFailedError,
  type ObjectInfo, type ObjectStore, type PutOptions, type Retention, type StoreStats, type UploadInfo,
} from '../objectStore.js';
import { BufferPool, partsOf, putStreamed, sendBodyOnce, type Part } from '../parts.js';
import { call, countedBody, readExactly } from '../requests.js';
import { ObjectNotFoundError } from '../storeError.js';
import type { AuthHeader } from './auth.js';
import { gcsError, isBucketMissing, type GcsContext } from './gcsError.js';
import { GcsHttpError, httpError, readBody, readJson, send, type GcsRequest, type GcsResponse } from './http.js';

/** The largest single upload the store sends in one request (as S3's single PUT). */
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;
/** Resumable chunks other than the last must be multiples of 256 KiB. */
const CHUNK_UNIT = 256 * 1024;

export interface GcsStoreOptions {
  bucket: string;
  root: string;
  endpoint: string;
  kmsKeyName?: string;
  retry: RetryPolicy;
  idleTimeoutMs: number;
}

interface GcsObject {
  name: string;
  size?: string;
  generation?: string;
  updated?: string;
}

export class GcsObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly root: string;
  readonly stats: StoreStats = { bytesWritten: 0, bytesRead: 0, objectsWritten: 0 };
  private readonly ctx: GcsContext;

  constructor(
    private readonly opts: GcsStoreOptions,
    private readonly auth: AuthHeader,
    private readonly agentFor: (url: URL) => http.Agent,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.bucket = opts.bucket;
    this.root = opts.root;
    this.ctx = { bucket: opts.bucket, endpoint: opts.endpoint };
  }

  blobKey(digest: string): string {
    return blobKey(this.root, digest);
  }

  bundleKey(backupName: string): string {
    return bundleKey(this.root, backupName);
  }

  private url(path: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(`${this.opts.endpoint}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  private objectPath(key: string): string {
    return `/storage/v1/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(key)}`;
  }

  private async request(req: GcsRequest): Promise<GcsResponse> {
    const authorization = await this.auth(req.url.toString());
    return send({ ...req, headers: { ...req.headers, authorization } }, this.agentFor(req.url), this.opts.idleTimeoutMs);
  }

  /** The answer when its status is one of `ok`, else its error (the body read and dropped). */
  private async expect(req: GcsRequest, ok: number[]): Promise<GcsResponse> {
    const res = await this.request(req);
    if (ok.includes(res.status)) return res;
    throw await httpError(res);
  }

  private mapRead(key: string) {
    return (err: unknown) => {
      if (err instanceof GcsHttpError && err.status === 404 && !isBucketMissing(err)) return new ObjectNotFoundError(key, this.bucket);
      if (err instanceof GcsHttpError && err.status === 412) return new PreconditionFailedError(key);
      return gcsError(err, `reading ${key}`, this.ctx);
    };
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const meta = await call(async () => readJson<GcsObject>(await this.expect({
        method: 'GET', url: this.url(this.objectPath(key), { fields: 'name,size,generation,updated' }), ...(signal && { signal }),
      }, [200])), this.mapRead(key), this.callOpts(signal));
      return info(key, meta);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  async has(key: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.head(key, signal)) !== undefined;
  }

  /** The object's body; one that breaks is read on by range from where it stopped, of the same generation. */
  async get(key: string, signal?: AbortSignal, ifMatch?: string): Promise<Readable> {
    let generation = ifMatch;
    const open = (offset: number): Promise<Opened> => call(async () => {
      const res = await this.expect({
        method: 'GET', url: this.url(this.objectPath(key), { alt: 'media', ifGenerationMatch: generation }),
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, ...(signal && { signal }),
      }, [200, 206]);
      const served = res.headers['x-goog-generation'];
      generation ??= typeof served === 'string' ? served : undefined;
      return { stream: res.body, offset: res.status === 206 ? offset : 0 };
    }, this.mapRead(key), this.callOpts(signal));
    const body = resumable((await open(0)).stream, open, {
      what: `object ${key} from bucket ${this.bucket}`, policy: this.opts.retry, idleTimeoutMs: this.opts.idleTimeoutMs, ...(signal && { signal }),
    });
    return countedBody(body, this.stats, signal);
  }

  async getRange(key: string, offset: number, length: number, opts: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    return call(async () => {
      const res = await this.expect({
        method: 'GET', url: this.url(this.objectPath(key), { alt: 'media', ifGenerationMatch: opts.ifMatch }),
        headers: { range: `bytes=${offset}-${offset + length - 1}` }, ...(opts.signal && { signal: opts.signal }),
      }, [206]);
      const got = await readExactly(res.body, length);
      this.stats.bytesRead += got.length;
      if (got.length !== length) throw new TransientError('StorageError', `reading ${key}: ${got.length} of ${length} bytes at ${offset}`);
      return got;
    }, this.mapRead(key), this.callOpts(opts.signal));
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    // Generation 0: only when no live object has the name.
    const ifGenerationMatch = opts.ifNoneMatch ? '0' : opts.ifMatch;
    const map = (err: unknown) => {
      if (err instanceof GcsHttpError && err.status === 412) return new PreconditionFailedError(key);
      return gcsError(err, `writing ${key}`, this.ctx);
    };
    const contentType = opts.contentType ?? 'application/octet-stream';
    if (Buffer.isBuffer(body)) {
      await call(() => this.putWhole(key, body, contentType, ifGenerationMatch, opts.signal), map, this.callOpts(opts.signal));
      this.stats.bytesWritten += body.length;
    } else {
      if (ifGenerationMatch !== undefined && !(opts.singlePut && opts.size !== undefined)) throw new Error('a conditional write of a stream needs singlePut and its size');
      this.stats.bytesWritten += await this.putStream(key, body, opts, contentType, ifGenerationMatch, map);
    }
    this.stats.objectsWritten++;
  }

  private async putWhole(key: string, body: Buffer | Readable, contentType: string, ifGenerationMatch?: string, signal?: AbortSignal, size?: number): Promise<void> {
    const res = await this.expect({
      method: 'POST',
      url: this.url(`/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o`, {
        uploadType: 'media', name: key, ifGenerationMatch, kmsKeyName: this.opts.kmsKeyName,
      }),
      headers: { 'content-type': contentType, ...(size !== undefined && { 'content-length': String(size) }) },
      body, ...(signal && { signal }),
    }, [200]);
    await readBody(res);
  }

  private putStream(key: string, body: Readable, opts: PutOptions, contentType: string, ifGenerationMatch: string | undefined, map: (err: unknown) => Error): Promise<number> {
    // One request of the announced length (GCS stores nothing unless the body arrives whole), or a resumable upload.
    return putStreamed(body, opts, MAX_SINGLE_PUT,
      (size) => sendBodyOnce(body, (abort) => call(
        () => this.putWhole(key, body, contentType, ifGenerationMatch, opts.signal ? AbortSignal.any([abort, opts.signal]) : abort, size), map, { ...this.callOpts(), once: true })),
      () => this.putResumable(key, body, opts, contentType, ifGenerationMatch, map));
  }

  /**
   * A resumable upload, one chunk at a time from reused buffers. Each chunk is held back until
   * the next one starts, so the chunk that finalises the object (with the total size) is sent
   * only after the body ended, whole and checked. A chunk is sent once: asking GCS how much it
   * kept would finalise the object on fake-gcs-server, so a failed chunk fails the upload and
   * the caller reads its source again.
   */
  private async putResumable(key: string, body: Readable, opts: PutOptions, contentType: string, ifGenerationMatch: string | undefined, map: (err: unknown) => Error): Promise<number> {
    const session = await call(async () => {
      const res = await this.expect({
        method: 'POST',
        url: this.url(`/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o`, {
          uploadType: 'resumable', name: key, ifGenerationMatch, kmsKeyName: this.opts.kmsKeyName,
        }),
        headers: { 'content-type': 'application/json; charset=utf-8', 'x-upload-content-type': contentType },
        body: Buffer.from(JSON.stringify({ name: key, contentType })), ...(opts.signal && { signal: opts.signal }),
      }, [200, 201]);
      await readBody(res);
      return this.sessionUrl(res.headers.location);
    }, map, this.callOpts(opts.signal));
    const chunkSize = Math.max(CHUNK_UNIT, Math.floor((opts.partSize ?? DEFAULT_PART_SIZE) / CHUNK_UNIT) * CHUNK_UNIT);
    // One chunk being filled, one held back, one on the wire.
    const pool = new BufferPool(chunkSize, 3, opts.partBuffers);
    let held: Part | undefined;
    let total = 0;
    try {
      for await (const part of partsOf(body, chunkSize, pool)) {
        total = part.offset + part.length;
        if (held && part.length === 0) {
          // The body ended on a chunk boundary: the chunk held back is the last.
          pool.release(part.buffer);
          break;
        }
        if (held) {
          await this.sendChunk(session, held, undefined, contentType, map, opts.signal);
          pool.release(held.buffer);
        }
        held = part;
      }
      await this.sendChunk(session, held!, total, contentType, map, opts.signal);
      return total;
    } catch (err) {
      // Best effort: an unfinished session only costs space until GCS drops it.
      await this.send({ method: 'DELETE', url: session }).then((r) => readBody(r), () => undefined).catch(() => undefined);
      throw err;
    } finally {
      if (held) pool.release(held.buffer);
      // Chunks go one at a time, each awaited: none is on the wire any more.
      pool.close();
      body.destroy();
    }
  }

  private async sendChunk(session: URL, part: Part, total: number | undefined, contentType: string, map: (err: unknown) => Error, signal?: AbortSignal): Promise<void> {
    const last = part.offset + part.length - 1;
    // An empty body has no byte range: only its total.
    const range = part.length === 0 ? `bytes */${total ?? 0}` : `bytes ${part.offset}-${last}/${total ?? '*'}`;
    await call(async () => {
      const res = await this.expect({
        method: 'PUT', url: session, headers: { 'content-range': range, 'content-type': contentType },
        body: part.buffer.subarray(0, part.length), ...(signal && { signal }),
      }, total === undefined ? [308] : [200, 201]);
      await readBody(res);
    }, map, { ...this.callOpts(signal), once: true });
  }

  /** A session URI on the endpoint's own origin: a Location elsewhere is not followed. */
  private sessionUrl(location: string | undefined): URL {
    const url = location ? new URL(location, this.opts.endpoint) : undefined;
    if (!url || url.origin !== new URL(this.opts.endpoint).origin) {
      throw new TransientError('StorageError', `bucket ${this.bucket} at ${this.opts.endpoint} answered a resumable upload with a session on another host`);
    }
    return url;
  }

  private send(req: GcsRequest): Promise<GcsResponse> {
    return this.request(req);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await call(async () => readJson<{ items?: GcsObject[]; nextPageToken?: string }>(await this.expect({
        method: 'GET',
        url: this.url(`/storage/v1/b/${encodeURIComponent(this.bucket)}/o`, {
          prefix, pageToken: token, maxResults: '1000', fields: 'items(name,size,generation,updated),nextPageToken',
        }),
        ...(signal && { signal }),
      }, [200])), (err) => gcsError(err, `listing ${prefix}`, this.ctx, { listing: true }), this.callOpts(signal));
      for (const o of page.items ?? []) yield info(o.name, o);
      token = page.nextPageToken || undefined;
    } while (token);
  }

  /**
   * GCS has no list of unfinished resumable uploads: a session nobody finishes is dropped by
   * GCS a week after it began. Nothing to list, nothing to abort.
   */
  // eslint-disable-next-line require-yield
  async *listUploads(_prefix: string, _signal?: AbortSignal): AsyncIterable<UploadInfo> {
    return;
  }

  /** See listUploads: unfinished sessions expire by themselves. */
  async abortUpload(_upload: UploadInfo, _signal?: AbortSignal): Promise<void> {}

  /** Object versioning, and a retention policy or object retention (GCS's object lock). */
  async retention(signal?: AbortSignal): Promise<Retention> {
    const b = await call(async () => readJson<{ versioning?: { enabled?: boolean }; retentionPolicy?: unknown; objectRetention?: { mode?: string } }>(
      await this.expect({
        method: 'GET', url: this.url(`/storage/v1/b/${encodeURIComponent(this.bucket)}`, { fields: 'versioning,retentionPolicy,objectRetention' }),
        ...(signal && { signal }),
      }, [200])), (err) => gcsError(err, `reading the settings of bucket ${this.bucket}`, this.ctx, { listing: true }), this.callOpts(signal));
    return { versioning: b.versioning?.enabled ? 'Enabled' : 'Off', objectLock: b.retentionPolicy !== undefined || b.objectRetention?.mode === 'Enabled' };
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    try {
      await call(async () => readBody(await this.expect({ method: 'DELETE', url: this.url(this.objectPath(key)), ...(signal && { signal }) }, [200, 204])),
        this.mapRead(key), this.callOpts(signal));
    } catch (err) {
      // Gone already: what deleting wanted.
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
  }

  async check(signal?: AbortSignal): Promise<void> {
    await call(async () => readBody(await this.expect({
      method: 'GET', url: this.url(`/storage/v1/b/${encodeURIComponent(this.bucket)}/o`, { prefix: this.root, maxResults: '1', fields: 'items(name)' }),
      ...(signal && { signal }),
    }, [200])), (err) => gcsError(err, `listing ${this.root}`, this.ctx, { listing: true }), this.callOpts(signal));
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  private callOpts(signal?: AbortSignal) {
    return { retry: this.opts.retry, ...(signal && { signal }) };
  }
}

function info(key: string, o: GcsObject): ObjectInfo {
  return {
    key, size: Number(o.size ?? 0),
    ...(o.generation && { etag: o.generation }),
    ...(o.updated && { lastModified: new Date(o.updated) }),
  };
}
