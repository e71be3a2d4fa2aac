// Writes one backup as a single OCI image layout tar, for removable media: `oci-layout`,
// `index.json` naming each image `<namespace>/<image stream>:<tag>` (an untagged image
// `<namespace>/<image stream>@sha256:...`; referrers by their cosign tag, or unnamed), this
// product's `backup.json` (so that an import on the far side is the same backup), then every
// blob once: manifests, indexes and configs from the bundle, layers from the pool, each
// checked against its digest as it streams. Memory does not grow with the backup: blobs are
// written one at a time with backpressure; small ones ahead of the writer are fetched a few at
// a time into a bounded buffer (a GET's latency, not its bytes, is what many small layers
// cost), large ones are streamed when their turn comes. The archive goes to
// `<output>.partial`, renamed once whole.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, pipeline as pipe } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readBundle } from '../restore/readBundle.js';
import type { Bundle } from '../bundle/format.js';
import { ustarHeader } from '../bundle/pack.js';
import { OCI_INDEX, OCI_LAYOUT_VERSION } from '../oci/mediaTypes.js';
import { verifyingStream } from '../oci/verifyingStream.js';
import type { ObjectStore } from '../store/objectStore.js';
import { REF_NAME } from './foreignIndex.js';

export interface ExportResult {
  /** Bytes of the archive. */
  bytes: number;
  blobs: number;
  images: number;
  referrers: number;
}

export interface ExportOptions {
  /** Bytes written so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Entry {
  name: string;
  size: number;
  open(): Promise<Readable> | Readable;
}

/** Blobs up to this size are fetched ahead of the writer, whole. */
const PREFETCH_MAX_BLOB = 8 * 1024 * 1024;
/** Bytes fetched ahead and not written yet, at most. */
const PREFETCH_BUDGET = 64 * 1024 * 1024;
const PREFETCH_REQUESTS = 6;

export async function exportBackup(store: ObjectStore, backupName: string, output: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const bundle = await readBundle(store, backupName, opts.signal);
  const { backup } = bundle;
  const bytes = (data: Buffer): Entry => ({ name: '', size: data.length, open: () => Readable.from([data]) });
  const entries: Entry[] = [
    { ...bytes(Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }))), name: 'oci-layout' },
    { ...bytes(Buffer.from(JSON.stringify(layoutIndex(bundle), null, 1))), name: 'index.json' },
    { ...bytes(Buffer.from(JSON.stringify(backup, null, 1))), name: 'backup.json' },
  ];
  const blobName = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
  const metadata = [...bundle.blobs.digests()].sort();
  for (const d of metadata) entries.push({ name: blobName(d), size: bundle.blobs.size(d)!, open: async () => Readable.from([await bundle.blobs.get(d)]) });
  const inBundle = new Set(metadata);
  const layers = backup.layers.filter((l) => !inBundle.has(l.digest));
  for (const l of layers) {
    entries.push({
      name: blobName(l.digest), size: l.size,
      open: async () => pipe(await store.get(store.blobKey(l.digest), opts.signal), verifyingStream(l, `layer ${l.digest} in the pool (${store.blobKey(l.digest)})`), () => {}),
    });
  }
  // Each entry: a 512-byte header and its data padded to 512; then two zero blocks.
  const total = entries.reduce((n, e) => n + 512 + Math.ceil(e.size / 512) * 512, 0) + 1024;
  const mtime = Math.floor(new Date(backup.completedAt).getTime() / 1000);
  let done = 0;
  const ahead = prefetcher(entries, opts.signal);
  const partial = `${output}.partial`;
  try {
    await pipeline(Readable.from((async function* archive() {
      for (const e of entries) {
        opts.signal?.throwIfAborted();
        yield header(e.name, e.size, mtime);
        let got = 0;
        for await (const chunk of await ahead.take(e) as AsyncIterable<Buffer>) {
          got += chunk.length;
          done += chunk.length;
          yield chunk;
          opts.onProgress?.(done, total);
        }
        if (got !== e.size) throw new Error(`internal: ${e.name} gave ${got} bytes, ${e.size} were announced`);
        const pad = (512 - (e.size % 512)) % 512;
        if (pad) yield Buffer.alloc(pad);
        done += 512 + pad;
      }
      yield Buffer.alloc(1024);
      done += 1024;
      opts.onProgress?.(done, total);
    })()), createWriteStream(partial), ...(opts.signal ? [{ signal: opts.signal }] : []));
    await rename(partial, output);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return {
    bytes: total, blobs: metadata.length + layers.length,
    images: backup.imageStreams.reduce((n, s) => n + s.references.length, 0),
    referrers: new Set((backup.referrers ?? []).map((r) => r.digest)).size,
  };
}

/**
 * Fetches the small entries after the one being written, whole, a few at a time, within a byte
 * budget; `take` hands an entry's bytes over in order (a large one is opened then).
 */
function prefetcher(entries: Entry[], signal?: AbortSignal): { take(e: Entry): Promise<Readable> } {
  const fetched = new Map<Entry, Promise<Buffer>>();
  let next = 0; // the first entry neither fetched nor taken
  let held = 0;
  let inFlight = 0;
  const fill = () => {
    while (next < entries.length && inFlight < PREFETCH_REQUESTS && !signal?.aborted) {
      const e = entries[next]!;
      // A large entry is opened when its turn comes; nothing past it is fetched before.
      if (e.size > PREFETCH_MAX_BLOB || held + e.size > PREFETCH_BUDGET) return;
      held += e.size;
      inFlight++;
      next++;
      const p = (async () => {
        const chunks: Buffer[] = [];
        for await (const c of await e.open() as AsyncIterable<Buffer>) chunks.push(c);
        return Buffer.concat(chunks);
      })().finally(() => {
        inFlight--;
        fill();
      });
      p.catch(() => {}); // reported when taken
      fetched.set(e, p);
    }
  };
  return {
    async take(e) {
      const p = fetched.get(e);
      if (!p) {
        // Every entry before this one is taken, so it is `next`: a large one (or the first).
        if (entries[next] === e) next++;
        fill();
        return e.open();
      }
      const data = await p;
      fetched.delete(e);
      held -= e.size;
      fill();
      return Readable.from([data]);
    },
  };
}

/** index.json: each image under every name it has, and every referrer, so that OCI tools find all of it. */
function layoutIndex(bundle: Bundle): object {
  const { backup } = bundle;
  const manifests: object[] = [];
  const entry = (digest: string, mediaType: string, name?: string) => ({
    mediaType, digest, size: bundle.blobs.size(digest) ?? 0, ...(name && { annotations: { [REF_NAME]: name } }),
  });
  for (const s of backup.imageStreams) {
    for (const r of s.references) {
      if (r.tags.length === 0) manifests.push(entry(r.digest, r.mediaType, `${s.namespace}/${s.name}@${r.digest}`));
      for (const t of r.tags) manifests.push(entry(r.digest, r.mediaType, `${s.namespace}/${s.name}:${t}`));
    }
  }
  const listed = new Set<string>();
  for (const r of backup.referrers ?? []) {
    for (const t of r.tags) manifests.push(entry(r.digest, r.mediaType, t));
    if (r.tags.length === 0 && !listed.has(r.digest)) manifests.push(entry(r.digest, r.mediaType));
    listed.add(r.digest);
  }
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
}

/** A ustar header; a size past the octal field (8 GiB) in GNU's base-256, which tar, Go and skopeo read. */
function header(name: string, size: number, mtime: number): Buffer {
  const OCTAL_MAX = 8 ** 11 - 1;
  if (size <= OCTAL_MAX) return ustarHeader(name, size, mtime);
  const h = ustarHeader(name, 0, mtime);
  h.fill(0, 124, 136);
  h[124] = 0x80;
  let n = size;
  for (let i = 135; i > 124; i--) {
    h[i] = n % 256;
    n = Math.floor(n / 256);
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}
