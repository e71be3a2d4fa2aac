// Progress counters with a cheap, throttled callback: the data path changes them per chunk,
// the controller wants a snapshot now and then.
import type { Progress } from '../contracts.js';

export function emptyProgress(): Progress {
  return {
    images: { total: 0, done: 0, failed: 0 },
    blobs: { total: 0, done: 0, skipped: 0 },
    bytes: { total: 0, done: 0, skipped: 0 },
  };
}

export function copyProgress(p: Progress): Progress {
  return { images: { ...p.images }, blobs: { ...p.blobs }, bytes: { ...p.bytes }, ...(p.referrers !== undefined && { referrers: p.referrers }) };
}

export class ProgressTracker {
  readonly progress: Progress = emptyProgress();
  private last = 0;
  private trailing?: NodeJS.Timeout;
  private finished = false;

  constructor(
    private readonly onProgress?: (p: Progress) => void,
    private readonly minIntervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reports a copy when the last report is older than the interval; `force` reports anyway.
   * A change that comes sooner is reported once the interval has passed: the last change
   * before a pause (a long part upload, a slow registry) must not stay unreported.
   */
  changed(force = false): void {
    if (!this.onProgress || this.finished) return;
    const wait = this.last + this.minIntervalMs - this.now();
    if (force || wait <= 0) {
      this.report();
      return;
    }
    if (this.trailing) return;
    this.trailing = setTimeout(() => this.report(), wait);
    // A pending report must not keep a finished process alive.
    this.trailing.unref();
  }

  /** Stops reporting: a pending trailing report is dropped, and later changes are not reported. */
  finish(): void {
    this.finished = true;
    this.clearTrailing();
  }

  snapshot(): Progress {
    return copyProgress(this.progress);
  }

  private report(): void {
    this.clearTrailing();
    this.last = this.now();
    this.onProgress?.(copyProgress(this.progress));
  }

  private clearTrailing(): void {
    clearTimeout(this.trailing);
    this.trailing = undefined;
  }
}
