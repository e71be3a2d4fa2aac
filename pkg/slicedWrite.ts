// A buffered request body written in slices, each after the socket took the last. A TLS socket
// encrypts a whole write into memory before any of it leaves: an 8 MiB part written at once
// costs 8 MiB more native memory for each request in flight (issue 17: with a backup's parts
// and a restore's small layers in flight, most of the controller's peak RSS beyond the heap).
import { Readable, type Writable } from 'node:stream';

/** Large enough that writing costs nothing more; small enough that the TLS layer's copy stays small. */
export const WRITE_SLICE = 256 * 1024;

/** Writes `body` to `req` and ends it, a slice at a time with backpressure. */
export function endSliced(req: Writable, body: Buffer, slice = WRITE_SLICE): void {
  let at = 0;
  const more = (): void => {
    while (at < body.length) {
      const end = Math.min(at + slice, body.length);
      const ready = req.write(body.subarray(at, end));
      at = end;
      if (!ready) {
        req.once('drain', more);
        return;
      }
    }
    req.end();
  };
  more();
}

/** The same bytes as a stream of slices (for a client that pipes a stream but ends a buffer in one write). */
export function sliced(body: Uint8Array, slice = WRITE_SLICE): Readable {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Readable.from((function* () {
    for (let at = 0; at < buf.length; at += slice) yield buf.subarray(at, Math.min(at + slice, buf.length));
  })(), { objectMode: false });
}
