// Rate-limited writes of a changing value (progress during a long run): the first value is
// written at once, later ones at most every `intervalMs`, and the latest value always wins, so
// the API server sees one write per interval whatever the data path's pace. Writes never
// overlap; a failed write is logged and the next value is tried at the next tick.
import { silentLogger, type Logger } from './logger.js';

export class ThrottledWriter<T> {
  private pending?: T;
  private hasPending = false;
  private lastWrite = 0;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private closed = false;

  constructor(
    private readonly write: (value: T) => Promise<void>,
    private readonly intervalMs: number,
    private readonly log: Logger = silentLogger,
  ) {}

  update(value: T): void {
    if (this.closed) return;
    this.pending = value;
    this.hasPending = true;
    this.schedule();
  }

  /** Stops writing; waits for a write in flight so nothing lands after the caller's final status. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.hasPending = false;
    await this.inFlight;
  }

  private schedule(): void {
    if (this.timer || this.inFlight || !this.hasPending) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A busy event loop's clock lags the wall clock, so a timer can fire a few ms early: wait the rest.
      if (Date.now() < this.lastWrite + this.intervalMs) this.schedule();
      else this.flush();
    }, wait);
    this.timer.unref?.();
  }

  private flush(): void {
    if (this.closed || !this.hasPending) return;
    const value = this.pending as T;
    this.hasPending = false;
    this.lastWrite = Date.now();
    this.inFlight = this.write(value)
      .catch((err: unknown) => this.log.warn('progress write failed', { error: err }))
      .finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
  }
}
