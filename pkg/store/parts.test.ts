import { Readable } from 'node:stream';
import { BufferPool, PartBuffers, partsOf } from './parts.js';

/** Cuts `size` bytes into parts of `partSize` the way an upload does, giving each part's buffer back once "sent". */
async function upload(size: number, partSize: number, max: number, shared: PartBuffers): Promise<Set<Buffer>> {
  const pool = new BufferPool(partSize, max, shared);
  const used = new Set<Buffer>();
  try {
    for await (const part of partsOf(Readable.from([Buffer.alloc(size, 7)]), partSize, pool)) {
      used.add(part.buffer);
      pool.release(part.buffer);
    }
  } finally {
    pool.close();
  }
  return used;
}

describe('PartBuffers', () => {
  it('hands the buffers of an upload that is done to the next one instead of making new ones', async () => {
    const shared = new PartBuffers();
    const first = await upload(10 * 1024, 1024, 3, shared);
    const second = await upload(10 * 1024, 1024, 3, shared);
    expect(shared.made).toBe(first.size);
    for (const b of second) expect(first.has(b)).toBe(true);
  });

  it('makes no more buffers than are taken at once, however many uploads ran', async () => {
    const shared = new PartBuffers();
    // Two uploads at a time, each holding at most 3 buffers, ten uploads in all.
    for (let i = 0; i < 5; i++) await Promise.all([upload(9000, 1000, 3, shared), upload(9000, 1000, 3, shared)]);
    expect(shared.made).toBeLessThanOrEqual(6);
  });

  it('keeps buffers of each size apart', async () => {
    const shared = new PartBuffers();
    await upload(4096, 1024, 2, shared);
    const other = await upload(4096, 2048, 2, shared);
    for (const b of other) expect(b.length).toBe(2048);
  });

  it('takes back a buffer released after its upload closed (a part request that settled last)', () => {
    const shared = new PartBuffers();
    const pool = new BufferPool(16, 2, shared);
    return pool.take().then((late) => {
      pool.close();
      pool.release(late);
      expect(shared.take(16)).toBe(late);
      expect(shared.made).toBe(1);
    });
  });
});
