import { isDigest, parseDigest, sha256Digest } from './digest.js';
import { StalledError } from '../errors.js';

const HEX = 'a'.repeat(64);

describe('isDigest', () => {
  it.each([
    ['a sha256 digest', `sha256:${HEX}`, true],
    ['upper-case hex', `sha256:${'A'.repeat(64)}`, false],
    ['short hex', `sha256:${'a'.repeat(63)}`, false],
    ['another algorithm', `sha512:${'a'.repeat(128)}`, false],
    ['a tag', 'latest', false],
    ['trailing junk', `sha256:${HEX}x`, false],
    ['not a string', 42, false],
  ])('%s -> %s', (_name, value, expected) => {
    expect(isDigest(value)).toBe(expected);
  });
});

describe('parseDigest', () => {
  it('splits algorithm and hex', () => {
    expect(parseDigest(`sha256:${HEX}`)).toEqual({ algorithm: 'sha256', hex: HEX });
  });

  it('refuses anything else with a StalledError naming the expected form', () => {
    expect(() => parseDigest('sha256:abc')).toThrow(StalledError);
    expect(() => parseDigest('sha256:abc')).toThrow(/expected sha256:<64 lowercase hex>/);
  });
});

describe('sha256Digest', () => {
  it('matches the well-known digest of the empty string', () => {
    expect(sha256Digest(Buffer.alloc(0))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
