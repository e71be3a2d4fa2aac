// Progress of a copy as its bytes pass, with the means to take it all back: a copy that fails
// and is retried (or skipped) must not be counted twice.
import { Transform, type TransformCallback } from 'node:stream';

export class ByteMeter extends Transform {
  private passed = 0;

  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.passed += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  /** Reports minus what passed so far. */
  takeBack(): void {
    if (this.passed) this.onBytes?.(-this.passed);
    this.passed = 0;
  }
}
