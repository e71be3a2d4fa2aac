import { memoryFor, partSizeFor } from './uploadOne.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('part sizes', () => {
  test.each([
    [1, 16 * MiB],
    [2 * GiB, 16 * MiB],
    [140 * GiB, 16 * MiB],
    [500 * GiB, Math.ceil((500 * GiB) / 9000)],
  ])('a %d-byte layer uses %d-byte parts, within S3\'s 10,000 parts', (size, part) => {
    expect(partSizeFor(size)).toBe(part);
    expect(Math.ceil(size / partSizeFor(size))).toBeLessThanOrEqual(10_000);
  });

  test.each([
    [100, 2, 100],
    [16 * MiB, 2, 16 * MiB],
    [2 * GiB, 2, 48 * MiB],
    [2 * GiB, 4, 80 * MiB],
  ])('a %d-byte layer with %d parts in flight may hold %d bytes', (size, queue, bytes) => {
    expect(memoryFor(size, queue)).toBe(bytes);
  });
});
