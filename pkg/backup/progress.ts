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
  return { images: { ...p.images }, blobs: { ...p.blobs }, bytes: { ...p.bytes } };
}

export class ProgressTracker {
  readonly progress: Progress = emptyProgress();
  private last = 0;

  constructor(
    private readonly onProgress?: (p: Progress) => void,
    private readonly minIntervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reports a copy when the last report is older than the interval; `force` reports anyway. */
  changed(force = false): void {
    if (!this.onProgress) return;
    const t = this.now();
    if (!force && t - this.last < this.minIntervalMs) return;
    this.last = t;
    this.onProgress(copyProgress(this.progress));
  }

  snapshot(): Progress {
    return copyProgress(this.progress);
  }
}
