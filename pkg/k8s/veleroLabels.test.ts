import { createHash } from 'node:crypto';
import { validLabelValue } from './veleroLabels.js';

test('names up to 63 characters are label values as they are; longer ones are cut and hashed as Velero does', () => {
  expect(validLabelValue('a'.repeat(63))).toBe('a'.repeat(63));
  const long = `nightly-${'x'.repeat(70)}`;
  const value = validLabelValue(long);
  expect(value).toHaveLength(63);
  expect(value).toBe(long.slice(0, 57) + createHash('sha256').update(long).digest('hex').slice(0, 6));
});
