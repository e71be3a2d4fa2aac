// Layers as real registries hold them: gzip streams. The fixture's layers are raw random
// bytes, and skopeo (today's path) gzips any layer it finds uncompressed on its way to a
// registry, which would charge it for work it never does with real images. So the seeded
// random payload is wrapped in gzip at level 0 (stored blocks): a valid gzip stream that
// costs no compression time to make, and is opaque to every tool measured.
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import { layerStream } from '../fixture/images.js';
import type { LayerPlan } from './dataset.js';

export interface LayerDigests {
  digest: string;
  size: number;
  /** sha256 of the uncompressed payload: the config's rootfs.diff_ids entry. */
  diffId: string;
}

/** The layer's bytes, and its digests once the stream has ended. */
export function gzipLayer(layer: LayerPlan): { stream: Readable; digests: () => LayerDigests } {
  const payload = hashing();
  const blob = hashing();
  const stream = layerStream({ seed: layer.seed, size: layer.payloadBytes })
    .pipe(payload.stream)
    .pipe(createGzip({ level: 0 }))
    .pipe(blob.stream);
  return { stream, digests: () => ({ ...blob.result(), diffId: payload.result().digest }) };
}

function hashing(): { stream: Transform; result: () => { digest: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: (digest ??= `sha256:${hash.digest('hex')}`), size }) };
}
