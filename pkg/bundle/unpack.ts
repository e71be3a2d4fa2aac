// Reads and validates a bundle, as untrusted input: every raw header is checked before the tar
// parser buffers anything (tarGuard), entries are known names only (no path, no link, no
// device), backup.json comes first, nothing appears twice, every blob's digest is checked,
// and every manifest of every image is present. Manifests, indexes and configs are kept in a
// bounded cache: past its budget they are read again, by byte range, from the bundle object
// itself when needed (readRange), so memory does not grow with the backup's size.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ReconcileError, errorMessage } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import {
  BLOB_ENTRY, DEFAULT_BUNDLE_LIMITS, DIRECTORIES, invalid, parseBackupJson, parseJson, type BackupJson, type Bundle, type BundleLimits,
} from './format.js';
import { DEFAULT_METADATA_BUDGET, MetadataCache, type MetadataBlobs } from './metadata.js';
import { tarGuard } from './tarGuard.js';

export interface UnpackOptions {
  limits?: Partial<BundleLimits>;
  /** Stop after backup.json, the first entry: enough to know who wrote it and what it holds. */
  stopAfterBackupJson?: boolean;
  /** How messages name the bundle. */
  name?: string;
  /** Reads `length` bytes at `offset` of the same bundle object again; without it, every blob is held in memory. */
  readRange?: (offset: number, length: number) => Promise<Buffer>;
  /** Bytes of metadata held in memory before the rest is read again by range. */
  budget?: number;
}

export async function unpackBundle(source: Readable, opts: UnpackOptions = {}): Promise<Bundle> {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...opts.limits };
  const what = opts.name ?? 'bundle';
  const guard = tarGuard(what, {
    totalBytes: limits.totalBytes, extensionBytes: limits.extensionBytes, entryBytes: Math.max(limits.entryBytes, limits.backupJsonBytes),
  });
  const extract = tar.extract();
  let sourceError: unknown;
  source.on('error', (err) => {
    sourceError = err;
    guard.destroy(err);
  });
  guard.on('error', (err) => extract.destroy(err));
  source.pipe(guard).pipe(extract as unknown as NodeJS.WritableStream);
  const readRange = opts.readRange;
  const blobs = new MetadataCache<{ offset: number; length: number }>(readRange && {
    put: async () => { throw new Error('internal: a bundle\'s blobs are not written while it is read'); },
    read: (_digest, where) => readRange(where.offset, where.length),
  }, opts.budget ?? DEFAULT_METADATA_BUDGET);
  const seen = new Set<string>();
  let backup: BackupJson | undefined;
  let files = 0;
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const size = entry.header.size ?? 0;
      if (type === 'directory' && DIRECTORIES.has(name)) {
        entry.resume();
        continue;
      }
      if (type !== 'file') throw invalid(what, `entry ${JSON.stringify(name.slice(0, 200))} is a ${type}, not a file`);
      const offset = guard.dataOffsets[files++];
      if (offset === undefined) throw invalid(what, 'its headers could not be followed');
      if (seen.has(name)) throw invalid(what, `entry ${JSON.stringify(name.slice(0, 200))} appears twice`);
      seen.add(name);
      const blob = BLOB_ENTRY.exec(name);
      if (!blob && !['backup.json', 'oci-layout', 'index.json'].includes(name)) {
        throw invalid(what, `unexpected entry ${JSON.stringify(name.slice(0, 200))}`);
      }
      if (!backup && name !== 'backup.json') throw invalid(what, `its first entry is ${JSON.stringify(name.slice(0, 200))}, not backup.json`);
      const max = name === 'backup.json' ? limits.backupJsonBytes : limits.entryBytes;
      if (size > max) throw invalid(what, `entry ${name} is ${size} bytes, more than the ${max} allowed`);
      if (blob) {
        const digest = `sha256:${blob[1]}`;
        // Within the budget the bytes stay; past it only their place in the bundle does.
        if (blobs.fits(size)) {
          const data = await readEntry(entry as unknown as AsyncIterable<Buffer>, size, name, what);
          const actual = sha256Digest(data);
          if (actual !== digest) throw invalid(what, `entry ${name} has digest ${actual}: the bundle is corrupt`);
          await blobs.set(digest, data);
        } else {
          const actual = await digestEntry(entry as unknown as AsyncIterable<Buffer>, size, name, what);
          if (actual !== digest) throw invalid(what, `entry ${name} has digest ${actual}: the bundle is corrupt`);
          blobs.setElsewhere(digest, size, { offset, length: size });
        }
        continue;
      }
      const data = await readEntry(entry as unknown as AsyncIterable<Buffer>, size, name, what);
      if (name === 'backup.json') {
        backup = parseBackupJson(data, what);
        if (opts.stopAfterBackupJson) break;
      } else {
        parseJson(data, name, what);
      }
    }
  } catch (err) {
    // tar-stream throws plain Errors ("Invalid tar header", "Unexpected end of data"): the
    // object is not a tar, or is cut short. Once the source failed (network, abort), that is
    // the cause, and it passes as it is: the bundle may be fine.
    if (err instanceof ReconcileError || sourceError !== undefined) throw err;
    throw invalid(what, `it is not a readable tar: ${errorMessage(err)}`, err);
  } finally {
    source.unpipe(guard);
    source.destroy();
    guard.destroy();
    extract.destroy();
  }
  if (!backup) throw invalid(what, 'it has no backup.json');
  if (!opts.stopAfterBackupJson) {
    if (!seen.has('oci-layout')) throw invalid(what, 'it has no oci-layout');
    if (!seen.has('index.json')) throw invalid(what, 'it has no index.json');
    await checkComplete(backup, blobs, what);
  }
  return { backup, blobs };
}

async function readEntry(entry: AsyncIterable<Buffer>, size: number, name: string, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of entry) {
    got += chunk.length;
    if (got > size) throw invalid(what, `entry ${name} is longer than its header says`);
    chunks.push(chunk);
  }
  if (got !== size) throw invalid(what, `entry ${name} is truncated`);
  return Buffer.concat(chunks, got);
}

async function digestEntry(entry: AsyncIterable<Buffer>, size: number, name: string, what: string): Promise<string> {
  const hash = createHash('sha256');
  let got = 0;
  for await (const chunk of entry) {
    got += chunk.length;
    hash.update(chunk);
  }
  if (got !== size) throw invalid(what, `entry ${name} is truncated`);
  return `sha256:${hash.digest('hex')}`;
}

/** Every reference's and referrer's tree must be in the bundle, and every layer it names in backup.json. */
async function checkComplete(backup: BackupJson, blobs: MetadataBlobs, what: string): Promise<void> {
  const layers = new Set(backup.layers.map((l) => l.digest));
  const checked = new Set<string>();
  const visit = async (digest: string, mediaType: string | undefined, depth: number): Promise<void> => {
    if (checked.has(digest)) return;
    if (!blobs.has(digest)) throw invalid(what, `manifest ${digest} is missing`);
    let parsed;
    try {
      parsed = parseManifest({ bytes: await blobs.get(digest), digest, ...(mediaType && { mediaType }) });
    } catch (err) {
      throw invalid(what, errorMessage(err));
    }
    checked.add(digest);
    if (parsed.kind === 'index') {
      if (depth > 3) throw invalid(what, `index ${digest} nests too deep`);
      for (const m of parsed.manifests) await visit(m.digest, m.mediaType, depth + 1);
      return;
    }
    if (!blobs.has(parsed.config.digest)) throw invalid(what, `config ${parsed.config.digest} of ${digest} is missing`);
    for (const l of parsed.layers) {
      if (!layers.has(l.digest) && !/foreign|nondistributable/.test(l.mediaType)) {
        throw invalid(what, `layer ${l.digest} of ${digest} is not listed in backup.json`);
      }
    }
  };
  for (const s of backup.imageStreams) for (const r of s.references) await visit(r.digest, r.mediaType, 0);
  for (const r of backup.referrers ?? []) await visit(r.digest, r.mediaType, 0);
}
