// An OCI image layout tar on disk, opened as a backup: the bundle (backup.json, from the
// archive when this product wrote it, else read from index.json; manifests, indexes and configs
// checked against their digests) and its layers, read by byte range from the file. Memory does
// not grow with the archive: metadata past the budget is read again from the file when needed.
import { open, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Descriptor } from '../contracts.js';
import { DigestMismatchError, StalledError, errorMessage } from '../errors.js';
import {
  BUNDLE_FORMAT_VERSION, DEFAULT_BUNDLE_LIMITS, parseBackupJson, type BackupIdentity, type BackupJson, type Bundle,
} from '../bundle/format.js';
import { MetadataCache } from '../bundle/metadata.js';
import { sha256Digest } from '../oci/digest.js';
import { parseManifest, type ManifestDescriptor, type ParsedManifest } from '../oci/manifest.js';
import { OCI_INDEX } from '../oci/mediaTypes.js';
import { productVersion } from '../backup/productVersion.js';
import { foreignContent } from './foreignIndex.js';
import { indexTar, readRange, type TarEntry } from './tarIndex.js';

export interface OpenArchiveOptions {
  /** The backup's name on the far side; default: the one in the archive's backup.json (required without one). */
  backupName?: string;
  /** The namespace an imported backup is recorded under when the archive has no backup.json. */
  backupNamespace?: string;
  /** `<namespace>/<name>` for images the archive names by tag alone (oras backup). */
  imageStream?: string;
  /** Bytes of metadata held in memory (tests). */
  budget?: number;
}

export interface OpenedArchive {
  /** What the archive holds, as a bundle: a restore or a commit can take it as it is. */
  bundle: Bundle;
  /** backup.json was in the archive (this product wrote it), rather than made from index.json. */
  native: boolean;
  /** A layer's bytes as stored in the archive; the reader checks them. */
  openBlob(digest: string): Readable;
  close(): Promise<void>;
}

const INDEX_LIMIT = 64 * 1024 * 1024;

export async function openArchive(path: string, opts: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const what = `archive ${path}`;
  const file = await open(path, 'r');
  try {
    const entries = await indexTar(file, what);
    const opened = await readLayout(file, entries, what, path, opts);
    return { ...opened, close: () => file.close() };
  } catch (err) {
    await file.close();
    throw err;
  }
}

async function readLayout(file: FileHandle, entries: Map<string, TarEntry>, what: string, path: string, opts: OpenArchiveOptions): Promise<Omit<OpenedArchive, 'close'>> {
  const small = async (name: string, limit: number): Promise<Buffer> => {
    const e = entries.get(name);
    if (!e) throw new StalledError('InvalidArchive', `${what} has no ${name}: it is not an OCI image layout`);
    if (e.size > limit) throw new StalledError('InvalidArchive', `${what}: ${name} is ${e.size} bytes, more than the ${limit} allowed`);
    return readRange(file, e.offset, e.size);
  };
  const layout = json(await small('oci-layout', 4096), 'oci-layout', what) as { imageLayoutVersion?: unknown };
  if (typeof layout.imageLayoutVersion !== 'string') throw new StalledError('InvalidArchive', `${what}: oci-layout has no imageLayoutVersion`);

  const blobEntry = (digest: string): TarEntry | undefined => entries.get(`blobs/sha256/${digest.slice('sha256:'.length)}`);
  const blobs = new MetadataCache<TarEntry>({
    // Nothing is written: past the budget a blob is simply read from the archive again.
    put: async (digest) => blobEntry(digest)!,
    read: (_digest, e) => readRange(file, e.offset, e.size),
  }, opts.budget);
  const readManifest = async (d: Pick<Descriptor, 'digest'> & { mediaType?: string }): Promise<ParsedManifest> => {
    const bytes = await metadata(d.digest);
    try {
      return parseManifest({ bytes, digest: d.digest, ...(d.mediaType && { mediaType: d.mediaType }) });
    } catch (err) {
      throw new StalledError('InvalidArchive', `${what}: ${errorMessage(err)}`);
    }
  };
  const metadata = async (digest: string): Promise<Buffer> => {
    if (blobs.has(digest)) return blobs.get(digest);
    const e = blobEntry(digest);
    if (!e) throw new StalledError('InvalidArchive', `${what} lacks blob ${digest}`);
    if (e.size > DEFAULT_BUNDLE_LIMITS.entryBytes) throw new StalledError('InvalidArchive', `${what}: manifest or config ${digest} is ${e.size} bytes, over the ${DEFAULT_BUNDLE_LIMITS.entryBytes} allowed`);
    const bytes = await readRange(file, e.offset, e.size);
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, `${what}: blob`);
    await blobs.set(digest, bytes);
    return bytes;
  };

  const native = entries.has('backup.json');
  let backup: BackupJson;
  if (native) {
    backup = parseBackupJson(await small('backup.json', DEFAULT_BUNDLE_LIMITS.backupJsonBytes), what);
    if (opts.backupName) backup = { ...backup, backup: { ...backup.backup, name: opts.backupName } };
  } else {
    if (!opts.backupName) throw new StalledError('InvalidArchive', `${what} was not written by imagestream-backup (it has no backup.json): name the backup it becomes with --backup`);
    const index = parseManifest({ bytes: await small('index.json', INDEX_LIMIT), mediaType: OCI_INDEX, digest: 'index.json' });
    if (index.kind !== 'index') throw new StalledError('InvalidArchive', `${what}: index.json is not an image index`);
    const content = await foreignContent(index.manifests, readManifest, opts.imageStream, what);
    backup = {
      formatVersion: BUNDLE_FORMAT_VERSION, productVersion: productVersion(),
      backup: { namespace: opts.backupNamespace ?? 'openshift-adp', name: opts.backupName, uid: randomUUID() } satisfies BackupIdentity,
      imageStreams: content.imageStreams, layers: [], ...(content.referrers.length > 0 && { referrers: content.referrers }),
      totals: { imageStreams: 0, images: 0, manifests: 0, configs: 0, layers: 0, layerBytes: 0 },
      startedAt: new Date().toISOString(), completedAt: new Date().toISOString(),
    };
  }

  // Every tree, read and checked; every layer must be in the archive at the size its manifest says.
  const layers = new Map<string, Descriptor>();
  const configs = new Set<string>();
  const manifests = new Set<string>();
  const walk = async (d: Pick<ManifestDescriptor, 'digest' | 'mediaType'>, depth: number): Promise<void> => {
    if (manifests.has(d.digest)) return;
    if (depth > 3) throw new StalledError('InvalidArchive', `${what}: index ${d.digest} nests too deep`);
    const parsed = await readManifest(d);
    manifests.add(d.digest);
    if (parsed.kind === 'index') {
      for (const m of parsed.manifests) await walk(m, depth + 1);
      return;
    }
    await metadata(parsed.config.digest);
    configs.add(parsed.config.digest);
    for (const l of parsed.layers) {
      if (/foreign|nondistributable/.test(l.mediaType)) continue;
      const e = blobEntry(l.digest);
      if (!e) throw new StalledError('InvalidArchive', `${what} lacks layer ${l.digest} of ${d.digest}`);
      if (e.size !== l.size) throw new StalledError('InvalidArchive', `${what}: layer ${l.digest} is ${e.size} bytes, its manifest says ${l.size}`);
      layers.set(l.digest, { digest: l.digest, size: l.size, mediaType: l.mediaType });
    }
  };
  for (const s of backup.imageStreams) for (const r of s.references) await walk(r, 0);
  for (const r of backup.referrers ?? []) await walk(r, 0);
  if (native) {
    for (const l of backup.layers) if (!layers.has(l.digest)) throw new StalledError('InvalidArchive', `${what}: layer ${l.digest} of backup.json is not in any image`);
  } else {
    const list = [...layers.values()];
    backup.layers = list;
    backup.totals = {
      imageStreams: backup.imageStreams.length,
      images: backup.imageStreams.reduce((n, s) => n + s.references.length, 0),
      manifests: manifests.size,
      configs: configs.size,
      layers: list.length,
      layerBytes: list.reduce((n, l) => n + l.size, 0),
      ...(backup.referrers && { referrers: new Set(backup.referrers.map((r) => r.digest)).size }),
    };
  }
  return {
    bundle: { backup, blobs },
    native,
    openBlob: (digest) => {
      const e = blobEntry(digest);
      if (!e) throw new StalledError('InvalidArchive', `${what} lacks blob ${digest}`);
      // An empty range is one createReadStream cannot express (end is inclusive).
      return e.size === 0 ? Readable.from([]) : createReadStream(path, { start: e.offset, end: e.offset + e.size - 1 });
    },
  };
}

function json(data: Buffer, name: string, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new StalledError('InvalidArchive', `${what}: ${name} is not JSON`);
  }
}
