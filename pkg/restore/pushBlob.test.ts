import { Readable } from 'node:stream';
import type { Descriptor, Registry } from '../contracts.js';
import { StalledError } from '../errors.js';
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

/** A registry that holds what was pushed or mounted, recording each request. */
function recordingRegistry(mounts: boolean) {
  const held = new Set<string>();
  const calls: string[] = [];
  const registry = {
    host: 'registry.local',
    hasBlob: async (repo: string, digest: string) => (calls.push(`HEAD ${repo}`), held.has(`${repo}@${digest}`)),
    mountBlob: async (repo: string, digest: string, from: string) => {
      calls.push(`MOUNT ${repo} from ${from}`);
      if (mounts) held.add(`${repo}@${digest}`);
      return mounts;
    },
    pushBlob: async (repo: string, desc: Descriptor, body: Readable) => {
      calls.push(`PUSH ${repo}`);
      for await (const _ of body) await tick();
      held.add(`${repo}@${desc.digest}`);
    },
  } as unknown as Registry;
  return { registry, calls };
}

describe('a blob needed by a second repository', () => {
  test.each([
    { name: 'is mounted from the repository this run filled, with no HEAD first', mounts: true, outcome: 'mounted', second: ['MOUNT shop/two from shop/one'] },
    { name: 'is checked and uploaded when the registry will not mount it', mounts: false, outcome: 'uploaded', second: ['MOUNT shop/two from shop/one', 'HEAD shop/two', 'PUSH shop/two'] },
  ])('$name', async ({ mounts, outcome, second }) => {
    const { registry, calls } = recordingRegistry(mounts);
    const pusher = new BlobPusher(store, registry);
    const blob = { desc: layer(7, 1024) };
    expect(await pusher.ensure('shop/one', blob)).toBe('uploaded');
    expect(calls.splice(0)).toEqual(['HEAD shop/one', 'PUSH shop/one']);
    expect(await pusher.ensure('shop/two', blob)).toBe(outcome);
    expect(calls).toEqual(second);
  });

  test.each([
    { name: 'answers a mount with an upload', refuse: async () => false },
    { name: 'refuses a mount outright', refuse: async () => { throw new StalledError('RegistryRejected', 'HTTP 403 on the source repository'); } },
  ])('a registry that $name gets the blob uploaded, and is not asked to mount again in the run', async ({ refuse }) => {
    const { registry, calls } = recordingRegistry(false);
    const refusing = Object.create(registry, {
      mountBlob: { value: async (repo: string, _d: string, from: string) => { calls.push(`MOUNT ${repo} from ${from}`); return refuse(); } },
    }) as Registry;
    const pusher = new BlobPusher(store, refusing);
    const blob = { desc: layer(8, 1024) };
    await pusher.ensure('shop/one', blob);
    expect(await pusher.ensure('shop/two', blob)).toBe('uploaded');
    expect(await pusher.ensure('shop/three', blob)).toBe('uploaded');
    expect(calls).toEqual(['HEAD shop/one', 'PUSH shop/one', 'MOUNT shop/two from shop/one', 'HEAD shop/two', 'PUSH shop/two', 'HEAD shop/three', 'PUSH shop/three']);
  });

  test('a blob a manifest in the repository already shows is neither asked for nor pushed, and is mounted from there', async () => {
    const { registry, calls } = recordingRegistry(true);
    const pusher = new BlobPusher(store, registry);
    const blob = { desc: layer(11, 1024), likelyAbsent: true };
    pusher.known('shop/one', blob.desc.digest);
    expect(await pusher.ensure('shop/one', blob)).toBe('present');
    expect(await pusher.ensure('shop/two', blob)).toBe('mounted');
    expect(calls).toEqual(['MOUNT shop/two from shop/one']);
  });
});

describe('a blob of a reference the target has no manifest of', () => {
  test.each([
    { name: 'a small one is pushed without a HEAD first', size: 1024, calls: ['PUSH shop/web'] },
    { name: 'one of the largest size sent in one request is pushed without a HEAD first', size: 8 * MiB, calls: ['PUSH shop/web'] },
    { name: 'a large one (streamed) is still asked for first: resending it would cost its size', size: 8 * MiB + 1, calls: ['HEAD shop/web', 'PUSH shop/web'] },
  ])('$name', async ({ size, calls }) => {
    const { registry, calls: seen } = recordingRegistry(true);
    const pusher = new BlobPusher(store, registry);
    expect(await pusher.ensure('shop/web', { desc: layer(9, size), likelyAbsent: true })).toBe('uploaded');
    expect(seen).toEqual(calls);
  });

  test('without the hint, a small blob is asked for first and not sent again when there', async () => {
    const { registry, calls } = recordingRegistry(true);
    const first = new BlobPusher(store, registry);
    await first.ensure('shop/web', { desc: layer(10, 1024) });
    const restarted = new BlobPusher(store, registry);
    expect(await restarted.ensure('shop/web', { desc: layer(10, 1024) })).toBe('present');
    expect(calls).toEqual(['HEAD shop/web', 'PUSH shop/web', 'HEAD shop/web']);
  });
});
