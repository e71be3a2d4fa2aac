// A pass-through that proves streamed content is what its descriptor announced. It fails at
// the end, not on the first extra byte, so that whoever consumes it (an S3 multipart upload,
// a registry PATCH) sees the error before committing and aborts instead.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Descriptor } from '../contracts.js';
import { DigestMismatchError } from '../errors.js';
import { parseDigest } from './digest.js';

export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;

  constructor(
    readonly expected: Pick<Descriptor, 'digest' | 'size'>,
    private readonly what = 'blob',
  ) {
    super();
    parseDigest(expected.digest);
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.seen += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest || this.seen !== this.expected.size) {
      callback(new DigestMismatchError(
        `${this.expected.digest} (${this.expected.size} bytes)`, `${actual} (${this.seen} bytes)`, this.what));
      return;
    }
    callback();
  }
}

export function verifyingStream(desc: Pick<Descriptor, 'digest' | 'size'>, what = 'blob'): VerifyingStream {
  return new VerifyingStream(desc, what);
}
