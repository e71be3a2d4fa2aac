import { Readable } from 'node:stream';
import type { Registry } from '../contracts.js';
import { StalledError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { CONFIG_BYTES_IN_FLIGHT, resolveImages } from './resolveImages.js';
import type { ImageStreamInput } from './types.js';
import { DEFAULT_CONCURRENCY, resolveConcurrency } from './uploadBlobs.js';

const host = 'registry.local:5000';
const tick = () => new Promise((r) => setImmediate(r));

/** `count` references of one stream, each its own digest. */
function streams(count: number): ImageStreamInput[] {
  const references = Array.from({ length: count }, (_, i) => ({ reference: `${host}/shop/web@sha256:${i.toString(16).padStart(64, '0')}`, tags: [] }));
  return [{ namespace: 'shop', name: 'web', references }];
}

describe('how many image trees a backup reads at once', () => {
  test.each([
    { name: 'the default: many more than the images copied at once', concurrency: undefined, expected: DEFAULT_CONCURRENCY.resolve },
    { name: 'never fewer than the images copied at once', concurrency: { images: 24 }, expected: 24 },
    { name: 'as set', concurrency: { resolve: 5, images: 2 }, expected: 5 },
  ])('$name', async ({ concurrency, expected }) => {
    expect(resolveConcurrency(concurrency)).toBe(expected);
    let inFlight = 0;
    let most = 0;
    const registry = {
      host,
      getManifest: async () => {
        most = Math.max(most, ++inFlight);
        await tick();
        inFlight--;
        throw new StalledError('ManifestUnknown', 'manifest unknown');
      },
    } as unknown as Registry;
    const r = await resolveImages({ registry, imageStreams: streams(40), concurrency: resolveConcurrency(concurrency), referrers: false });
    expect(r.failures).toHaveLength(40);
    expect(most).toBe(expected);
  });
});

describe('configs read at once', () => {
  test('hold at most CONFIG_BYTES_IN_FLIGHT together, however many trees are in flight', async () => {
    const size = 12 * 1024 * 1024; // two fit the budget, a third does not
    const configs = [1, 2, 3, 4].map((n) => Buffer.alloc(size, n));
    const manifests = configs.map((c) => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(c), size: c.length }, layers: [],
    })));
    let held = 0;
    let most = 0;
    const registry = {
      host,
      getManifest: async (_repo: string, digest: string) => {
        const bytes = manifests.find((m) => sha256Digest(m) === digest)!;
        return { bytes, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
      },
      getBlob: async (_repo: string, digest: string) => {
        const c = configs.find((x) => sha256Digest(x) === digest)!;
        held += c.length;
        most = Math.max(most, held);
        // Held until the reader has taken it all.
        const body = Readable.from([c]);
        body.once('end', () => { held -= c.length; });
        await tick();
        return body;
      },
    } as unknown as Registry;
    const imageStreams: ImageStreamInput[] = [{
      namespace: 'shop', name: 'web', references: manifests.map((m) => ({ reference: `${host}/shop/web@${sha256Digest(m)}`, tags: [] })),
    }];
    const r = await resolveImages({ registry, imageStreams, concurrency: 16, referrers: false });
    expect(r.failures).toEqual([]);
    expect(r.images).toHaveLength(4);
    expect(most).toBe(2 * size);
    expect(most).toBeLessThanOrEqual(CONFIG_BYTES_IN_FLIGHT);
  });
});
