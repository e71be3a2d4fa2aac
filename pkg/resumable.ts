// A download that survives a broken connection: when the body fails with a transient error
// after N bytes, the same object is asked for again from byte N (an HTTP Range request) and the
// stream goes on where it stopped, so a 4 GiB layer cut at 3 GiB costs one more request, not
// 3 GiB again, and nothing is buffered to make the retry possible. A source that ignores the
// range (it answers from byte 0) is skipped forward instead. A body that sends nothing for
// `idleTimeoutMs` counts as broken. Tries without progress are bounded by the retry policy.
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransientError, classify } from './errors.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, markExhausted, type RetryPolicy } from './retry.js';

export interface Opened {
  stream: Readable;
  /** The byte the stream starts at: the offset asked for when the range was honoured, else 0. */
  offset: number;
}

export interface ResumableOptions {
  /** For messages: what is read, e.g. "blob sha256:… from ns/app". */
  what: string;
  policy?: RetryPolicy;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called when a broken body is picked up again, for logs and counters. */
  onResume?: (offset: number, err: unknown) => void;
}

/**
 * `first` is the body already opened (from byte 0); `reopen(offset)` opens the object again.
 * The returned stream ends when the whole object has been read, or fails with the last error.
 */
export function resumable(first: Readable, reopen: (offset: number) => Promise<Opened>, opts: ResumableOptions): Readable {
  const out = new PassThrough();
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  let current: Readable | undefined = first;
  out.on('close', () => current?.destroy());

  void (async () => {
    let got = 0;
    let failures = 0;
    let source: Opened = { stream: first, offset: 0 };
    for (;;) {
      const startedAt = got;
      try {
        current = source.stream;
        let skip = got - source.offset;
        if (skip < 0) throw new TransientError('ResumeFailed', `${opts.what}: the source resumed at byte ${source.offset}, past byte ${got}`);
        for await (const chunk of idle(source.stream, idleMs, opts.what) as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            if (c.length <= skip) {
              skip -= c.length;
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          got += c.length;
          if (out.destroyed) return;
          if (!out.write(c)) await drained(out);
        }
        out.end();
        return;
      } catch (err) {
        source.stream.destroy();
        if (out.destroyed) return;
        // Progress since the last failure earns a fresh set of tries: only tries without progress are bounded.
        if (got > startedAt) failures = 0;
        failures++;
        if (opts.signal?.aborted || classify(err) !== 'transient') {
          out.destroy(err as Error);
          return;
        }
        if (failures >= policy.attempts) {
          out.destroy(markExhausted(err) as Error);
          return;
        }
        opts.onResume?.(got, err);
        try {
          await sleep(backoffDelay(failures, policy), undefined, opts.signal ? { signal: opts.signal } : {});
          source = await reopen(got);
        } catch (reopenErr) {
          out.destroy(reopenErr as Error);
          return;
        }
      }
    }
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/** The stream's chunks; no chunk for `ms` fails it with a transient error. */
async function* idle(stream: Readable, ms: number, what: string): AsyncGenerator<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stream.destroy(new TransientError('BodyStalled', `${what}: no data for ${Math.round(ms / 1000)}s`)), ms);
    timer.unref();
  };
  arm();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      arm();
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `out` can take more, or is gone (a consumer that gave up). */
function drained(out: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
