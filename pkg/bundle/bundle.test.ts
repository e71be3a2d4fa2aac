import { Readable } from 'node:stream';
import tar from 'tar-stream';

type TarEntry = AsyncIterable<Buffer> & { header: { name: string } };
import { sha256Digest } from '../oci/digest.js';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST } from '../oci/mediaTypes.js';
import { parseBackupJson, type BackupJson, type Bundle } from './format.js';
import { inMemoryBlobs } from './metadata.js';
import { packBundleBuffer as packBundle } from './pack.js';
import { unpackBundle } from './unpack.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const desc = (bytes: Buffer, mediaType: string) => ({ digest: sha256Digest(bytes), size: bytes.length, mediaType });
const layer = { digest: sha256Digest('layer'), size: 5, mediaType: OCI_LAYER };
const config = json({ architecture: 'amd64', os: 'linux' });
const image = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(config, OCI_CONFIG), layers: [layer] });
const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(image, OCI_MANIFEST)] });

function sample(): Bundle {
  const backup: BackupJson = {
    formatVersion: 1,
    productVersion: '0.1.0',
    backup: { namespace: 'openshift-adp', name: 'b', uid: 'u1' },
    imageStreams: [{ namespace: 'ns', name: 'app', references: [{ digest: sha256Digest(index), mediaType: OCI_INDEX, tags: ['latest'] }] }],
    layers: [layer],
    totals: { imageStreams: 1, images: 1, manifests: 2, configs: 1, layers: 1, layerBytes: 5 },
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:01:00.000Z',
  };
  return { backup, blobs: inMemoryBlobs(new Map([index, image, config].map((b) => [sha256Digest(b), b]))) };
}

interface Entry { name: string; data?: Buffer; type?: 'file' | 'symlink' | 'directory'; size?: number }

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: '/etc/passwd' });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name, size: e.data!.length }, e.data!);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The entries of a good bundle, to break one thing at a time. */
async function goodEntries(): Promise<Entry[]> {
  const b = sample();
  return [
    { name: 'backup.json', data: json(b.backup) },
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: json({ schemaVersion: 2, manifests: [] }) },
    ...[index, image, config].map((data) => ({ name: `blobs/sha256/${sha256Digest(data).slice(7)}`, data })),
  ];
}

const read = (data: Buffer, opts?: Parameters<typeof unpackBundle>[1]) => unpackBundle(Readable.from([data]), opts);

describe('bundle', () => {
  test('round-trips: backup.json first, an OCI layout, every blob under its digest', async () => {
    const bundle = sample();
    const data = await packBundle(bundle);
    const back = await read(data);
    expect(back.backup).toEqual(bundle.backup);
    expect([...back.blobs.digests()].sort()).toEqual([...bundle.blobs.digests()].sort());

    const names: string[] = [];
    let indexJson: { manifests: Array<{ digest: string; annotations: Record<string, string> }> } | undefined;
    for await (const e of Readable.from([data]).pipe(tar.extract() as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<TarEntry>) {
      names.push(e.header.name);
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c);
      if (e.header.name === 'index.json') indexJson = JSON.parse(Buffer.concat(chunks).toString());
    }
    expect(names.slice(0, 3)).toEqual(['backup.json', 'oci-layout', 'index.json']);
    expect(indexJson!.manifests).toEqual([expect.objectContaining({
      digest: sha256Digest(index),
      annotations: { 'imagestreams.oadp.openshift.io/namespace': 'ns', 'imagestreams.oadp.openshift.io/name': 'app', 'imagestreams.oadp.openshift.io/tags': 'latest' },
    })]);
  });

  test('packing is deterministic', async () => {
    expect((await packBundle(sample())).equals(await packBundle(sample()))).toBe(true);
  });

  test('directory entries of the layout are accepted', async () => {
    const entries = await goodEntries();
    await expect(read(await tarOf([...entries.slice(0, 3), { name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' }, ...entries.slice(3)])))
      .resolves.toMatchObject({ backup: { backup: { uid: 'u1' } } });
  });

  test('reading only the owner stops at backup.json', async () => {
    const entries = await goodEntries();
    // Garbage after backup.json would fail a full read.
    const data = await tarOf([entries[0]!, { name: '../escape', data: Buffer.from('x') }]);
    expect((await read(data, { stopAfterBackupJson: true })).backup.backup.uid).toBe('u1');
    await expect(read(data)).rejects.toMatchObject({ reason: 'InvalidBundle' });
  });

  const breakers: Array<[string, (e: Entry[]) => Entry[] | Promise<Entry[]>, string, RegExp]> = [
    ['an entry escaping the layout', (e) => [...e, { name: '../../etc/cron.d/x', data: Buffer.from('x') }], 'InvalidBundle', /unexpected entry/],
    ['an absolute path', (e) => [...e, { name: '/etc/passwd', data: Buffer.from('x') }], 'InvalidBundle', /unexpected entry/],
    ['an unknown file', (e) => [...e, { name: 'notes.txt', data: Buffer.from('x') }], 'InvalidBundle', /unexpected entry/],
    ['a symlink', (e) => [...e, { name: 'index.json', type: 'symlink' }], 'InvalidBundle', /tar type '2' \(a symbolic link\)/],
    ['entries out of order (backup.json not first)', (e) => [e[1]!, e[0]!, ...e.slice(2)], 'InvalidBundle', /first entry is "oci-layout", not backup\.json/],
    ['a blob under another digest', (e) => e.map((x) => (x.name.startsWith('blobs/') ? { ...x, data: Buffer.concat([x.data!, Buffer.from(' ')]) } : x)), 'InvalidBundle', /corrupt/],
    ['a duplicated entry', (e) => [...e, e[1]!], 'InvalidBundle', /twice/],
    ['a missing backup.json', (e) => e.slice(1), 'InvalidBundle', /its first entry is "oci-layout", not backup\.json/],
    ['a missing oci-layout', (e) => e.filter((x) => x.name !== 'oci-layout'), 'InvalidBundle', /no oci-layout/],
    ['a missing config', (e) => e.filter((x) => x.name !== `blobs/sha256/${sha256Digest(config).slice(7)}`), 'InvalidBundle', /config .* is missing/],
    ['a missing child manifest', (e) => e.filter((x) => x.name !== `blobs/sha256/${sha256Digest(image).slice(7)}`), 'InvalidBundle', /manifest .* is missing/],
    ['a layer not listed in backup.json', (e) => [{ name: 'backup.json', data: json({ ...sample().backup, layers: [] }) }, ...e.slice(1)], 'InvalidBundle', /not listed/],
    ['a newer format version', (e) => [{ name: 'backup.json', data: json({ ...sample().backup, formatVersion: 2 }) }, ...e.slice(1)], 'UnsupportedBundleVersion', /format version 2/],
    ['a backup.json without uid', (e) => [{ name: 'backup.json', data: json({ ...sample().backup, backup: { namespace: 'a', name: 'b' } }) }, ...e.slice(1)], 'InvalidBundle', /uid/],
  ];

  test.each(breakers)('refuses %s', async (_name, breakIt, reason, message) => {
    const data = await tarOf(await breakIt(await goodEntries()));
    await expect(read(data)).rejects.toMatchObject({ reason, message: expect.stringMatching(message) });
  });

  test.each([
    ['an entry', { entryBytes: 10 }, /more than the 10 allowed/],
    ['backup.json', { backupJsonBytes: 10 }, /backup\.json is .* more than the 10 allowed/],
    ['the whole bundle', { totalBytes: 100 }, /larger than 100 bytes/],
  ])('refuses %s over its size limit before reading it', async (_name, limits, message) => {
    await expect(read(await packBundle(sample()), { limits })).rejects.toMatchObject({ reason: 'InvalidBundle', message: expect.stringMatching(message) });
  });

  test.each([
    ['garbage bytes', async () => Buffer.from('not a tar at all'.repeat(64)), /a tar header has an unreadable size|not a readable tar/],
    ['a truncated tar', async () => (await packBundle(sample())).subarray(0, 1000), /not a readable tar: Unexpected end of data/],
  ])('refuses %s as an invalid bundle', async (_name, data, message) => {
    await expect(read(await data())).rejects.toMatchObject({ reason: 'InvalidBundle', message: expect.stringMatching(message) });
  });

  test('passes an error of the source as it is: the bundle itself may be fine', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const data = await packBundle(sample());
    const source = new Readable({
      read() {
        this.push(data.subarray(0, 1000));
        this.destroy(reset);
      },
    });
    await expect(unpackBundle(source)).rejects.toBe(reset);
  });

  test('parseBackupJson refuses what is not JSON', () => {
    expect(() => parseBackupJson(Buffer.from('{'))).toThrow(expect.objectContaining({ reason: 'InvalidBundle' }));
  });
});

describe('a bundle bigger than the memory budget', () => {
  test('keeps blobs past the budget in the bundle object and reads them again, verified, by byte range', async () => {
    const data = await packBundle(sample());
    const reads: Array<[number, number]> = [];
    const back = await unpackBundle(Readable.from([data]), {
      budget: 0,
      readRange: async (offset, length) => { reads.push([offset, length]); return data.subarray(offset, offset + length); },
    });
    // The validation pass itself read the manifests of the index's tree again.
    expect(reads.length).toBeGreaterThan(0);
    expect(await back.blobs.get(sha256Digest(config))).toEqual(config);
    expect(await back.blobs.get(sha256Digest(index))).toEqual(index);
  });

  test('refuses what is read again when it no longer matches its digest (the object changed)', async () => {
    const data = await packBundle(sample());
    let calls = 0;
    const back = await unpackBundle(Readable.from([data]), {
      budget: 0,
      readRange: async (offset, length) => (calls++ < 100 ? data.subarray(offset, offset + length) : Buffer.alloc(length, 1)),
    });
    calls = 100;
    await expect(back.blobs.get(sha256Digest(config))).rejects.toMatchObject({ reason: 'DigestMismatch' });
  });

  test('writes a stream of exactly the size it announces', async () => {
    const { packBundle: pack } = await import('./pack.js');
    const packed = pack(sample());
    const chunks: Buffer[] = [];
    for await (const c of packed.open() as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).length).toBe(packed.size);
  });

  test('refuses to write a bundle a restore would refuse to read', async () => {
    const { packBundle: pack } = await import('./pack.js');
    expect(() => pack(sample(), { entryBytes: 10, backupJsonBytes: 1e9, totalBytes: 1e9, extensionBytes: 100 }))
      .toThrow(expect.objectContaining({ reason: 'BundleTooLarge' }));
  });
});
