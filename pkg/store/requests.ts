// What the Azure and GCS stores share around each request: the one retry policy (pkg/retry.ts)
// for requests that can be sent again, errors mapped once, and read bodies counted. Their SDKs'
// own retries are off, so a request is tried `attempts` times in all, with the same jittered
// backoff and Retry-After as every other request of the product.
import { Transform, addAbortSignal, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { retrying, type RetryPolicy } from '../retry.js';
import type { StoreStats } from './objectStore.js';

export interface CallOptions {
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** The request's body is a stream that cannot be sent twice: one try; the caller reads its source again. */
  once?: boolean;
}

/** Runs `op`, mapping what it throws with `map`; tried again under the policy while the mapped error is transient. */
export async function call<T>(op: () => Promise<T>, map: (err: unknown) => Error, opts: CallOptions): Promise<T> {
  const attempt = async () => {
    try {
      return await op();
    } catch (err) {
      throw map(err);
    }
  };
  if (opts.once) return attempt();
  return retrying(attempt, { policy: opts.retry, ...(opts.signal && { signal: opts.signal }) });
}

/** `body` as read by the data path: its bytes counted in `stats.bytesRead`, failed by the signal. */
export function countedBody(body: Readable, stats: StoreStats, signal?: AbortSignal): Readable {
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      stats.bytesRead += chunk.length;
      cb(null, chunk);
    },
  });
  pipeline(body, counted, () => {}); // errors reach `counted`, and so the reader
  if (signal) addAbortSignal(signal, counted);
  return counted;
}

/** Reads a small body whole; more than `length` bytes is an error (a server that ignored the range). */
export async function readExactly(body: AsyncIterable<Buffer>, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of body) {
    got += c.length;
    if (got > length) throw new Error(`more than the ${length} bytes asked for`);
    chunks.push(c);
  }
  return Buffer.concat(chunks, got);
}
