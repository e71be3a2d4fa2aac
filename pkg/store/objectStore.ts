// The object store of one BSL, reduced to what the data path needs, whatever the provider
// (s3/, azure/, gcs/): every method means the same for each. Keys are full keys in the
// bucket (an Azure container, a GCS bucket); `root` and the key helpers build them.
import type { Readable } from 'node:stream';
import { StalledError } from '../errors.js';
import type { PartBuffers } from './parts.js';

export interface ObjectInfo {
  key: string;
  size: number;
  /** The version a conditional read or write names: S3's and Azure's ETag, GCS's generation. */
  etag?: string;
  lastModified?: Date;
}

/**
 * An upload begun and never completed nor aborted (an S3 multipart upload a killed process
 * left). Azure's uncommitted blocks and GCS's resumable sessions expire by themselves and
 * cannot be listed: those stores list none.
 */
export interface UploadInfo {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/** What deleting does in this bucket: with versioning, a delete frees no space; with object lock, it may be refused. */
export interface Retention {
  versioning: 'Enabled' | 'Suspended' | 'Off';
  objectLock: boolean;
}

export interface PutOptions {
  contentType?: string;
  /** Only when no object has the key (a conditional write; GCS: generation 0). */
  ifNoneMatch?: boolean;
  /** Only when the object still has this version (`ObjectInfo.etag`). */
  ifMatch?: string;
  /**
   * Bytes a streamed body will have. When it fits in one part, the body is streamed in a
   * single PUT of that length, held nowhere in memory; otherwise (or unknown) it goes in
   * parts (S3 multipart, Azure staged blocks, GCS resumable chunks), each buffered while it
   * is sent, and committed only once the body ended whole.
   */
  size?: number;
  /** The body's sha256 (`sha256:<hex>`), when known: a streamed single PUT to S3 sends it for S3 to check. */
  digest?: string;
  /** Multipart part size for streamed bodies; defaults to 8 MiB. */
  partSize?: number;
  /** Parts in flight per streamed body; each holds one part in memory. */
  queueSize?: number;
  /** Where part buffers come from and go back to, shared with the run's other uploads (default: this upload's own). */
  partBuffers?: PartBuffers;
  /** A streamed body of known `size` goes in one request (up to 5 GiB), never in parts: a conditional write can take it. */
  singlePut?: boolean;
  signal?: AbortSignal;
}

/** The store has no conditional writes (some S3 implementations): a streamed body is gone, the caller writes again without. */
export class ConditionalWritesUnsupportedError extends Error {
  constructor(readonly key: string) {
    super(`the object store does not support conditional writes (writing ${key})`);
  }
}

/** Counters for benchmarks and logs. */
export interface StoreStats {
  bytesWritten: number;
  bytesRead: number;
  objectsWritten: number;
}

export interface ObjectStore {
  readonly bucket: string;
  /** `<prefix>/plugins/imagestreams/v1/`: no leading slash, no empty segment. */
  readonly root: string;
  readonly stats: StoreStats;
  blobKey(digest: string): string;
  bundleKey(backupName: string): string;
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined>;
  has(key: string, signal?: AbortSignal): Promise<boolean>;
  /** Throws ObjectNotFoundError when the key is absent; PreconditionFailedError when it is not the `ifMatch` version. */
  get(key: string, signal?: AbortSignal, ifMatch?: string): Promise<Readable>;
  /** A small byte range, whole in memory. */
  getRange(key: string, offset: number, length: number, opts?: { ifMatch?: string; signal?: AbortSignal }): Promise<Buffer>;
  /**
   * A Buffer goes in one request; a stream goes in one request or in parts (see PutOptions)
   * that are never committed when the stream fails, so a failed put never leaves an object.
   */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<void>;
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /**
   * Uploads under `prefix` that were begun and never completed or aborted. Some S3
   * implementations (MinIO) find them only by their exact key: give a key as the prefix then.
   */
  listUploads(prefix: string, signal?: AbortSignal): AsyncIterable<UploadInfo>;
  abortUpload(upload: UploadInfo, signal?: AbortSignal): Promise<void>;
  retention(signal?: AbortSignal): Promise<Retention>;
  /** One cheap authenticated request: proves endpoint, TLS, credentials, bucket and region. */
  check(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** S3's smallest part is 5 MiB; 8 MiB keeps a multipart upload's memory small at full speed (see the benchmark). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;

/** A conditional read or write the store refused (412, or Azure's 409 for a key that exists); the caller decides what that means. */
export class PreconditionFailedError extends StalledError {
  constructor(readonly key: string) {
    super('PreconditionFailed', `object ${key} changed while it was being written`);
  }
}
