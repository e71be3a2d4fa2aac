// A streamed body cut into parts of a fixed size, each read into one of a few buffers that are
// used again and again: memory is (buffers) x part size, whatever the body's size. Azure stages
// its blocks from these parts, GCS sends its resumable chunks from them. (The S3 store has its
// own in s3/multipartUpload.ts, shaped by the S3 SDK.) Also the choice, shared by the three
// stores, between one request of the announced length and parts.
import type { Readable } from 'node:stream';
import { DEFAULT_PART_SIZE, type PutOptions } from './objectStore.js';

/**
 * Part buffers shared by the uploads of one run, by size: a buffer an upload is done with goes
 * to the next upload instead of to the garbage collector. Freed 8 MiB buffers wait for a full
 * GC before their memory is returned, so a backup of many multipart layers held dead part
 * buffers beside the live ones (issue 17: tens of MiB of peak RSS). A buffer is only made when
 * none of its size is idle, so the buffers made never outnumber those in use at once, which
 * the run's byte budget bounds; they are all dropped with the run.
 */
export class PartBuffers {
  private readonly idle = new Map<number, Buffer[]>();
  /** Buffers made so far (for tests: how many uploads had to allocate). */
  made = 0;

  take(size: number): Buffer {
    const b = this.idle.get(size)?.pop();
    if (b) return b;
    this.made++;
    return Buffer.allocUnsafe(size);
  }

  give(b: Buffer): void {
    let list = this.idle.get(b.length);
    if (!list) this.idle.set(b.length, (list = []));
    list.push(b);
  }
}

/** One upload's part buffers (at most `max` at once), taken from the run's shared ones when given, and given back when the upload is done. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(b: Buffer) => void> = [];
  private allocated = 0;
  private closed = false;

  constructor(private readonly size: number, private readonly max: number, private readonly shared?: PartBuffers) {}

  take(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.allocated < this.max) {
      this.allocated++;
      return Promise.resolve(this.shared ? this.shared.take(this.size) : Buffer.allocUnsafe(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(b: Buffer): void {
    if (this.closed) {
      this.shared?.give(b);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(b);
    else this.free.push(b);
  }

  /** The upload is over (every request settled): its buffers go back to the shared ones. */
  close(): void {
    this.closed = true;
    for (const b of this.free.splice(0)) this.shared?.give(b);
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

/**
 * A streamed body stored in one request of its announced length when it fits in one part (or
 * `singlePut` asks for one and it is at most `maxSinglePut`), else in parts. The caller's
 * signal cancels it by failing the body (AbortError), which fails the upload; the body is
 * destroyed at the end either way. Returns the bytes stored.
 */
export async function putStreamed(
  body: Readable, opts: PutOptions, maxSinglePut: number, whole: (size: number) => Promise<void>, parts: () => Promise<number>,
): Promise<number> {
  const cancel = () => body.destroy(Object.assign(new Error('upload cancelled'), { name: 'AbortError' }));
  if (opts.signal?.aborted) cancel();
  opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (opts.size !== undefined && (opts.size <= partSize || (opts.singlePut && opts.size <= maxSinglePut))) {
      await whole(opts.size);
      return opts.size;
    }
    return await parts();
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    if (!body.destroyed && !body.readableEnded) body.destroy();
  }
}

/**
 * Sends a streamed body in one request, once (a stream cannot be sent twice; the caller may try
 * again with a new body). The client pipes the body into the request and pipe() does not pass
 * errors on, so a body's error aborts the request (`send` gets that signal) and is the error
 * the caller sees.
 */
export async function sendBodyOnce(body: Readable, send: (abort: AbortSignal) => Promise<unknown>): Promise<void> {
  let failure: unknown;
  const stop = new AbortController();
  body.on('error', (err) => {
    failure ??= err;
    stop.abort(err);
  });
  try {
    await send(stop.signal);
  } catch (err) {
    throw failure ?? err;
  }
}
