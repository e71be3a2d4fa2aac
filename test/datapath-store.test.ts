// The object store of a BSL against the stack's MinIO: what lets it trust the endpoint, the
// errors a user sees when something is wrong, and that a layer is stored whole or not at all.
import { readFileSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Registry } from '../pkg/contracts.js';
import { DigestMismatchError, TransientError } from '../pkg/errors.js';
import { uploadOne } from '../pkg/backup/index.js';
import type { RegistryClient } from '../pkg/registry/index.js';
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import { fixtureRegistryFromEnv, pushImage } from './fixture/images.js';
import { credentialsFile, openStackStore, rawS3, stackLocation, stackRegistry } from './datapath-helpers.js';
import { deletePrefix } from './fixture/bucket.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const MiB = 1024 * 1024;

let s3: S3Client;
let registry: RegistryClient;
beforeAll(() => {
  s3 = rawS3(env);
  registry = stackRegistry(env);
});
afterAll(() => {
  s3.destroy();
  registry.close();
});

describe('opening the store of a BSL', () => {
  const prefix = uniqueName('store');
  const cases: Array<[string, () => Parameters<typeof openStore>[0], string | undefined]> = [
    ['caCert from the BSL lets it trust MinIO', () => ({ location: stackLocation(env, prefix), credentials: credentialsFile(env), env: {} }), undefined],
    ['without caCert, the TLS error is the one the user sees', () => ({ location: stackLocation(env, prefix, { caCert: null }), credentials: credentialsFile(env), env: {} }), 'TLSVerificationFailed'],
    ['AWS_CA_BUNDLE works as well as caCert', () => ({ location: stackLocation(env, prefix, { caCert: null }), credentials: credentialsFile(env), env: { AWS_CA_BUNDLE: env.S3_CA_FILE } }), undefined],
    ['insecureSkipTLSVerify skips verification', () => ({ location: stackLocation(env, prefix, { caCert: null, config: { insecureSkipTLSVerify: 'true' } }), credentials: credentialsFile(env), env: {} }), undefined],
    ['a wrong secret key is reported as bad credentials', () => ({ location: stackLocation(env, prefix), credentials: credentialsFile(env, 'default', 'not-the-secret-1234'), env: {} }), 'InvalidCredentials'],
    ['an unknown access key is reported as bad credentials', () => ({ location: stackLocation(env, prefix), credentials: '[default]\naws_access_key_id = NOBODY\naws_secret_access_key = not-the-secret-1234\n', env: {} }), 'InvalidCredentials'],
    ['a missing bucket is reported as such', () => ({ location: stackLocation(env, prefix, { bucket: uniqueName('no-bucket') }), credentials: credentialsFile(env), env: {} }), 'BucketNotFound'],
    ['config.profile picks the profile of the credentials file', () => ({ location: stackLocation(env, prefix, { config: { profile: 'backup' } }), credentials: `[default]\naws_access_key_id = x\naws_secret_access_key = y\n${credentialsFile(env, 'backup')}`, env: {} }), undefined],
    ['a profile the file lacks is reported as bad credentials', () => ({ location: stackLocation(env, prefix, { config: { profile: 'absent' } }), credentials: credentialsFile(env), env: {} }), 'InvalidCredentials'],
  ];

  test.each(cases)('%s', async (_name, options, reason) => {
    const attempt = async () => {
      const store = await openStore(options());
      try {
        await store.check();
      } finally {
        await store.close();
      }
    };
    if (reason === undefined) {
      await expect(attempt()).resolves.toBeUndefined();
      return;
    }
    const err = await attempt().then(() => undefined, (e: unknown) => e as Error & { reason?: string });
    expect(err?.reason).toBe(reason);
    // Never a secret in what the user sees.
    expect(err?.message).not.toContain('not-the-secret-1234');
    expect(err?.message).not.toContain(env.S3_SECRET_KEY);
    if (reason === 'TLSVerificationFailed') expect(err?.message).toMatch(/objectStorage\.caCert/);
  });

  test('each store trusts the caCert of its BSL as it is now (a CA change needs no restart)', async () => {
    const check = async (caCert: string) => {
      const store = await openStore({ location: stackLocation(env, prefix, { caCert }), credentials: credentialsFile(env), env: {} });
      return store.check().finally(() => store.close());
    };
    // A real CA, but not the one that signed MinIO's certificate.
    const otherCa = Buffer.from(rootCertificates[0]!).toString('base64');
    await expect(check(otherCa)).rejects.toMatchObject({ reason: 'TLSVerificationFailed' });
    await expect(check(readFileSync(env.S3_CA_FILE).toString('base64'))).resolves.toBeUndefined();
  });
});

describe('objects', () => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await openStackStore(env, `${uniqueName('objects')}//velero/`);
  });
  afterAll(async () => {
    await deletePrefix(s3, env.S3_BUCKET, store.root);
    await store.close();
  });

  test('keys live under <prefix>/plugins/imagestreams/v1/ with no empty segment', () => {
    expect(store.root).toMatch(/^objects-[a-z0-9]+\/velero\/plugins\/imagestreams\/v1\/$/);
    expect(store.bundleKey('b1')).toBe(`${store.root}backups/b1/bundle.tar`);
    expect(store.blobKey(`sha256:${'a'.repeat(64)}`)).toBe(`${store.root}blobs/sha256/${'a'.repeat(64)}`);
  });

  test('put, head, get, list and delete round-trip and are counted', async () => {
    const key = `${store.root}probe/one`;
    const before = { ...store.stats };
    await store.put(key, Buffer.from('hello'));
    await store.put(`${store.root}probe/two`, Readable.from([Buffer.alloc(MiB, 1)]));
    expect(await store.head(key)).toMatchObject({ size: 5 });
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    const listed: string[] = [];
    for await (const o of store.list(`${store.root}probe/`)) listed.push(`${o.key.slice(store.root.length)}:${o.size}`);
    expect(listed).toEqual(['probe/one:5', `probe/two:${MiB}`]);
    expect(store.stats.bytesWritten - before.bytesWritten).toBe(5 + MiB);
    expect(store.stats.bytesRead - before.bytesRead).toBe(5);
    await store.delete(key);
    expect(await store.has(key)).toBe(false);
    await expect(store.get(key)).rejects.toMatchObject({ reason: 'ObjectNotFound' });
  });

  test('a conditional write refuses to replace an object written meanwhile', async () => {
    const key = `${store.root}probe/cond`;
    await store.put(key, Buffer.from('first'), { ifNoneMatch: true });
    await expect(store.put(key, Buffer.from('second'), { ifNoneMatch: true })).rejects.toMatchObject({ reason: 'PreconditionFailed' });
    const etag = (await store.head(key))!.etag!;
    await store.put(key, Buffer.from('third'), { ifMatch: etag });
    await expect(store.put(key, Buffer.from('fourth'), { ifMatch: etag })).rejects.toMatchObject({ reason: 'PreconditionFailed' });
  });
});

/** The real registry, with the bytes of blobs altered on the way, as a faulty network or disk would. */
function faulty(inner: Registry, alter: (data: Buffer, offset: number) => Buffer, tail?: Buffer): Registry {
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
        flush(cb) {
          cb(null, tail);
        },
      }));
    },
  });
}

describe('a layer is stored whole and under its true digest, or not at all', () => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await openStackStore(env, uniqueName('whole'));
  });
  afterAll(async () => {
    await deletePrefix(s3, env.S3_BUCKET, store.root);
    await store.close();
  });

  const flipAt = (pos: number) => (data: Buffer, offset: number) => {
    if (pos < offset || pos >= offset + data.length) return data;
    const copy = Buffer.from(data);
    copy[pos - offset] = copy[pos - offset]! ^ 0xff;
    return copy;
  };
  const dropLast = (size: number) => (data: Buffer, offset: number) => (offset + data.length === size ? data.subarray(0, data.length - 1) : data);

  test.each([
    ['a flipped byte in a small layer (streamed single put)', 1 * MiB, flipAt(MiB - 1), undefined],
    ['a small layer cut short by one byte (streamed single put)', 1 * MiB, dropLast(1 * MiB), undefined],
    ['a small layer with one byte too many (streamed single put)', 1 * MiB, (d: Buffer) => d, Buffer.from([1])],
    ['a flipped byte in a large layer (multipart)', 40 * MiB, flipAt(39 * MiB), undefined],
    ['a large layer cut short by one byte', 40 * MiB, dropLast(40 * MiB), undefined],
    ['a large layer with one byte too many', 40 * MiB, (d: Buffer) => d, Buffer.from([1])],
  ] as const)('%s is refused and leaves no object and no multipart upload', async (_name, size, alter, tail) => {
    const repo = `${uniqueName('whole')}/img`;
    const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('l'), size }] });
    const layer = { ...img.layers[0]!, repos: [repo] };
    const seen: number[] = [];
    const err = await uploadOne({ store, registry: faulty(registry, alter, tail), layer, onBytes: (n) => seen.push(n) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(await store.has(store.blobKey(layer.digest))).toBe(false);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: env.S3_BUCKET, Prefix: store.blobKey(layer.digest) }));
    expect(uploads.Uploads ?? []).toEqual([]);
    // Progress takes back what it counted for a failed upload.
    expect(seen.reduce((a, b) => a + b, 0)).toBe(0);

    // The same layer read correctly is stored, then skipped.
    expect(await uploadOne({ store, registry, layer })).toBe('uploaded');
    expect(await store.head(store.blobKey(layer.digest))).toMatchObject({ size });
    expect(await uploadOne({ store, registry, layer })).toBe('skipped');
  });

  test.each([
    ['a large layer (multipart)', 40 * MiB],
    ['a small layer (streamed single put)', 6 * MiB],
  ])('a cancelled upload of %s stops, stores nothing and leaves no multipart upload', async (_name, size) => {
    const repo = `${uniqueName('cancel')}/img`;
    const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('c'), size }] });
    const layer = { ...img.layers[0]!, repos: [repo] };
    const controller = new AbortController();
    // Cancel halfway: part of the body is out, the rest is not.
    const cancelling = faulty(registry, (data, offset) => {
      if (offset > size / 2) controller.abort();
      return data;
    });
    const err = await uploadOne({ store, registry: cancelling, layer, signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(await store.has(store.blobKey(layer.digest))).toBe(false);
    // Cleaned up before the call returned, not in the background.
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: env.S3_BUCKET, Prefix: store.blobKey(layer.digest) }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  test('a read that breaks off once is read again, and the layer is stored whole', async () => {
    const size = 3 * MiB;
    const repo = `${uniqueName('blip')}/img`;
    const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('b'), size }] });
    const layer = { ...img.layers[0]!, repos: [repo] };
    let reads = 0;
    const flaky = Object.assign(Object.create(registry) as Registry, {
      async getBlob(r: string, digest: string) {
        const body = await registry.getBlob(r, digest);
        if (++reads > 1) return body;
        // The first read dies after 1 MiB, as a reset connection would.
        let passed = 0;
        return body.pipe(new Transform({
          transform(chunk: Buffer, _e, cb) {
            passed += chunk.length;
            if (passed > MiB) cb(new TransientError('RegistryUnavailable', 'read ECONNRESET'));
            else cb(null, chunk);
          },
        }));
      },
    });
    const seen: number[] = [];
    expect(await uploadOne({ store, registry: flaky, layer, onBytes: (n) => seen.push(n) })).toBe('uploaded');
    expect(reads).toBe(2);
    expect(await store.head(store.blobKey(layer.digest))).toMatchObject({ size });
    // What the broken read counted was taken back: progress counts the layer once.
    expect(seen.reduce((a, b) => a + b, 0)).toBe(size);
  });
});
