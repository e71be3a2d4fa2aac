// Reads one layer of the pool as a stream and hashes it on the way: memory holds a chunk or two,
// whatever the layer's size. A broken read goes on from where it stopped (the store's resumable
// body); only what the store answers as absent is "missing", any other failure is thrown.
import { createHash } from 'node:crypto';
import type { Descriptor } from '../contracts.js';
import type { ObjectStore } from '../store/objectStore.js';
import { ObjectNotFoundError } from '../store/storeError.js';

export type LayerFinding =
  | { problem: 'missing' }
  /** `actualDigest` when the whole object was read (it was shorter than expected). */
  | { problem: 'wrongSize'; actualSize: number; actualDigest?: string }
  | { problem: 'wrongDigest'; actualDigest: string };

/** Undefined when the layer is there, of its size, and hashes to its digest. */
export async function checkLayer(
  store: ObjectStore, layer: Descriptor, onBytes: (n: number) => void, signal?: AbortSignal,
): Promise<LayerFinding | undefined> {
  const key = store.blobKey(layer.digest);
  let body;
  try {
    body = await store.get(key, signal);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { problem: 'missing' };
    throw err;
  }
  const hash = createHash('sha256');
  let got = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      got += chunk.length;
      // Longer than it should be: wrong whatever the rest holds; no need to read on.
      if (got > layer.size) break;
      hash.update(chunk);
      onBytes(chunk.length);
    }
  } finally {
    body.destroy();
  }
  if (got > layer.size) {
    const info = await store.head(key, signal);
    return { problem: 'wrongSize', actualSize: info?.size ?? got };
  }
  const actualDigest = `sha256:${hash.digest('hex')}`;
  if (got < layer.size) return { problem: 'wrongSize', actualSize: got, actualDigest };
  return actualDigest === layer.digest ? undefined : { problem: 'wrongDigest', actualDigest };
}
