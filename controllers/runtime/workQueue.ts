// A work queue keyed by namespace/name, as controller-runtime's: a key is queued at most once,
// a key is never processed by two workers at once (an add while it runs marks it dirty and it
// runs again after), failures are retried with rate-limited exponential backoff, and a
// reconcile may ask to run again after a delay. One key failing never stops the others.
import { apiErrorMessage } from '../../pkg/k8s/errors.js';
import { FailureRateLimiter, type BackoffOptions } from './backoff.js';
import { silentLogger, type Logger } from './logger.js';

export interface ReconcileResult {
  /** Run this key again after this many milliseconds (a poll, or a wait with a known end). */
  requeueAfterMs?: number;
}

export type ReconcileFn = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  name: string;
  concurrency: number;
  reconcile: ReconcileFn;
  backoff?: BackoffOptions;
  log?: Logger;
  /** Called after each reconcile, for metrics. */
  onResult?: (key: string, outcome: 'success' | 'error', durationMs: number) => void;
  /** Called when a key is queued (`retry`: after a failed reconcile) and when the depth changes, for metrics. */
  onQueue?: (event: { added?: boolean; retry?: boolean; depth: number }) => void;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly limiter: FailureRateLimiter;
  private readonly log: Logger;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly opts: WorkQueueOptions) {
    if (opts.concurrency < 1) throw new Error(`work queue ${opts.name}: concurrency must be at least 1`);
    this.limiter = new FailureRateLimiter(opts.backoff);
    this.log = opts.log ?? silentLogger;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.opts.onQueue?.({ added: true, depth: this.ready.length });
    this.pump();
  }

  /** Adds the key after a delay; of several pending delays for a key, the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Drops the key's failure history and pending delays (e.g. once its object is gone). */
  forget(key: string): void {
    this.limiter.forget(key);
    const pending = this.timers.get(key);
    if (pending) clearTimeout(pending.timer);
    this.timers.delete(key);
  }

  get length(): number {
    return this.ready.length;
  }

  get active(): number {
    return this.processing.size;
  }

  /** Failures counted for the key since its last success. */
  failures(key: string): number {
    return this.limiter.attempts(key);
  }

  /** Resolves when nothing is queued or running (tests; delayed keys do not count). */
  async idle(): Promise<void> {
    if (this.ready.length === 0 && this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys and waits for the running reconciles to end. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
    this.queued.clear();
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.opts.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.queued.delete(key);
      this.opts.onQueue?.({ depth: this.ready.length });
      this.processing.add(key);
      void this.process(key);
    }
    if (this.ready.length === 0 && this.processing.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async process(key: string): Promise<void> {
    const started = Date.now();
    try {
      const result = await this.opts.reconcile(key);
      this.limiter.forget(key);
      this.opts.onResult?.(key, 'success', Date.now() - started);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const delay = this.limiter.when(key);
      this.opts.onResult?.(key, 'error', Date.now() - started);
      this.opts.onQueue?.({ retry: true, depth: this.ready.length });
      this.log.warn('reconcile failed; retrying', { queue: this.opts.name, key, retryInMs: delay, error: apiErrorMessage(err) });
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
