import { sha256Digest } from '../oci/digest.js';
import { DOCKER_FOREIGN_LAYER, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST } from '../oci/mediaTypes.js';
import { inMemoryBlobs } from './metadata.js';
import { pushOrder } from './tree.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const desc = (bytes: Buffer | string, mediaType: string) => ({ digest: sha256Digest(bytes), size: Buffer.from(bytes).length, mediaType });

const shared = desc('shared', OCI_LAYER);
const configA = json({ a: 1 });
const configB = json({ b: 1 });
const imageA = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(configA, OCI_CONFIG), layers: [shared, desc('a', OCI_LAYER), shared] });
const imageB = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(configB, OCI_CONFIG), layers: [shared, { ...desc('win', DOCKER_FOREIGN_LAYER), urls: ['https://x'] }] });
const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(imageA, OCI_MANIFEST), desc(imageB, OCI_MANIFEST)] });
const blobs = inMemoryBlobs(new Map([index, imageA, imageB, configA, configB].map((b) => [sha256Digest(b), b])));

describe('pushOrder', () => {
  test('pushes every child of an index, each after its blobs, and the index last', async () => {
    const steps = await pushOrder(blobs, sha256Digest(index), OCI_INDEX);
    expect(steps.map((s) => s.digest)).toEqual([sha256Digest(imageA), sha256Digest(imageB), sha256Digest(index)]);
    expect(steps.map((s) => s.mediaType)).toEqual([OCI_MANIFEST, OCI_MANIFEST, OCI_INDEX]);
    expect(steps[0]!.blobs.map((b) => [b.digest, b.inBundle])).toEqual([
      [sha256Digest(configA), true], [shared.digest, false], [sha256Digest('a'), false],
    ]);
    // Foreign layers live outside registries: not pushed.
    expect(steps[1]!.blobs.map((b) => b.digest)).toEqual([sha256Digest(configB), shared.digest]);
    expect(steps[2]!.blobs).toEqual([]);
  });

  test('an image alone is one step', async () => {
    expect((await pushOrder(blobs, sha256Digest(imageA), OCI_MANIFEST)).map((s) => s.digest)).toEqual([sha256Digest(imageA)]);
  });
});
