import { formatBytes, plural } from '../runtime/format.js';
import { withInvalid } from './progress.js';

describe('status wording', () => {
  it.each([
    [0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [3_000_000, '2.9 MiB'], [1342177280, '1.3 GiB'],
  ])('writes %d bytes as %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([[1, '1 image'], [2, '2 images'], [0, '0 images']])('counts %d as %s', (n, text) => {
    expect(plural(n, 'image')).toBe(text);
  });

  it('adds refused images to the failures and the total', () => {
    const p = { images: { total: 3, done: 2, failed: 1 }, blobs: { total: 4, done: 4, skipped: 0 }, bytes: { total: 9, done: 9, skipped: 0 } };
    expect(withInvalid(p, 2, 5)).toEqual({ ...p, images: { total: 5, done: 2, failed: 3 } });
  });
});
