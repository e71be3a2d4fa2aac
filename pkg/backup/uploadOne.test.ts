import { memoryFor, partSizeFor } from './uploadOne.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('part sizes', () => {
  test.each([
    [1, 8 * MiB],
    [2 * GiB, 8 * MiB],
    [70 * GiB, 8 * MiB],
    [500 * GiB, Math.ceil((500 * GiB) / 9000)],
  ])('a %d-byte layer uses %d-byte parts, within S3\'s 10,000 parts', (size, part) => {
    expect(partSizeFor(size)).toBe(part);
    expect(Math.ceil(size / partSizeFor(size))).toBeLessThanOrEqual(10_000);
  });

  test.each([
    ['a layer of one part is streamed and holds nothing', 100, 2, 0],
    ['a layer of exactly one part is streamed and holds nothing', 8 * MiB, 2, 0],
    ['a layer one byte over a part goes multipart', 8 * MiB + 1, 2, 24 * MiB],
    ['a 2 GiB layer with 2 parts in flight', 2 * GiB, 2, 24 * MiB],
    ['a 2 GiB layer with 4 parts in flight', 2 * GiB, 4, 40 * MiB],
  ])('%s: %d bytes, %d parts in flight, may hold %d bytes', (_name, size, queue, bytes) => {
    expect(memoryFor(size, queue)).toBe(bytes);
  });
});
