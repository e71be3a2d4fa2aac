import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { endSliced, sliced } from './slicedWrite.js';

/** A slow sink with a small buffer: it asks the writer to wait after every write. */
function sink() {
  const chunks: Buffer[] = [];
  let waits = 0;
  const w = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) { chunks.push(chunk); setImmediate(cb); },
  });
  w.on('drain', () => { waits++; });
  const done = new Promise<void>((resolve) => w.on('finish', () => resolve()));
  return { w, chunks, done, waits: () => waits };
}

describe('endSliced', () => {
  test('writes every byte, in order, in slices, waiting for the sink between them, and ends', async () => {
    const body = randomBytes(10_000);
    const s = sink();
    endSliced(s.w, body, 1024);
    await s.done;
    expect(Buffer.concat(s.chunks).equals(body)).toBe(true);
    expect(Math.max(...s.chunks.map((c) => c.length))).toBe(1024);
    expect(s.waits()).toBeGreaterThan(0);
  });

  test('ends an empty body', async () => {
    const s = sink();
    endSliced(s.w, Buffer.alloc(0));
    await s.done;
    expect(s.chunks).toHaveLength(0);
  });
});

describe('sliced', () => {
  test('streams the same bytes in slices', async () => {
    const body = randomBytes(5000);
    const chunks: Buffer[] = [];
    for await (const c of sliced(body.subarray(100), 1000) as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).equals(body.subarray(100))).toBe(true);
    expect(chunks.map((c) => c.length)).toEqual([1000, 1000, 1000, 1000, 900]);
  });
});
