// Writes bundle.tar files by hand, byte by byte, so that a test can plant in the bucket what
// no honest backup writes: extension headers of any size, links, entries out of order or twice,
// sizes no file has. Independent of pkg/bundle (a test must not share the product's bugs). An
// image here is made in memory (manifest, config, one layer); only its layer goes to the pool.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const hexOf = (digest: string): string => digest.slice('sha256:'.length);

export interface MadeImage {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  configDigest: string;
  layer: Buffer;
  layerDigest: string;
}

/** An OCI image whose bytes depend on `label` only; the layer is `layerBytes` long. */
export function makeImage(label: string, layerBytes = 4096, sharedLayer?: Buffer): MadeImage {
  const layer = sharedLayer ?? Buffer.alloc(layerBytes, label);
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { label } }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = sha256(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
  }));
  return { manifest, digest: sha256(manifest), config, configDigest, layer, layerDigest };
}

export interface StreamOfImages {
  namespace: string;
  name: string;
  images: Array<{ image: MadeImage; tags: string[] }>;
}

/** backup.json as format version 1 has it. */
export function backupJson(streams: StreamOfImages[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const layers = new Map<string, number>();
  for (const s of streams) for (const { image } of s.images) layers.set(image.layerDigest, image.layer.length);
  const images = streams.reduce((n, s) => n + s.images.length, 0);
  return {
    formatVersion: 1,
    productVersion: 'adversarial-test',
    backup: { namespace: 'planted', name: 'planted', uid: '00000000-0000-0000-0000-000000000000' },
    imageStreams: streams.map((s) => ({
      namespace: s.namespace, name: s.name,
      references: s.images.map(({ image, tags }) => ({ digest: image.digest, mediaType: OCI_MANIFEST, tags })),
    })),
    layers: [...layers].map(([digest, size]) => ({ digest, size, mediaType: OCI_LAYER })),
    totals: { imageStreams: streams.length, images, manifests: images, configs: images, layers: layers.size, layerBytes: [...layers.values()].reduce((a, b) => a + b, 0) },
    startedAt: '2026-01-01T00:00:00Z',
    completedAt: '2026-01-01T00:00:01Z',
    ...overrides,
  };
}

/** One tar entry. `type`: the raw typeflag; `size` overrides the header's size field (a lie). */
export interface Entry {
  name: string;
  data?: Buffer;
  type?: '0' | '1' | '2' | '3' | '5' | 'x' | 'g' | 'L' | 'K';
  linkname?: string;
  size?: number;
}

/** The entries of a well-formed bundle of these streams, in the order the product writes them. */
export function bundleEntries(streams: StreamOfImages[], json: Record<string, unknown> = backupJson(streams)): Entry[] {
  const blobs = new Map<string, Buffer>();
  for (const s of streams) {
    for (const { image } of s.images) {
      blobs.set(image.digest, image.manifest);
      blobs.set(image.configDigest, image.config);
    }
  }
  return [
    { name: 'backup.json', data: Buffer.from(JSON.stringify(json)) },
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })) },
    ...[...blobs].sort(([a], [b]) => a.localeCompare(b)).map(([digest, data]) => ({ name: `blobs/sha256/${hexOf(digest)}`, data })),
  ];
}

/** A 512-byte ustar header; sizes over 8 GiB are written base-256, as GNU tar does. */
export function tarHeader(e: { name: string; size: number; type?: string; linkname?: string }): Buffer {
  const h = Buffer.alloc(512);
  const put = (at: number, len: number, value: string) => h.write(value, at, len, 'latin1');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(0, 100, e.name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  if (e.size < 0o77777777777) {
    put(124, 12, octal(e.size, 12));
  } else {
    h[124] = 0x80;
    let n = BigInt(e.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  }
  put(136, 12, octal(1767225600, 12));
  put(156, 1, e.type ?? '0');
  if (e.linkname) put(157, 100, e.linkname);
  put(257, 6, 'ustar');
  put(263, 2, '00');
  put(148, 8, '        ');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${octal(sum, 7)}\0 `);
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** The archive, whole: every entry, then the two zero blocks. */
export function tarBytes(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(tarHeader({ name: e.name, size: e.size ?? data.length, type: e.type ?? '0', ...(e.linkname && { linkname: e.linkname }) }), data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A PAX extended header record: "<len> key=value\n", where len counts the whole record. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.from(`${len}${body}`);
}

/**
 * A bundle whose first entry is a PAX extended header of `headerBytes` bytes (one huge
 * `comment` record), followed by `rest`: generated as it is read, so that 2 GiB never sit in
 * the test's memory. Returns the stream and its exact length (an S3 PUT needs it).
 */
export function hugePaxBundle(headerBytes: number, rest: Buffer): { body: Readable; size: number } {
  const prefix = ` comment=`;
  const digits = String(headerBytes).length;
  const valueBytes = headerBytes - digits - prefix.length - 1;
  const head = Buffer.concat([tarHeader({ name: 'PaxHeaders/backup.json', size: headerBytes, type: 'x' }), Buffer.from(`${headerBytes}${prefix}`)]);
  const tail = Buffer.concat([Buffer.from('\n'), pad(headerBytes), rest]);
  const chunk = Buffer.alloc(1 << 20, 'a');
  let left = valueBytes;
  let stage = 0;
  const body = new Readable({
    read() {
      if (stage === 0) {
        stage = 1;
        this.push(head);
      } else if (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      } else if (stage === 1) {
        stage = 2;
        this.push(tail);
      } else {
        this.push(null);
      }
    },
  });
  return { body, size: head.length + valueBytes + tail.length };
}
