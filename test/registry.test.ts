// The registry client against the stack's distribution registry (TLS with the stack's CA,
// htpasswd Basic auth). Independent checks go through the fixture's own client and crane.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRegistryClient, type RegistryClient } from '../pkg/registry/index.js';
import {
  DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
  parseReference, sha256Digest,
} from '../pkg/oci/index.js';
import type { Descriptor } from '../pkg/contracts.js';
import { DigestMismatchError, StalledError, type ReconcileError } from '../pkg/errors.js';
import { blobDigest, fixtureRegistryFromEnv, layerStream, pushImage, type LayerSpec } from './fixture/images.js';
import { Crane } from './datapath-helpers.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const MiB = 1024 * 1024;
const options = { host: env.REGISTRY, caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD };

let client: RegistryClient;
let crane: Crane;
beforeAll(async () => {
  // Small monolithic limit, so that a few MiB already take the streamed path.
  client = createRegistryClient({ ...options, monolithicMaxBytes: MiB, tagsPageSize: 2 });
  crane = await Crane.login(env);
});
afterAll(async () => {
  client.close();
  await crane.close();
});

async function digestOfStream(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(stream, new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); size += c.length; cb(); } }));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function descriptorOf(spec: LayerSpec, mediaType = OCI_LAYER): Promise<Descriptor> {
  return { ...(await digestOfStream(layerStream(spec))), mediaType };
}

/** The same bytes with one of them flipped, as a disk or network fault would. */
function corrupted(spec: LayerSpec): Readable {
  let first = true;
  return layerStream(spec).pipe(new Transform({
    transform(c: Buffer, _e, cb) {
      if (first && c.length > 0) { c = Buffer.from(c); c[0] = c[0]! ^ 0xff; first = false; }
      cb(null, c);
    },
  }));
}

async function caught(p: Promise<unknown>): Promise<ReconcileError> {
  return p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as ReconcileError);
}

describe('blobs', () => {
  it.each([
    ['an empty blob, monolithic', 0],
    ['a small blob, monolithic', 1000],
    ['a blob at the monolithic limit', MiB],
    ['a 20 MiB blob, streamed', 20 * MiB],
  ])('pushes %s and reads it back verified', async (name, size) => {
    const repo = uniqueName('regtest/blobs');
    const spec = { seed: `${name}-${repo}`, size };
    const desc = await descriptorOf(spec);
    expect(await client.hasBlob(repo, desc.digest)).toBe(false);

    await client.pushBlob(repo, desc, layerStream(spec));

    expect(await client.hasBlob(repo, desc.digest)).toBe(true);
    expect(await blobDigest(fixture, repo, desc.digest)).toBe(desc.digest); // independent client
    const back = await digestOfStream(await client.getBlob(repo, desc.digest, { verify: desc }));
    expect(back).toEqual({ digest: desc.digest, size });
  });

  it.each([
    ['monolithic', 1000],
    ['streamed', 3 * MiB],
  ])('refuses a corrupted %s upload with DigestMismatchError and stores nothing', async (name, size) => {
    const repo = uniqueName('regtest/corrupt');
    const spec = { seed: `corrupt-${name}-${repo}`, size };
    const desc = await descriptorOf(spec);

    const error = await caught(client.pushBlob(repo, desc, corrupted(spec)));

    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(error.message).toContain(desc.digest);
    expect(await client.hasBlob(repo, desc.digest)).toBe(false);
  });

  it('fails a corrupted download at its end through verification', async () => {
    const repo = uniqueName('regtest/verify');
    const spec = { seed: `verify-${repo}`, size: 2 * MiB };
    const desc = await descriptorOf(spec);
    await client.pushBlob(repo, desc, layerStream(spec));
    const wrong = { ...desc, digest: sha256Digest('something else') };

    const error = await caught(digestOfStream(await client.getBlob(repo, desc.digest, { verify: wrong })));

    expect(error).toBeInstanceOf(DigestMismatchError);
  });

  it('fails getBlob of a missing blob as BlobNotFound', async () => {
    const repo = uniqueName('regtest/missing');
    await client.pushBlob(repo, { digest: sha256Digest('x'), size: 1, mediaType: OCI_LAYER }, Readable.from([Buffer.from('x')]));
    const error = await caught(client.getBlob(repo, sha256Digest('not there')));
    expect(error).toBeInstanceOf(StalledError);
    expect(error.reason).toBe('BlobNotFound');
  });
});

describe('cross-repository mount', () => {
  it.each([
    ['a blob the source holds', true],
    ['a blob the source lacks', false],
  ])('mounting %s -> %s', async (_name, present) => {
    const from = uniqueName('regtest/mount-from');
    const to = uniqueName('regtest/mount-to');
    const spec = { seed: `mount-${from}`, size: 4096 };
    const desc = await descriptorOf(spec);
    if (present) await client.pushBlob(from, desc, layerStream(spec));
    else await client.pushBlob(from, { digest: sha256Digest('other'), size: 5, mediaType: OCI_LAYER }, Readable.from([Buffer.from('other')]));

    expect(await client.mountBlob(to, desc.digest, from)).toBe(present);
    expect(await client.hasBlob(to, desc.digest)).toBe(present);
  });
});

describe('manifests', () => {
  async function pushImageWithClient(repo: string, format: 'docker' | 'oci', seed: string) {
    const layerSpec = { seed, size: 2 * MiB };
    const layer = await descriptorOf(layerSpec, format === 'oci' ? OCI_LAYER : DOCKER_LAYER);
    await client.pushBlob(repo, layer, layerStream(layerSpec));
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
    const config = { digest: sha256Digest(configBytes), size: configBytes.length, mediaType: format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG };
    await client.pushBlob(repo, config, Readable.from([configBytes]));
    const mediaType = format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
    // Indented on purpose: the bytes, not a re-serialisation, carry the digest.
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config, layers: [layer] }, null, 3));
    return { bytes, mediaType, digest: sha256Digest(bytes) };
  }

  it.each([
    ['a Docker schema 2 image', 'docker', DOCKER_MANIFEST_LIST],
    ['an OCI image', 'oci', OCI_INDEX],
  ] as const)('puts %s and its index by digest then by tag, and gets them back byte-identical', async (name, format, indexType) => {
    const repo = uniqueName('regtest/manifests');
    const image = await pushImageWithClient(repo, format, `${name}-${repo}`);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: indexType,
      manifests: [{ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length, platform: { architecture: 'amd64', os: 'linux' } }],
    }));

    for (const [bytes, mediaType, tag] of [[image.bytes, image.mediaType, 'image'], [index, indexType, 'index']] as const) {
      const digest = sha256Digest(bytes);
      expect(await client.putManifest(repo, digest, bytes, mediaType)).toBe(digest);
      expect(await client.putManifest(repo, tag, bytes, mediaType)).toBe(digest);
      const raw = await client.getManifest(repo, digest);
      expect(raw.bytes.equals(bytes)).toBe(true);
      expect(raw.mediaType).toBe(mediaType);
      expect(await crane.digest(`${env.REGISTRY}/${repo}:${tag}`)).toBe(digest);
    }
    expect((await client.listTags(repo)).sort()).toEqual(['image', 'index']);
  });

  it('reads an image pushed by an independent client byte for byte', async () => {
    const repo = uniqueName('regtest/fixture');
    const pushed = await pushImage(fixture, repo, { format: 'docker', layers: [{ seed: `fx-${repo}`, size: 1000 }] });
    const raw = await client.getManifest(repo, pushed.digest);
    expect(raw).toEqual({ bytes: pushed.manifest, mediaType: DOCKER_MANIFEST, digest: pushed.digest });
  });

  it('refuses to put bytes under a digest they do not have', async () => {
    const repo = uniqueName('regtest/wrongdigest');
    const error = await caught(client.putManifest(repo, sha256Digest('other'), Buffer.from('{}'), OCI_MANIFEST));
    expect(error).toBeInstanceOf(DigestMismatchError);
  });

  it('fails getManifest of an unknown digest as ManifestNotFound', async () => {
    const repo = uniqueName('regtest/nomanifest');
    await pushImage(fixture, repo, { layers: [{ seed: `nm-${repo}`, size: 10 }] });
    const error = await caught(client.getManifest(repo, sha256Digest('nothing')));
    expect(error.reason).toBe('ManifestNotFound');
  });
});

describe('tags', () => {
  it('lists every tag across pages', async () => {
    const repo = uniqueName('regtest/tags');
    const tags = ['a', 'b', 'c', 'd', 'latest'];
    await pushImage(fixture, repo, { layers: [{ seed: `tags-${repo}`, size: 10 }], tags });
    expect((await client.listTags(repo)).sort()).toEqual(tags); // pages of 2
  });

  it('lists no tags for a repository that does not exist', async () => {
    expect(await client.listTags(uniqueName('regtest/nothing'))).toEqual([]);
  });
});

describe('refusals', () => {
  const anyDigest = sha256Digest('probe');
  // The options come last: a test title must never print the password.
  it.each([
    ['a wrong password', 'RegistryUnauthorized', /refused the credentials.*REGISTRY_PASSWORD/, { ...options, password: 'wrong-password-value' }],
    ['no credentials', 'RegistryUnauthorized', /none are configured/, { ...options, username: undefined, password: undefined }],
    ['no CA file', 'RegistryTLS', /set the registry CA file/, { ...options, caFile: undefined }],
  ])('%s -> %s', async (_name, reason, message, opts) => {
    const other = createRegistryClient(opts);
    try {
      const error = await caught(other.hasBlob('regtest/any', anyDigest));
      expect(error).toBeInstanceOf(StalledError);
      expect(error.reason).toBe(reason);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(env.REGISTRY_PASSWORD);
      expect(error.message).not.toContain('wrong-password-value');
    } finally {
      other.close();
    }
  });

  it('refuses a tag reference to the registry with a clear message', () => {
    expect(() => parseReference(`${env.REGISTRY}/regtest/app:latest`))
      .toThrow('must be a digest reference (...@sha256:<64 hex>), got a tag');
  });
});
