// The object store of each provider against its emulator in the stack (MinIO, Azurite,
// fake-gcs-server): the conditions a user sees when the location is wrong, every method with
// the same meaning, and a layer stored whole and under its true digest or not at all.
import { Readable, Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Registry } from '../pkg/contracts.js';
import { DigestMismatchError } from '../pkg/errors.js';
import { uploadOne } from '../pkg/backup/index.js';
import type { RegistryClient } from '../pkg/registry/index.js';
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import { fixtureRegistryFromEnv, pushImage } from './fixture/images.js';
import { PROVIDERS, foreignServiceAccountKey, providerFixture, type ProviderName, type RawBucket } from './fixture/providers.js';
import { stackRegistry } from './datapath-helpers.js';
import { loadProviderStackEnv, uniqueName } from './stackEnv.js';

const env = loadProviderStackEnv();
const MiB = 1024 * 1024;
let registry: RegistryClient;
beforeAll(() => {
  registry = stackRegistry(env);
});
afterAll(() => registry.close());

async function reasonOf(open: () => Promise<ObjectStore>): Promise<{ reason?: string; message?: string } | undefined> {
  try {
    const store = await open();
    try {
      await store.check();
    } finally {
      await store.close();
    }
    return undefined;
  } catch (err) {
    return err as { reason?: string; message?: string };
  }
}

describe.each(PROVIDERS)('provider %s', (name: ProviderName) => {
  const p = providerFixture(env, name);
  const prefix = uniqueName(`store-${name}`);
  let raw: RawBucket;
  let store: ObjectStore;
  beforeAll(async () => {
    raw = p.raw();
    store = await openStore({ location: p.location(prefix), credentials: p.credentials(), env: {} });
  });
  afterAll(async () => {
    await raw.deletePrefix(`${prefix}/`);
    await store.close();
    raw.close();
  });

  describe('a location that cannot work gives a clear condition', () => {
    test('the caCert of the BSL lets it trust the emulator', async () => {
      expect(await reasonOf(() => openStore({ location: p.location(prefix), credentials: p.credentials(), env: {} }))).toBeUndefined();
    });

    test('without caCert, or with another CA, the TLS failure is what the user sees', async () => {
      for (const caCert of [null, Buffer.from(rootCertificates[0]!).toString('base64')]) {
        const err = await reasonOf(() => openStore({ location: p.location(prefix, { caCert }), credentials: p.credentials(), env: {} }));
        expect(err).toMatchObject({ reason: 'TLSVerificationFailed', scope: 'location', message: expect.stringMatching(/objectStorage\.caCert/) });
      }
    });

    test('a missing bucket or container is reported as such', async () => {
      const err = await reasonOf(() => openStore({ location: p.location(prefix, { bucket: uniqueName('nobucket') }), credentials: p.credentials(), env: {} }));
      expect(err).toMatchObject({ reason: 'BucketNotFound', scope: 'location' });
    });

    test('a wrong key is reported as bad credentials, and never echoed', async () => {
      // fake-gcs-server checks no token: there, a key that is not one is what can be caught.
      const wrong = p.wrongCredentials() ?? JSON.stringify({ type: 'service_account', client_email: 'x@y.iam.gserviceaccount.com', private_key: 'not-the-secret-1234' });
      const err = await reasonOf(() => openStore({ location: p.location(prefix), credentials: wrong, env: {} }));
      expect(err).toMatchObject({ reason: 'InvalidCredentials', scope: 'location' });
      expect(err?.message).not.toContain('not-the-secret-1234');
      expect(err?.message).not.toContain(Buffer.from('not-the-secret-1234-not-the-secret').toString('base64'));
    });
  });

  describe('objects', () => {
    test('keys live under <prefix>/plugins/imagestreams/v1/', () => {
      expect(store.root).toBe(`${prefix}/plugins/imagestreams/v1/`);
      expect(store.bundleKey('b1')).toBe(`${store.root}backups/b1/bundle.tar`);
    });

    test('put, head, get, getRange, list and delete round-trip and are counted', async () => {
      const key = `${store.root}probe/one`;
      const big = Buffer.alloc(20 * MiB + 3, 7);
      const before = { ...store.stats };
      await store.put(key, Buffer.from('hello'));
      // A streamed body of unknown size: in parts (S3 multipart, Azure blocks, GCS resumable chunks).
      await store.put(`${store.root}probe/two`, Readable.from([big.subarray(0, 9 * MiB), big.subarray(9 * MiB)]));
      // A streamed body of known size that fits one request.
      await store.put(`${store.root}probe/three`, Readable.from([Buffer.from('abc')]), { size: 3 });
      expect(await store.head(key)).toMatchObject({ key, size: 5, etag: expect.any(String), lastModified: expect.any(Date) });
      expect(await store.head(`${store.root}probe/absent`)).toBeUndefined();
      const chunks: Buffer[] = [];
      for await (const c of await store.get(`${store.root}probe/two`)) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(big)).toBe(true);
      expect((await store.getRange(key, 1, 3)).toString()).toBe('ell');
      const listed = (await raw.list(`${store.root}probe/`)).map((o) => `${o.key.slice(store.root.length)}:${o.size}`).sort();
      expect(listed).toEqual(['probe/one:5', 'probe/three:3', `probe/two:${big.length}`]);
      const own: string[] = [];
      for await (const o of store.list(`${store.root}probe/`)) own.push(`${o.key.slice(store.root.length)}:${o.size}`);
      expect(own.sort()).toEqual(listed);
      expect(store.stats.bytesWritten - before.bytesWritten).toBe(5 + big.length + 3);
      expect(store.stats.objectsWritten - before.objectsWritten).toBe(3);
      expect(store.stats.bytesRead - before.bytesRead).toBe(big.length + 3);
      await store.delete(key);
      await store.delete(key); // gone already: fine
      expect(await store.has(key)).toBe(false);
      await expect(store.get(key)).rejects.toMatchObject({ reason: 'ObjectNotFound' });
    });

    test('a conditional write refuses to replace an object written meanwhile, for a Buffer and for a stream', async () => {
      const key = `${store.root}probe/cond`;
      await store.put(key, Buffer.from('first'), { ifNoneMatch: true });
      await expect(store.put(key, Buffer.from('second'), { ifNoneMatch: true })).rejects.toMatchObject({ reason: 'PreconditionFailed' });
      const version = (await store.head(key))!.etag!;
      await store.put(key, Readable.from([Buffer.from('third')]), { ifMatch: version, size: 5, singlePut: true });
      await expect(store.put(key, Readable.from([Buffer.from('forth')]), { ifMatch: version, size: 5, singlePut: true })).rejects.toMatchObject({ reason: 'PreconditionFailed' });
      await expect(store.put(key, Buffer.from('fifth'), { ifMatch: version })).rejects.toMatchObject({ reason: 'PreconditionFailed' });
      expect((await store.getRange(key, 0, 5)).toString()).toBe('third');
    });

    test('the bucket tells whether deleting frees space', async () => {
      expect(await store.retention()).toEqual({ versioning: 'Off', objectLock: false });
    });
  });

  describe('a layer is stored whole and under its true digest, or not at all', () => {
    const flipAt = (pos: number) => (data: Buffer, offset: number) => {
      if (pos < offset || pos >= offset + data.length) return data;
      const copy = Buffer.from(data);
      copy[pos - offset] = copy[pos - offset]! ^ 0xff;
      return copy;
    };
    const dropLast = (size: number) => (data: Buffer, offset: number) => (offset + data.length === size ? data.subarray(0, data.length - 1) : data);

    test.each([
      ['a flipped byte in a small layer (one request)', 1 * MiB, flipAt(MiB - 1)],
      ['a flipped byte in a large layer (in parts)', 20 * MiB, flipAt(19 * MiB)],
      ['a large layer cut short by one byte', 20 * MiB, dropLast(20 * MiB)],
    ] as const)('%s is refused and leaves no object', async (_case, size, alter) => {
      const repo = `${uniqueName('whole')}/img`;
      const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('l'), size }] });
      const layer = { ...img.layers[0]!, repos: [repo] };
      const err = await uploadOne({ store, registry: altered(registry, alter), layer }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(await raw.list(store.blobKey(layer.digest))).toEqual([]);
      const uploads: unknown[] = [];
      for await (const u of store.listUploads(store.blobKey(layer.digest))) uploads.push(u);
      expect(uploads).toEqual([]);
      // The same layer read correctly is stored, then skipped.
      expect(await uploadOne({ store, registry, layer })).toBe('uploaded');
      expect(await raw.list(store.blobKey(layer.digest))).toEqual([{ key: store.blobKey(layer.digest), size }]);
      expect(await uploadOne({ store, registry, layer })).toBe('skipped');
    });

    test('a cancelled upload stops and stores nothing', async () => {
      const size = 20 * MiB;
      const repo = `${uniqueName('cancel')}/img`;
      const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('c'), size }] });
      const layer = { ...img.layers[0]!, repos: [repo] };
      const controller = new AbortController();
      const cancelling = altered(registry, (data, offset) => {
        if (offset > size / 2) controller.abort();
        return data;
      });
      const err = await uploadOne({ store, registry: cancelling, layer, signal: controller.signal }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'AbortError' });
      expect(await raw.list(store.blobKey(layer.digest))).toEqual([]);
    });
  });
});

describe('credentials the stores refuse before any request', () => {
  const azure = providerFixture(env, 'azure');
  const gcp = providerFixture(env, 'gcp');
  test.each([
    ['an Azure file naming a client certificate file', () => openStore({ location: azure.location('x'), credentials: `${azure.credentials()}AZURE_CLIENT_CERTIFICATE_PATH=/etc/passwd\n` }), /AZURE_CLIENT_CERTIFICATE_PATH/],
    ['an Azure file naming a federated token file', () => openStore({ location: azure.location('x'), credentials: `${azure.credentials()}AZURE_FEDERATED_TOKEN_FILE=/var/run/secrets/token\n` }), /AZURE_FEDERATED_TOKEN_FILE/],
    ['Azure managed identity asked by an object that is not trusted', () => openStore({ location: azure.location('x', { config: { useAAD: 'true', storageAccountKeyEnvVar: '' } }), credentials: 'AZURE_CLIENT_ID=abc\n' }), /useAAD/],
    ['a GCS external_account credential from an object that is not trusted', () => openStore({
      location: gcp.location('x', { config: { serviceAccount: 'sa@p.iam.gserviceaccount.com' } }),
      credentials: JSON.stringify({ type: 'external_account', audience: 'a', subject_token_type: 't', token_url: 'https://example.invalid/token', credential_source: { file: '/etc/passwd' } }),
    }), /external_account/],
    ['a GCS external_account credential that runs an executable, even when trusted', () => openStore({
      location: gcp.location('x', { config: { serviceAccount: 'sa@p.iam.gserviceaccount.com' } }), trusted: true,
      credentials: JSON.stringify({ type: 'external_account', audience: 'a', subject_token_type: 't', token_url: 'https://example.invalid/token', credential_source: { executable: { command: '/bin/true' } } }),
    }), /executable/],
    ['a GCS authorized_user credential', () => openStore({ location: gcp.location('x'), credentials: JSON.stringify({ type: 'authorized_user', client_secret: 'not-the-secret-1234' }) }), /authorized_user/],
  ] as const)('%s is refused with InvalidCredentials naming the key', async (_case, open, named) => {
    const err = await open().then(() => undefined, (e: unknown) => e as { reason?: string; message?: string });
    expect(err).toMatchObject({ reason: 'InvalidCredentials', scope: 'location', message: expect.stringMatching(named) });
    expect(err?.message).not.toContain('not-the-secret-1234');
  });

  test.each([
    ['azure', () => openStore({ location: azure.location('x') })],
    ['gcp', () => openStore({ location: gcp.location('x') })],
  ] as const)('a %s location without a credential needs a trusted object', async (_name, open) => {
    await expect(open()).rejects.toMatchObject({ reason: 'CredentialRequired' });
  });

  test('a GCS key of another account is signed and sent (fake-gcs-server checks no token)', async () => {
    const store = await openStore({ location: gcp.location(uniqueName('foreign')), credentials: foreignServiceAccountKey(), env: {} });
    await expect(store.check().finally(() => store.close())).resolves.toBeUndefined();
  });
});

/** The real registry, with the bytes of blobs altered on the way, as a faulty network or disk would. */
function altered(inner: Registry, alter: (data: Buffer, offset: number) => Buffer): Registry {
  return Object.assign(Object.create(inner) as Registry, {
    async getBlob(repo: string, digest: string) {
      let offset = 0;
      const body = await inner.getBlob(repo, digest);
      return body.pipe(new Transform({
        transform(chunk: Buffer, _e, cb) {
          const out = alter(chunk, offset);
          offset += chunk.length;
          cb(null, out);
        },
      }));
    },
  });
}
