// Per-key exponential backoff (as client-go's ItemExponentialFailureRateLimiter) combined with an
// overall token bucket, so that many keys failing together do not hammer the API server.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** Overall failure retries per second once the burst is spent. */
  ratePerSecond?: number;
  burst?: number;
  now?: () => number;
}

export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 1_000;
    this.maxMs = opts.maxMs ?? 300_000;
  }

  /** Counts one more failure for the key and returns how long to wait before the next try (from `baseMs` when given). */
  next(key: string, baseMs = this.baseMs): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n, which Math.min clamps.
    return Math.min(this.maxMs, baseMs * 2 ** n);
  }

  attempts(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** A token bucket: `take()` returns how long the caller must wait for its token. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly ratePerSecond: number, private readonly burst: number, now: () => number = Date.now) {
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }
}

/** The delay before retrying a failed key: the larger of its own backoff and the overall bucket's. */
export class FailureRateLimiter {
  private readonly perKey: ExponentialBackoff;
  private readonly bucket: TokenBucket;

  constructor(opts: BackoffOptions = {}) {
    this.perKey = new ExponentialBackoff(opts);
    this.bucket = new TokenBucket(opts.ratePerSecond ?? 10, opts.burst ?? 100, opts.now);
  }

  when(key: string): number {
    return Math.max(this.perKey.next(key), this.bucket.take());
  }

  attempts(key: string): number {
    return this.perKey.attempts(key);
  }

  forget(key: string): void {
    this.perKey.forget(key);
  }
}
