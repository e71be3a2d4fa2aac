// The S3 implementation of ObjectStore (provider aws: AWS S3, MinIO, Ceph RGW, NooBaa and other
// S3 endpoints). A streamed blob goes in one PUT of its announced length, or in parts
// (multipartUpload.ts) that are completed only once the body ended whole, so a failed digest
// check leaves no object.
import { Readable } from 'node:stream';
import { resumable, type Opened } from '../../resumable.js';
import type { RetryPolicy } from '../../retry.js';
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetBucketVersioningCommand, GetObjectCommand, GetObjectLockConfigurationCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand,
  type S3Client, type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { TransientError } from '../../errors.js';
import { blobKey, bundleKey } from '../keys.js';
import { putStreamed, sendBodyOnce } from '../parts.js';
import { countedBody } from '../requests.js';
import { uploadMultipart } from './multipartUpload.js';
import type { StoreSettings } from '../location.js';
import { ObjectNotFoundError, isNotFound, storeError, type StoreContext } from '../storeError.js';
import {
  ConditionalWritesUnsupportedError, DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, PreconditionFailedError,
  type ObjectInfo, type ObjectStore, type PutOptions, type Retention, type StoreStats, type UploadInfo,
} from '../objectStore.js';

/** S3's largest single PUT. */
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly root: string;
  readonly stats: StoreStats = { bytesWritten: 0, bytesRead: 0, objectsWritten: 0 };
  private readonly ctx: StoreContext;

  constructor(
    private readonly client: S3Client,
    private readonly settings: StoreSettings,
    private readonly reads: { retry: RetryPolicy; idleTimeoutMs: number },
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.bucket = settings.bucket;
    this.root = settings.root;
    this.ctx = {
      bucket: settings.bucket,
      endpoint: settings.endpoint ?? `https://s3.${settings.region ?? 'us-east-1'}.amazonaws.com`,
      ...(settings.region !== undefined && { region: settings.region }),
    };
  }

  blobKey(digest: string): string {
    return blobKey(this.root, digest);
  }

  bundleKey(backupName: string): string {
    return bundleKey(this.root, backupName);
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return { key, size: out.ContentLength ?? 0, ...(out.ETag && { etag: out.ETag }), ...(out.LastModified && { lastModified: out.LastModified }) };
    } catch (err) {
      // A HEAD error has no body: 404 is the only answer that means "absent".
      if (isNotFound(err)) return undefined;
      throw storeError(err, `checking ${key}`, this.ctx);
    }
  }

  async has(key: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.head(key, signal)) !== undefined;
  }

  /**
   * The object's body; one that breaks is read on from where it stopped (a Range request) of
   * the same version (its ETag), so a body is never spliced from two versions of an object.
   * `ifMatch`: only that version, else PreconditionFailedError.
   */
  async get(key: string, signal?: AbortSignal, ifMatch?: string): Promise<Readable> {
    let etag = ifMatch;
    const open = async (offset: number): Promise<Opened> => {
      try {
        const out = await this.client.send(new GetObjectCommand({
          Bucket: this.bucket, Key: key, ...(offset > 0 && { Range: `bytes=${offset}-` }), ...(etag && { IfMatch: etag }),
        }), { abortSignal: signal });
        etag ??= out.ETag;
        // 206 when the range was honoured; a 200 starts from byte 0 again.
        return { stream: out.Body as Readable, offset: out.$metadata.httpStatusCode === 206 ? offset : 0 };
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key, this.bucket);
        if (statusOf(err) === 412) throw new PreconditionFailedError(key);
        throw storeError(err, `reading ${key}`, this.ctx);
      }
    };
    const body = resumable((await open(0)).stream, open, {
      what: `object ${key} from bucket ${this.bucket}`, policy: this.reads.retry, idleTimeoutMs: this.reads.idleTimeoutMs, ...(signal && { signal }),
    });
    return countedBody(body, this.stats, signal);
  }

  /** `length` bytes at `offset` of the object, of the version `ifMatch` names when given (else PreconditionFailedError). */
  async getRange(key: string, offset: number, length: number, opts: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    try {
      const out = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}`, ...(opts.ifMatch && { IfMatch: opts.ifMatch }),
      }), { abortSignal: opts.signal });
      const chunks: Buffer[] = [];
      let got = 0;
      for await (const c of out.Body as AsyncIterable<Buffer>) {
        got += c.length;
        if (got > length) throw new Error(`more than the ${length} bytes asked for`);
        chunks.push(c);
      }
      this.stats.bytesRead += got;
      if (got !== length) throw new TransientError('StorageError', `reading ${key}: ${got} of ${length} bytes at ${offset}`);
      return Buffer.concat(chunks, got);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key, this.bucket);
      if (statusOf(err) === 412) throw new PreconditionFailedError(key);
      throw storeError(err, `reading ${key}`, this.ctx);
    }
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    const params: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: key,
      ContentType: opts.contentType ?? 'application/octet-stream',
      ...(this.settings.serverSideEncryption && { ServerSideEncryption: this.settings.serverSideEncryption as PutObjectCommandInput['ServerSideEncryption'] }),
      ...(this.settings.kmsKeyId && { SSEKMSKeyId: this.settings.kmsKeyId }),
      ...(this.settings.tagging && { Tagging: this.settings.tagging }),
      ...(this.settings.checksumAlgorithm && { ChecksumAlgorithm: this.settings.checksumAlgorithm as PutObjectCommandInput['ChecksumAlgorithm'] }),
    };
    try {
      if (Buffer.isBuffer(body)) {
        const put = (conditional: boolean) => this.client.send(new PutObjectCommand({
          ...params,
          Body: body,
          ContentLength: body.length,
          ...(conditional && opts.ifNoneMatch && { IfNoneMatch: '*' }),
          ...(conditional && opts.ifMatch && { IfMatch: opts.ifMatch }),
        }), { abortSignal: opts.signal });
        try {
          await put(true);
        } catch (err) {
          // Some S3 implementations have no conditional writes: the caller's check stands alone.
          if (!(opts.ifNoneMatch || opts.ifMatch) || !notImplemented(err)) throw err;
          await put(false);
        }
        this.stats.bytesWritten += body.length;
      } else {
        const conditional = opts.ifNoneMatch || opts.ifMatch;
        if (conditional && !(opts.singlePut && opts.size !== undefined)) throw new Error('a conditional write of a stream needs singlePut and its size');
        try {
          this.stats.bytesWritten += await this.putStream(body, {
            ...params, ...(opts.ifNoneMatch && { IfNoneMatch: '*' }), ...(opts.ifMatch && { IfMatch: opts.ifMatch }),
          }, opts);
        } catch (err) {
          if (conditional && notImplemented(err)) throw new ConditionalWritesUnsupportedError(key);
          throw err;
        }
      }
      this.stats.objectsWritten++;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) throw new PreconditionFailedError(key);
      throw storeError(err, `writing ${key}`, this.ctx);
    }
  }

  /**
   * A streamed body: in one PUT of its announced length when that fits in one part, else in
   * parts. The caller's signal cancels it by failing the body (AbortError), which fails the
   * upload; a failed upload stores nothing.
   */
  private putStream(body: Readable, params: PutObjectCommandInput, opts: PutOptions): Promise<number> {
    return putStreamed(body, opts, MAX_SINGLE_PUT, (size) => this.putOnePart(body, params, size, opts.digest), () => uploadMultipart(this.client, body, params, {
      partSize: opts.partSize ?? DEFAULT_PART_SIZE, queueSize: opts.queueSize ?? DEFAULT_QUEUE_SIZE,
      ...(opts.partBuffers && { partBuffers: opts.partBuffers }), ...(opts.signal && { signal: opts.signal }),
    }));
  }

  /**
   * One PUT with the body streamed at its announced length. S3 stores nothing unless it gets
   * that many bytes, so the request is aborted when the body fails (a digest mismatch, a
   * cancellation). The SDK does not retry a streamed body; the caller may, with a new one.
   */
  private putOnePart(body: Readable, params: PutObjectCommandInput, size: number, digest?: string): Promise<void> {
    return sendBodyOnce(body, (abort) => this.client.send(
      new PutObjectCommand({ ...streamedChecksum(params, this.settings.checksumAlgorithm, digest), Body: body, ContentLength: size }), { abortSignal: abort }));
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
      } catch (err) {
        throw storeError(err, `listing ${prefix}`, this.ctx);
      }
      for (const o of out.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, ...(o.ETag && { etag: o.ETag }), ...(o.LastModified && { lastModified: o.LastModified }) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async *listUploads(prefix: string, signal?: AbortSignal): AsyncIterable<UploadInfo> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), { abortSignal: signal });
      } catch (err) {
        throw storeError(err, `listing the uploads under ${prefix}`, this.ctx);
      }
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, ...(u.Initiated && { initiated: u.Initiated }) };
      }
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async abortUpload(upload: UploadInfo, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }), { abortSignal: signal });
    } catch (err) {
      // Gone already (completed, aborted, or expired by a lifecycle rule): nothing to do.
      if (isNotFound(err) || (err as { name?: string }).name === 'NoSuchUpload') return;
      throw storeError(err, `aborting an upload of ${upload.key}`, this.ctx);
    }
  }

  async retention(signal?: AbortSignal): Promise<Retention> {
    let versioning: Retention['versioning'] = 'Off';
    try {
      const v = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.bucket }), { abortSignal: signal });
      versioning = v.Status === 'Enabled' ? 'Enabled' : v.Status === 'Suspended' ? 'Suspended' : 'Off';
    } catch (err) {
      throw storeError(err, `reading the versioning of bucket ${this.bucket}`, this.ctx);
    }
    let objectLock = false;
    try {
      const l = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }), { abortSignal: signal });
      objectLock = l.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (err) {
      // No configuration is an error here: that answer means "no lock".
      const name = (err as { name?: string }).name ?? '';
      if (!/ObjectLockConfigurationNotFound|NoSuchObjectLockConfiguration|NotImplemented/.test(name) && statusOf(err) !== 404) {
        throw storeError(err, `reading the object lock of bucket ${this.bucket}`, this.ctx);
      }
    }
    return { versioning, objectLock };
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      throw storeError(err, `deleting ${key}`, this.ctx);
    }
  }

  async check(signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root, MaxKeys: 1 }), { abortSignal: signal });
    } catch (err) {
      throw storeError(err, `listing ${this.root}`, this.ctx);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    await this.onClose();
  }
}

/**
 * The checksum of a streamed PUT. Had the SDK to compute one, it would wrap the body in its
 * aws-chunked encoder, which re-emits a failure of the body where nobody listens; the blob's
 * own sha256 is given instead, and S3 checks it too. A location with checksumAlgorithm ""
 * (an S3 that has no checksums) gets none.
 */
function streamedChecksum(params: PutObjectCommandInput, algorithm: string, digest?: string): PutObjectCommandInput {
  const { ChecksumAlgorithm: _computed, ...rest } = params;
  if (algorithm === '' || !digest?.startsWith('sha256:')) return rest;
  return { ...rest, ChecksumSHA256: Buffer.from(digest.slice('sha256:'.length), 'hex').toString('base64') };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function notImplemented(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501;
}
