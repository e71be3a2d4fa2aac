import { Readable } from 'node:stream';
import type { Descriptor, Registry } from '../contracts.js';
import { ByteBudget } from '../backup/budget.js';
import { BlobPusher, type LayerStore } from './pushBlob.js';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));
const layer = (i: number, size: number): Descriptor => ({ digest: `sha256:${i.toString(16).padStart(64, '0')}`, size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });

/** A registry that has nothing and takes every push, counting the bytes of pushes in flight. */
function countingRegistry() {
  const seen = { held: 0, most: 0 };
  const registry = {
    host: 'registry.local',
    hasBlob: async () => false,
    mountBlob: async () => false,
    pushBlob: async (_repo: string, desc: Descriptor, body: Readable) => {
      seen.held += desc.size;
      seen.most = Math.max(seen.most, seen.held);
      for await (const _ of body) await tick();
      seen.held -= desc.size;
    },
  } as unknown as Registry;
  return { registry, seen };
}

const store: LayerStore = {
  blobKey: (d: string) => `blobs/${d}`,
  get: async () => Readable.from([Buffer.alloc(1024)]),
};

describe('a restore pushing many layers at once', () => {
  test.each([
    { name: 'small layers (read whole before their PUT) hold at most the budget together', size: 4 * MiB, most: 8 * MiB },
    { name: 'large layers stream and are not held back by the budget', size: 64 * MiB, most: 5 * 64 * MiB },
  ])('$name', async ({ size, most }) => {
    const { registry, seen } = countingRegistry();
    const pusher = new BlobPusher(store, registry, { budget: new ByteBudget(10 * MiB) });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => pusher.ensure('shop/web', { desc: layer(i, size) })));
    expect(outcomes).toEqual(Array(5).fill('uploaded'));
    expect(seen.most).toBe(most);
  });
});
