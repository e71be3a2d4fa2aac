import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readVerified, verifyingStream } from './verifyingStream.js';
import { sha256Digest } from './digest.js';
import { DigestMismatchError } from '../errors.js';

const content = Buffer.from('hello, layer');
const desc = { digest: sha256Digest(content), size: content.length };

async function run(chunks: Buffer[], expected: { digest: string; size: number }): Promise<{ out: Buffer; error?: unknown; chunksBeforeEnd: number }> {
  const received: Buffer[] = [];
  let error: unknown;
  try {
    await pipeline(Readable.from(chunks), verifyingStream(expected), new Writable({
      write(chunk: Buffer, _enc, cb) { received.push(chunk); cb(); },
    }));
  } catch (err) {
    error = err;
  }
  return { out: Buffer.concat(received), error, chunksBeforeEnd: received.length };
}

describe('verifyingStream', () => {
  it.each([
    ['passes matching content through unchanged', [content], desc, undefined],
    ['passes matching content split in chunks', [content.subarray(0, 3), content.subarray(3)], desc, undefined],
    ['fails on a flipped byte', [Buffer.from('hello, layeR')], desc, DigestMismatchError],
    ['fails on missing bytes', [content.subarray(0, 5)], desc, DigestMismatchError],
    ['fails on extra bytes', [content, Buffer.from('!')], desc, DigestMismatchError],
    ['fails when only the size is wrong', [content], { ...desc, size: desc.size + 1 }, DigestMismatchError],
  ])('%s', async (_name, chunks, expected, errorClass) => {
    const result = await run(chunks, expected);
    if (errorClass) {
      expect(result.error).toBeInstanceOf(errorClass);
      expect((result.error as DigestMismatchError).reason).toBe('DigestMismatch');
    } else {
      expect(result.error).toBeUndefined();
      expect(result.out.equals(content)).toBe(true);
    }
  });

  it.each([
    ['one chunk', [Buffer.from('hello, layeR')], 0],
    ['three chunks', [Buffer.from('hell'), Buffer.from('o, l'), Buffer.from('ayeR')], 8],
  ])('holds back the last chunk of corrupt content (%s): the consumer never has the announced length', async (_name, chunks, passed) => {
    const result = await run(chunks, desc);
    expect(result.error).toBeInstanceOf(DigestMismatchError);
    expect(result.out.length).toBe(passed);
    expect(result.out.length).toBeLessThan(desc.size);
  });

  it('fails at the first byte past the announced size, before passing it on', async () => {
    const result = await run([content, Buffer.from('!'), Buffer.from('more')], desc);
    expect(result.error).toBeInstanceOf(DigestMismatchError);
    expect((result.error as Error).message).toContain(`more than ${desc.size} bytes`);
    expect(result.out.length).toBe(0);
  });

  it('names both digests and sizes in the message', async () => {
    const result = await run([content.subarray(0, 5)], desc);
    expect((result.error as Error).message).toContain(`expected ${desc.digest} (${desc.size} bytes)`);
    expect((result.error as Error).message).toContain(`got ${sha256Digest(content.subarray(0, 5))} (5 bytes)`);
  });

  it('refuses a descriptor whose digest is malformed', () => {
    expect(() => verifyingStream({ digest: 'md5:abc', size: 1 })).toThrow(/invalid digest/);
  });
});

describe('readVerified', () => {
  it('returns the whole body, read in chunks, as one buffer of exactly the announced size', async () => {
    // Chunks past the streams' high-water mark arrive one at a time, each at its own offset.
    const big = randomBytes(300 * 1024);
    const chunks = [big.subarray(0, 100_000), big.subarray(100_000, 200_000), big.subarray(200_000)];
    const bytes = await readVerified(Readable.from(chunks), { digest: sha256Digest(big), size: big.length });
    expect(bytes.equals(big)).toBe(true);
    expect(bytes.length).toBe(big.length);
  });

  it.each([
    ['missing bytes', [content.subarray(0, 5)]],
    ['extra bytes', [content, Buffer.from('more')]],
    ['a flipped byte', [Buffer.from('hello, layeR')]],
  ])('refuses %s', async (_name, chunks) => {
    await expect(readVerified(Readable.from(chunks), desc)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('reads an empty blob', async () => {
    const empty = Buffer.alloc(0);
    expect((await readVerified(Readable.from([empty]), { digest: sha256Digest(empty), size: 0 })).length).toBe(0);
  });
});
