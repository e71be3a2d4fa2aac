// The one retry policy of every request to the registry and the object store, as
// go-containerregistry's transport.NewRetry: network errors, 408, 429 and 5xx are tried again
// with jittered exponential backoff, a server's Retry-After is honoured, and each request is
// bounded (attempts). What fails after that is a TransientError for the run to retry later.
import { setTimeout as sleep } from 'node:timers/promises';
import { classify } from './errors.js';

export interface RetryPolicy {
  /** Tries per request, the first included. */
  attempts: number;
  /** The first delay; each next one doubles, up to maxMs. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 20_000 };

/** HTTP statuses worth another try: the server may answer differently in a moment. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The delay before try number `attempt + 1` (attempt counts from 1): "equal jitter", half
 * fixed and half random, so that clients that failed together do not come back together,
 * and never less than what the server asked for (bounded by maxMs).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, policy.maxMs)));
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// Errors a request already spent its tries on: a retry above it (a whole upload, a whole run
// step) must not multiply them, so a server that is down sees tries per request, not tries
// squared.
const exhausted = new WeakSet<object>();

/** Marks `err` as what is left after the policy's tries; returns it. */
export function markExhausted<E>(err: E): E {
  if (typeof err === 'object' && err !== null) exhausted.add(err);
  return err;
}

export function isExhausted(err: unknown): boolean {
  return typeof err === 'object' && err !== null && exhausted.has(err);
}

export interface RetryOptions {
  policy?: RetryPolicy;
  signal?: AbortSignal;
  /** Whether this error is worth another try (default: classify() says transient, and no request below spent its tries on it). */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait, for logs and counters. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `op` until it succeeds, fails with an error that is not retryable, or runs out of attempts. */
export async function retrying<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const retryable = opts.retryable ?? ((err: unknown) => classify(err) === 'transient' && !isExhausted(err));
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await op(attempt);
    } catch (err) {
      opts.signal?.throwIfAborted();
      if (attempt >= policy.attempts) throw markExhausted(err);
      if (!retryable(err)) throw err;
      const delay = backoffDelay(attempt, policy, (err as { retryAfterMs?: number }).retryAfterMs);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
    }
  }
}
