// Writes bundle.tar as a stream: backup.json first, then oci-layout, index.json and the
// manifests, indexes and configs (read one at a time from wherever the backup keeps them),
// with the archive's exact size known before the first byte, so that it goes up in one PUT of
// that length, conditionally, without being held in memory. The same limits as reading
// apply: a bundle this product would refuse to read is never written.
import { Readable } from 'node:stream';
import { StalledError } from '../errors.js';
import { OCI_INDEX, OCI_LAYOUT_VERSION } from '../oci/mediaTypes.js';
import { ANNOTATION_PREFIX, DEFAULT_BUNDLE_LIMITS, type Bundle, type BundleLimits } from './format.js';

export interface PackedBundle {
  /** Bytes of the whole archive. */
  size: number;
  /** A new stream of the archive each time (a write that must be tried again reads it again). */
  open(): Readable;
}

interface Entry {
  name: string;
  size: number;
  read(): Promise<Buffer>;
}

export function packBundle(bundle: Bundle, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): PackedBundle {
  const small = (name: string, data: Buffer): Entry => ({ name, size: data.length, read: async () => data });
  const backupJson = Buffer.from(JSON.stringify(bundle.backup, null, 1));
  const what = `the bundle of ${bundle.backup.backup.namespace}/${bundle.backup.backup.name}`;
  if (backupJson.length > limits.backupJsonBytes) {
    throw new StalledError('BundleTooLarge', `${what} would have a backup.json of ${backupJson.length} bytes, over the ${limits.backupJsonBytes} a restore reads: split the backup`);
  }
  const entries: Entry[] = [
    small('backup.json', backupJson),
    small('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }))),
    small('index.json', Buffer.from(JSON.stringify(ociIndex(bundle)))),
  ];
  for (const digest of [...bundle.blobs.digests()].sort()) {
    const size = bundle.blobs.size(digest)!;
    if (size > limits.entryBytes) throw new StalledError('BundleTooLarge', `${what}: ${digest} is ${size} bytes, over the ${limits.entryBytes} a restore reads`);
    entries.push({ name: `blobs/sha256/${digest.slice('sha256:'.length)}`, size, read: () => bundle.blobs.get(digest) });
  }
  // Each entry: a 512-byte header and its data padded to 512; then two zero blocks.
  const size = entries.reduce((n, e) => n + 512 + Math.ceil(e.size / 512) * 512, 0) + 1024;
  if (size > limits.totalBytes) throw new StalledError('BundleTooLarge', `${what} would be ${size} bytes, over the ${limits.totalBytes} a restore reads: split the backup`);
  const mtime = Math.floor(new Date(bundle.backup.completedAt).getTime() / 1000);
  return {
    size,
    // Pulled, not pushed: the next entry is read only when the consumer (the upload) wants more.
    open: () => Readable.from((async function* archive() {
      for (const e of entries) {
        const data = await e.read();
        if (data.length !== e.size) throw new Error(`internal: ${e.name} is ${data.length} bytes, ${e.size} were announced`);
        yield ustarHeader(e.name, data.length, mtime);
        yield data;
        const pad = (512 - (data.length % 512)) % 512;
        if (pad) yield Buffer.alloc(pad);
      }
      yield Buffer.alloc(1024);
    })(), { objectMode: false }),
  };
}

/** A POSIX ustar header for a regular file whose name fits in 100 bytes (every bundle entry does). */
export function ustarHeader(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (at: number, len: number, value: string) => h.write(value, at, len, 'latin1');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(mtime, 12));
  put(156, 1, '0');
  put(257, 6, 'ustar');
  put(263, 2, '00');
  put(148, 8, '        ');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${octal(sum, 7)}\0 `);
  return h;
}

/** The archive whole, in memory: tests and small tools only. */
export async function packBundleBuffer(bundle: Bundle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of packBundle(bundle).open() as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

// One entry per (image stream, reference), annotated so that plain OCI tools can tell what it is.
function ociIndex(bundle: Bundle): object {
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: bundle.backup.imageStreams.flatMap((s) => s.references.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: bundle.blobs.size(r.digest) ?? 0,
      annotations: {
        [`${ANNOTATION_PREFIX}namespace`]: s.namespace,
        [`${ANNOTATION_PREFIX}name`]: s.name,
        [`${ANNOTATION_PREFIX}tags`]: r.tags.join(','),
      },
    }))),
  };
}
