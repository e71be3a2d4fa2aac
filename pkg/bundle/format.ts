// bundle.tar, the backup itself (the format both backup and restore use): an OCI image layout holding the manifests, indexes and
// configs, plus backup.json, the authoritative list of image streams, tags and layers.
// Layers are not in it; they are in the pool. backup.json comes first so that ownership
// can be read without reading the rest.
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Descriptor } from '../contracts.js';
import { ReconcileError, StalledError, errorMessage } from '../errors.js';
import { isDigest, sha256Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { OCI_INDEX, OCI_LAYOUT_VERSION } from '../oci/mediaTypes.js';

export const BUNDLE_FORMAT_VERSION = 1;

/** The ImageStreamsBackup a bundle belongs to: only the same uid may replace it. */
export interface BackupIdentity {
  namespace: string;
  name: string;
  uid: string;
}
export const ANNOTATION_PREFIX = 'imagestreams.oadp.openshift.io/';

export interface BundleReference {
  digest: string;
  mediaType: string;
  tags: string[];
  /** The reference as the backup named it (informative: restore goes by digest). */
  source?: string;
}

export interface BundleImageStream {
  namespace: string;
  name: string;
  references: BundleReference[];
}

export interface BackupJson {
  formatVersion: number;
  productVersion: string;
  backup: BackupIdentity;
  imageStreams: BundleImageStream[];
  layers: Descriptor[];
  totals: { imageStreams: number; images: number; manifests: number; configs: number; layers: number; layerBytes: number };
  startedAt: string;
  completedAt: string;
}

export interface Bundle {
  backup: BackupJson;
  /** Manifests, indexes and configs by digest. */
  blobs: Map<string, Buffer>;
}

export interface BundleLimits {
  entryBytes: number;
  backupJsonBytes: number;
  totalBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  entryBytes: 16 * 1024 * 1024,
  backupJsonBytes: 64 * 1024 * 1024,
  totalBytes: 256 * 1024 * 1024,
};

const BLOB_ENTRY = /^blobs\/sha256\/([a-f0-9]{64})$/;
const DIRECTORIES = new Set(['blobs/', 'blobs', 'blobs/sha256/', 'blobs/sha256']);

/** The tar, in memory: it holds metadata only (no layer), and a Buffer allows a conditional put. */
export async function packBundle(bundle: Bundle): Promise<Buffer> {
  const mtime = new Date(bundle.backup.completedAt);
  const pack = tar.pack();
  const add = (name: string, data: Buffer) => pack.entry({ name, size: data.length, mode: 0o644, mtime, type: 'file' }, data);
  add('backup.json', Buffer.from(JSON.stringify(bundle.backup, null, 1)));
  add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })));
  add('index.json', Buffer.from(JSON.stringify(ociIndex(bundle))));
  for (const digest of [...bundle.blobs.keys()].sort()) add(`blobs/sha256/${digest.slice('sha256:'.length)}`, bundle.blobs.get(digest)!);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
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
      size: bundle.blobs.get(r.digest)?.length ?? 0,
      annotations: {
        [`${ANNOTATION_PREFIX}namespace`]: s.namespace,
        [`${ANNOTATION_PREFIX}name`]: s.name,
        [`${ANNOTATION_PREFIX}tags`]: r.tags.join(','),
      },
    }))),
  };
}

/**
 * Reads and validates a bundle: known entry names only, bounded sizes, every blob's digest
 * checked, and every manifest of every image present. `stopAfterBackupJson` reads only as
 * far as backup.json (to check who owns a bundle).
 */
export async function unpackBundle(source: Readable, opts: { limits?: Partial<BundleLimits>; stopAfterBackupJson?: boolean; name?: string } = {}): Promise<Bundle> {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...opts.limits };
  const what = opts.name ?? 'bundle';
  const extract = tar.extract();
  let sourceError: unknown;
  source.on('error', (err) => {
    sourceError = err;
    extract.destroy(err);
  });
  source.pipe(extract as unknown as NodeJS.WritableStream);
  const blobs = new Map<string, Buffer>();
  const seen = new Set<string>();
  let backup: BackupJson | undefined;
  let total = 0;
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const size = entry.header.size ?? 0;
      if (type === 'directory' && DIRECTORIES.has(name)) {
        entry.resume();
        continue;
      }
      if (type !== 'file') throw invalid(what, `entry ${JSON.stringify(name)} is a ${type}, not a file`);
      if (seen.has(name)) throw invalid(what, `entry ${JSON.stringify(name)} appears twice`);
      seen.add(name);
      const blob = BLOB_ENTRY.exec(name);
      if (!blob && !['backup.json', 'oci-layout', 'index.json'].includes(name)) {
        throw invalid(what, `unexpected entry ${JSON.stringify(name.slice(0, 200))}`);
      }
      const max = name === 'backup.json' ? limits.backupJsonBytes : limits.entryBytes;
      if (size > max) throw invalid(what, `entry ${name} is ${size} bytes, more than the ${max} allowed`);
      total += size;
      if (total > limits.totalBytes) throw invalid(what, `it is larger than ${limits.totalBytes} bytes`);
      const data = await readEntry(entry as unknown as AsyncIterable<Buffer>, size, name, what);
      if (blob) {
        const digest = `sha256:${blob[1]}`;
        const actual = sha256Digest(data);
        if (actual !== digest) throw new StalledError('InvalidBundle', `${what}: entry ${name} has digest ${actual}: the bundle is corrupt`);
        blobs.set(digest, data);
      } else if (name === 'backup.json') {
        backup = parseBackupJson(data, what);
        if (opts.stopAfterBackupJson) break;
      } else {
        parseJsonEntry(data, name, what);
      }
    }
  } catch (err) {
    // tar-stream throws plain Errors ("Invalid tar header", "Unexpected end of data"): the
    // object is not a tar, or is cut short. Once the source failed (network, abort), that is
    // the cause, and it passes as it is: the bundle may be fine.
    if (err instanceof ReconcileError || sourceError !== undefined) throw err;
    throw invalid(what, `it is not a readable tar: ${errorMessage(err)}`, err);
  } finally {
    source.unpipe(extract as unknown as NodeJS.WritableStream);
    source.destroy();
    extract.destroy();
  }
  if (!backup) throw invalid(what, 'it has no backup.json');
  if (!opts.stopAfterBackupJson) {
    if (!seen.has('oci-layout')) throw invalid(what, 'it has no oci-layout');
    if (!seen.has('index.json')) throw invalid(what, 'it has no index.json');
    checkComplete(backup, blobs, what);
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

function parseJsonEntry(data: Buffer, name: string, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw invalid(what, `${name} is not JSON`);
  }
}

/** Checks the shape of backup.json; a newer format version is refused with a clear reason. */
export function parseBackupJson(data: Buffer, what = 'bundle'): BackupJson {
  const doc = parseJsonEntry(data, 'backup.json', what) as Record<string, unknown>;
  if (!isObject(doc)) throw invalid(what, 'backup.json is not an object');
  if (typeof doc.formatVersion !== 'number') throw invalid(what, 'backup.json has no formatVersion');
  if (doc.formatVersion > BUNDLE_FORMAT_VERSION || doc.formatVersion < 1) {
    throw new StalledError('UnsupportedBundleVersion', `${what} has format version ${doc.formatVersion}; this imagestream-backup `
      + `reads version ${BUNDLE_FORMAT_VERSION}: restore with the version that wrote it, or a newer one`);
  }
  const backup = doc.backup as Record<string, unknown>;
  if (!isObject(backup) || !isString(backup.namespace) || !isString(backup.name) || !isString(backup.uid)) {
    throw invalid(what, 'backup.json lacks backup.namespace, backup.name or backup.uid');
  }
  if (!Array.isArray(doc.imageStreams)) throw invalid(what, 'backup.json has no imageStreams list');
  doc.imageStreams.forEach((s: unknown, i) => {
    const at = `imageStreams[${i}]`;
    if (!isObject(s) || !isString(s.namespace) || !isString(s.name) || !Array.isArray(s.references)) throw invalid(what, `backup.json ${at} is malformed`);
    s.references.forEach((r: unknown, j) => {
      if (!isObject(r) || !isDigest(r.digest) || !isString(r.mediaType) || !Array.isArray(r.tags) || !r.tags.every(isString)) {
        throw invalid(what, `backup.json ${at}.references[${j}] is malformed`);
      }
    });
  });
  if (!Array.isArray(doc.layers)) throw invalid(what, 'backup.json has no layers list');
  doc.layers.forEach((l: unknown, i) => {
    if (!isObject(l) || !isDigest(l.digest) || !Number.isSafeInteger(l.size) || (l.size as number) < 0 || !isString(l.mediaType)) {
      throw invalid(what, `backup.json layers[${i}] is malformed`);
    }
  });
  return doc as unknown as BackupJson;
}

/** Every reference's tree must be in the bundle, and every layer it names in backup.json. */
function checkComplete(backup: BackupJson, blobs: Map<string, Buffer>, what: string): void {
  const layers = new Set(backup.layers.map((l) => l.digest));
  const checked = new Set<string>();
  const visit = (digest: string, mediaType: string | undefined, depth: number): void => {
    if (checked.has(digest)) return;
    const bytes = blobs.get(digest);
    if (!bytes) throw invalid(what, `manifest ${digest} is missing`);
    let parsed;
    try {
      parsed = parseManifest({ bytes, digest, ...(mediaType && { mediaType }) });
    } catch (err) {
      throw invalid(what, errorMessage(err));
    }
    checked.add(digest);
    if (parsed.kind === 'index') {
      if (depth > 3) throw invalid(what, `index ${digest} nests too deep`);
      for (const m of parsed.manifests) visit(m.digest, m.mediaType, depth + 1);
      return;
    }
    if (!blobs.has(parsed.config.digest)) throw invalid(what, `config ${parsed.config.digest} of ${digest} is missing`);
    for (const l of parsed.layers) {
      if (!layers.has(l.digest) && !/foreign|nondistributable/.test(l.mediaType)) {
        throw invalid(what, `layer ${l.digest} of ${digest} is not listed in backup.json`);
      }
    }
  };
  for (const s of backup.imageStreams) for (const r of s.references) visit(r.digest, r.mediaType, 0);
}

function invalid(what: string, why: string, cause?: unknown): StalledError {
  return new StalledError('InvalidBundle', `${what} is not a valid imagestream-backup bundle: ${why}`, cause === undefined ? undefined : { cause });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}
