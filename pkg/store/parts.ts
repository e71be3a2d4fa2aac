// A streamed body cut into parts of a fixed size, each read into one of a few buffers that are
// used again and again: memory is (buffers) x part size, whatever the body's size. Azure stages
// its blocks from these parts, GCS sends its resumable chunks from them. (The S3 store has its
// own in s3/multipartUpload.ts, shaped by the S3 SDK.)
import type { Readable } from 'node:stream';

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(b: Buffer) => void> = [];
  private allocated = 0;

  constructor(private readonly size: number, private readonly max: number) {}

  take(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.allocated < this.max) {
      this.allocated++;
      return Promise.resolve(Buffer.allocUnsafe(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(b: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(b);
    else this.free.push(b);
  }
}

export interface Part {
  buffer: Buffer;
  length: number;
  /** Where the part starts in the body. */
  offset: number;
  index: number;
}

/**
 * The body's parts, in order, each full but the last (which may be empty when the body is). A
 * part's buffer belongs to the consumer until it gives it back to `pool`. The body ending is
 * what makes the last part: a body that fails (a digest mismatch) ends in an error instead,
 * and no last part is ever yielded.
 */
export async function* partsOf(body: Readable, partSize: number, pool: BufferPool): AsyncGenerator<Part> {
  let buffer = await pool.take();
  let filled = 0;
  let offset = 0;
  let index = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, partSize - filled);
      chunk.copy(buffer, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === partSize) {
        yield { buffer, length: filled, offset, index: index++ };
        offset += filled;
        buffer = await pool.take();
        filled = 0;
      }
    }
  }
  yield { buffer, length: filled, offset, index };
}
