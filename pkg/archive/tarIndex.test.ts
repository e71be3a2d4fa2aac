// The tar header walk an import starts with, on archives written by other tools (tar-stream,
// GNU tar) and on damaged or hostile ones.
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { StalledError } from '../errors.js';
import { indexTar, readRange } from './tarIndex.js';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'tarindex-')); });
afterAll(() => rm(dir, { recursive: true, force: true }));

async function packed(files: Array<[string, string]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of files) pack.entry({ name }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function index(bytes: Buffer) {
  const file = path.join(dir, `t-${Math.random().toString(36).slice(2)}.tar`);
  await writeFile(file, bytes);
  const fh = await open(file, 'r');
  try {
    const entries = await indexTar(fh, 'test archive');
    const bodies = new Map<string, string>();
    for (const [name, e] of entries) bodies.set(name, (await readRange(fh, e.offset, e.size)).toString());
    return bodies;
  } finally {
    await fh.close();
  }
}

const longName = `blobs/${'d'.repeat(120)}/${'x'.repeat(90)}`;

test('finds every file of a tar-stream archive, a name past 100 bytes (PAX) included, and reads it by range', async () => {
  const bodies = await index(await packed([['oci-layout', '{"imageLayoutVersion":"1.0.0"}'], [longName, 'long'], ['./index.json', '{}']]));
  expect([...bodies]).toEqual([['oci-layout', '{"imageLayoutVersion":"1.0.0"}'], [longName, 'long'], ['index.json', '{}']]);
});

test('reads GNU tar\'s long-name headers and skips directories', async () => {
  const src = path.join(dir, 'gnu');
  await mkdir(path.dirname(path.join(src, longName)), { recursive: true });
  await writeFile(path.join(src, longName), 'gnu long');
  await writeFile(path.join(src, 'index.json'), '[]');
  const file = path.join(dir, 'gnu.tar');
  await run('tar', ['--format=gnu', '-cf', file, '-C', src, 'blobs', 'index.json']);
  const fh = await open(file, 'r');
  try {
    const entries = await indexTar(fh, 'gnu archive');
    expect([...entries.keys()]).toEqual([longName, 'index.json']);
    const e = entries.get(longName)!;
    expect((await readRange(fh, e.offset, e.size)).toString()).toBe('gnu long');
  } finally {
    await fh.close();
  }
});

test('refuses a header whose checksum is wrong', async () => {
  const bytes = await packed([['index.json', '{}']]);
  bytes[10] = bytes[10]! ^ 0xff;
  await expect(index(bytes)).rejects.toThrow(/wrong checksum/);
});

test('refuses an entry that claims more bytes than the file has, a base-256 size of 9 GiB included', async () => {
  const bytes = await packed([['blobs/sha256/big', 'x']]);
  // GNU base-256: the high bit of the first byte, the size big-endian in the rest.
  bytes.fill(0, 124, 136);
  bytes[124] = 0x80;
  bytes.writeUIntBE(9 * 1024 ** 3, 130, 6);
  bytes.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += bytes[i]!;
  bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  await expect(index(bytes)).rejects.toThrow(`claims ${9 * 1024 ** 3} bytes past the end`);
});

test('refuses a header whose size is not a number', async () => {
  const bytes = await packed([['index.json', '{}']]);
  bytes.write('0000000009x\0', 124, 12, 'latin1');
  bytes.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += bytes[i]!;
  bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  await expect(index(bytes)).rejects.toThrow(/size that is not a number/);
});

test('refuses links, and a file cut in the middle of a header', async () => {
  const src = path.join(dir, 'links');
  await mkdir(src, { recursive: true });
  await symlink('/etc/passwd', path.join(src, 'index.json'));
  const file = path.join(dir, 'links.tar');
  await run('tar', ['-cf', file, '-C', src, 'index.json']);
  const fh = await open(file, 'r');
  await expect(indexTar(fh, 'links')).rejects.toThrow(/not a regular file/);
  await fh.close();
  const cut = (await packed([['index.json', '{}']])).subarray(0, 700);
  await expect(index(cut)).rejects.toBeInstanceOf(StalledError);
});
