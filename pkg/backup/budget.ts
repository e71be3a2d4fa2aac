// Bounds the bytes that uploads may hold in memory at once. A multipart upload holds a part
// buffer per request in flight and one being filled; with many blobs at a time, only a budget
// keeps memory flat whatever the layer sizes, while small layers still go many at a time.
export class ByteBudget {
  private used = 0;
  private readonly waiters: Array<{ n: number; wake: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('byte budget must be positive');
  }

  get inUse(): number {
    return this.used;
  }

  /** Waits until `n` bytes (at most the whole budget) are free; the returned function gives them back. */
  async acquire(n: number): Promise<() => void> {
    const take = Math.max(0, Math.min(n, this.capacity));
    // Holding nothing (a layer streamed in one PUT), it waits for nothing, not even behind a large one.
    if (take === 0) return () => {};
    // First come, first served: a large request is not starved by a stream of small ones.
    if (this.waiters.length > 0 || this.used + take > this.capacity) {
      await new Promise<void>((wake) => this.waiters.push({ n: take, wake }));
    } else {
      this.used += take;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= take;
      this.drain();
    };
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.capacity) {
      const next = this.waiters.shift()!;
      this.used += next.n;
      next.wake();
    }
  }
}
