// Raw tar headers a planted bundle may carry, checked before the tar parser would buffer them.
import { Readable } from 'node:stream';
import { tarGuard } from './tarGuard.js';

/** A ustar header block of `type` announcing `size` bytes (octal, or base-256 above 8 GiB). */
function header(name: string, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  if (size < 8 ** 11) h.write(size.toString(8).padStart(11, '0'), 124, 12, 'latin1');
  else {
    h[124] = 0x80;
    let n = size;
    for (let i = 135; i > 124; i--) { h[i] = n % 256; n = Math.floor(n / 256); }
  }
  h.write(type, 156, 1, 'latin1');
  h.write('ustar', 257, 6, 'latin1');
  return h;
}

async function drain(data: Buffer[], limits?: Parameters<typeof tarGuard>[1]): Promise<void> {
  const guard = tarGuard('the bundle', limits);
  // One byte at a time for the first chunk: headers split across chunks must still be read.
  const chunks = data.flatMap((d, i) => (i === 0 ? [...d].map((b) => Buffer.from([b])) : [d]));
  for await (const _ of Readable.from(chunks).pipe(guard)) { /* consume */ }
}

describe('tarGuard', () => {
  it.each([
    { name: 'a PAX header announcing 2 GiB', blocks: [header('PaxHeader/x', 'x', 2 ** 31)], message: /extension header \('x'\) of 2147483648 bytes is over the 65536/ },
    { name: 'a global PAX header of 1 MiB', blocks: [header('pax_global_header', 'g', 2 ** 20)], message: /extension header \('g'\)/ },
    { name: 'a GNU long name of 100 MiB', blocks: [header('././@LongLink', 'L', 100 * 2 ** 20)], message: /extension header \('L'\)/ },
    { name: 'an entry of 10 GiB (base-256 size)', blocks: [header('blobs/sha256/x', '0', 10 * 2 ** 30)], message: /entry of 10737418240 bytes is over/ },
    { name: 'a hard link', blocks: [header('backup.json', '1', 0)], message: /tar type '1' \(a hard link\)/ },
    { name: 'a symbolic link', blocks: [header('backup.json', '2', 0)], message: /tar type '2' \(a symbolic link\)/ },
    { name: 'a character device', blocks: [header('dev', '3', 0)], message: /tar type '3' \(a character device\)/ },
    { name: 'a fifo', blocks: [header('fifo', '6', 0)], message: /tar type '6' \(a fifo\)/ },
    { name: 'a size that is not a number', blocks: [Buffer.concat([header('x', '0', 0)]).fill(0x7a, 124, 136)], message: /unreadable size/ },
  ])('refuses $name at its header', async ({ blocks, message }) => {
    await expect(drain(blocks)).rejects.toMatchObject({ reason: 'InvalidBundle', message: expect.stringMatching(message) });
  });

  it('counts raw bytes, whatever the headers say', async () => {
    await expect(drain([header('a', '0', 2048), Buffer.alloc(2048)], { totalBytes: 1024, extensionBytes: 100, entryBytes: 10_000 }))
      .rejects.toMatchObject({ message: expect.stringMatching(/larger than 1024 bytes/) });
  });

  it('lets files, directories and small extension headers through, and records where each file\'s data starts', async () => {
    const guard = tarGuard('b');
    const data = [header('PaxHeader/a', 'x', 20), Buffer.alloc(512), header('dir/', '5', 0), header('a', '0', 700), Buffer.alloc(1024), header('b', '0', 1), Buffer.alloc(512), Buffer.alloc(1024)];
    for await (const _ of Readable.from(data).pipe(guard)) { /* consume */ }
    expect(guard.dataOffsets).toEqual([512 * 4, 512 * 7]);
  });
});
